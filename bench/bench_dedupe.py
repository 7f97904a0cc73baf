"""Benchmark deduplication on synthetic offers: time, peak memory, blocking and quality.

Usage::

    .venv/bin/python bench/bench_dedupe.py --sizes 10000 100000 [--seed 1]
        [--methods mintsuche baseline splink] [--splink-python /path/to/python]

Every (method, size) runs in its own subprocess, so the peak resident memory
(``resource.getrusage(...).ru_maxrss``) belongs to that run alone; the data are generated
in the subprocess before the clock starts (``bench/synth_offers.py``, seeded, truth kept).
Reported per run: seconds (clustering only; wall clock and CPU time of all threads, with
the load average at the start and end of the run), peak RSS in MB and the part of it added by
clustering, candidate pairs compared, reduction ratio and pair completeness of the
blocking, and pairwise precision / recall / F1 of the clusters against the truth.

Methods, all on the same data in the same run:

* ``mintsuche``: ``dedupe.cluster_offers`` (blocking, scoring with gates, clustering
  without chaining, merge);
* ``baseline``: block by town (case-folded), ``rapidfuzz.process.cdist`` of the titles
  (token_set_ratio ≥ 85) within each block, connected components. Needs numpy;
* ``splink``: Splink with DuckDB (blocking on town and on PLZ, Jaro-Winkler on title and
  provider, exact town and PLZ, u by random sampling, m by EM, match probability ≥ 0.9,
  connected components). Splink's dependencies clash with nothing here but are not the
  project's, so it runs under ``--splink-python`` (a separate virtualenv with
  ``pip install splink``); it is skipped with a note when that interpreter is missing.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def _cpu_seconds() -> float:
    """User + system CPU time of this process, all threads (less sensitive than the
    wall clock to other work on a shared machine; above it when rapidfuzz uses both
    cores)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def pair_scores(labels: Sequence[object], truth: Sequence[int]) -> dict[str, float]:
    """Pairwise precision, recall and F1 of a clustering (*labels*) against *truth*."""

    def pairs(counts: Iterable[int]) -> int:
        return sum(c * (c - 1) // 2 for c in counts)

    both = pairs(Counter(zip(labels, truth, strict=True)).values())
    predicted = pairs(Counter(labels).values())
    actual = pairs(Counter(truth).values())
    precision = both / predicted if predicted else 1.0
    recall = both / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def true_pairs(truth: Sequence[int]) -> set[tuple[int, int]]:
    members: dict[int, list[int]] = defaultdict(list)
    for index, entity in enumerate(truth):
        members[entity].append(index)
    found: set[tuple[int, int]] = set()
    for group in members.values():
        for x, i in enumerate(group):
            for j in group[x + 1 :]:
                found.add((i, j))
    return found


def blocking_figures(
    n: int, compared: int, kept_true: int, all_true: int
) -> dict[str, float | int]:
    total = n * (n - 1) // 2
    return {
        "pairs": compared,
        "reduction_ratio": 1.0 - compared / total if total else 0.0,
        "pair_completeness": kept_true / all_true if all_true else 1.0,
    }


def _offers(n: int, seed: int):  # noqa: ANN202 - SynthOffer list and truth
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(REPO))
    from synth_offers import generate

    return generate(n, seed)


def run_mintsuche(n: int, seed: int) -> dict[str, object]:
    from dedupe import cluster_offers
    from dedupe.blocking import candidate_pairs
    from dedupe.model import prepare_all

    offers, truth = _offers(n, seed)
    before = _rss_mb()
    started, cpu = time.perf_counter(), _cpu_seconds()
    clusters = cluster_offers(offers)
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    peak = _rss_mb()
    cluster_of = {m: c.id for c in clusters for m in c.members}
    labels = [cluster_of[(o.source_id, o.source_key)] for o in offers]
    # Blocking figures from a second, untimed blocking pass.
    pairs = candidate_pairs(prepare_all(offers))
    truth_pairs = true_pairs(truth)
    kept = sum(1 for p in pairs if p in truth_pairs)
    return {
        "seconds": seconds,
        "cpu": cpu,
        "peak_mb": peak,
        "added_mb": peak - before,
        **blocking_figures(len(offers), len(pairs), kept, len(truth_pairs)),
        **pair_scores(labels, truth),
    }


def _city_key(city: str | None) -> str:
    if not city:
        return ""
    return city.split("(")[0].split("/")[0].strip().casefold()


def run_baseline(n: int, seed: int, cutoff: float = 85.0) -> dict[str, object]:
    from rapidfuzz import fuzz, process, utils

    offers, truth = _offers(n, seed)
    before = _rss_mb()
    started, cpu = time.perf_counter(), _cpu_seconds()
    blocks: dict[str, list[int]] = defaultdict(list)
    for index, offer in enumerate(offers):
        key = _city_key(offer.city)
        if key:
            blocks[key].append(index)
    parent = list(range(len(offers)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    compared = 0
    found: list[tuple[int, int]] = []
    for members in blocks.values():
        if len(members) < 2:
            continue
        compared += len(members) * (len(members) - 1) // 2
        titles = [offers[i].title for i in members]
        matrix = process.cdist(
            titles,
            titles,
            scorer=fuzz.token_set_ratio,
            processor=utils.default_process,
            score_cutoff=cutoff,
            workers=-1,
            dtype="uint8",
        )
        rows, cols = (matrix >= cutoff).nonzero()
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            if r < c:
                i, j = members[r], members[c]
                found.append((i, j))
                parent[find(i)] = find(j)
    labels = [find(i) for i in range(len(offers))]
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    peak = _rss_mb()
    truth_pairs = true_pairs(truth)
    kept = sum(
        1
        for i, j in truth_pairs
        if _city_key(offers[i].city) and _city_key(offers[i].city) == _city_key(offers[j].city)
    )
    return {
        "seconds": seconds,
        "cpu": cpu,
        "peak_mb": peak,
        "added_mb": peak - before,
        **blocking_figures(len(offers), compared, kept, len(truth_pairs)),
        **pair_scores(labels, truth),
    }


SPLINK_COLUMNS = ("unique_id", "title", "provider", "city", "plz", "truth")


def write_splink_csv(n: int, seed: int, path: Path) -> None:
    offers, truth = _offers(n, seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(SPLINK_COLUMNS)
        for index, (offer, entity) in enumerate(zip(offers, truth, strict=True)):
            writer.writerow(
                [
                    index,
                    (offer.title or "").casefold(),
                    (offer.provider or "").casefold(),
                    _city_key(offer.city),
                    offer.plz or "",
                    entity,
                ]
            )


def run_splink(csv_path: str) -> dict[str, object]:
    """Runs under the Splink interpreter: stdlib, duckdb and splink only."""
    import duckdb
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on
    from splink.backends.duckdb import DuckDBAPI

    con = duckdb.connect()
    con.execute(
        "CREATE TABLE offers AS SELECT * FROM read_csv(?, header=true, all_varchar=true)",
        [csv_path],
    )
    con.execute(
        "UPDATE offers SET provider = NULLIF(provider, ''), city = NULLIF(city, ''), "
        "plz = NULLIF(plz, '')"
    )
    n = con.execute("SELECT count(*) FROM offers").fetchone()[0]
    truth = dict(con.execute("SELECT unique_id, truth FROM offers").fetchall())
    before = _rss_mb()
    started, cpu = time.perf_counter(), _cpu_seconds()
    db_api = DuckDBAPI(connection=con)
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[block_on("city"), block_on("plz")],
        comparisons=[
            cl.JaroWinklerAtThresholds("title", [0.95, 0.88, 0.8]),
            cl.JaroWinklerAtThresholds("provider", [0.95, 0.88]),
            cl.ExactMatch("city"),
            cl.ExactMatch("plz"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(db_api.register("offers"), settings, log_level="WARNING")
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("city"))
    predictions = linker.inference.predict(threshold_match_probability=0.9)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=0.9
    )
    rows = con.execute(f"SELECT unique_id, cluster_id FROM {clusters.physical_name}").fetchall()
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    peak = _rss_mb()
    cluster_of = dict(rows)
    ids = sorted(truth, key=int)
    labels = [cluster_of.get(i, i) for i in ids]
    entities = [int(truth[i]) for i in ids]
    compared = con.execute(
        "SELECT count(*) FROM (SELECT DISTINCT l.unique_id a, r.unique_id b FROM offers l "
        "JOIN offers r ON l.unique_id < r.unique_id AND (l.city = r.city OR l.plz = r.plz))"
    ).fetchone()[0]
    kept = con.execute(
        "SELECT count(*) FROM offers l JOIN offers r ON l.unique_id < r.unique_id "
        "AND l.truth = r.truth AND (l.city = r.city OR l.plz = r.plz)"
    ).fetchone()[0]
    all_true = con.execute(
        "SELECT count(*) FROM offers l JOIN offers r ON l.unique_id < r.unique_id "
        "AND l.truth = r.truth"
    ).fetchone()[0]
    return {
        "seconds": seconds,
        "cpu": cpu,
        "peak_mb": peak,
        "added_mb": peak - before,
        **blocking_figures(n, compared, kept, all_true),
        **pair_scores(labels, entities),
    }


def _worker(argv: Sequence[str]) -> int:
    method = argv[0]
    if method == "splink":
        result = run_splink(argv[1])
    else:
        n, seed = int(argv[1]), int(argv[2])
        result = run_mintsuche(n, seed) if method == "mintsuche" else run_baseline(n, seed)
    print(json.dumps(result))
    return 0


def _run(cmd: list[str], timeout: float) -> dict[str, object]:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--methods", nargs="+", default=["mintsuche", "baseline", "splink"],
        choices=["mintsuche", "baseline", "splink"],
    )  # fmt: skip
    parser.add_argument("--splink-python", default=os.environ.get("SPLINK_PYTHON", ""))
    parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args(argv)
    header = (
        f"{'method':<10} {'offers':>8} {'seconds':>8} {'cpu s':>7} {'peak MB':>8} {'+MB':>7} "
        f"{'pairs':>11} {'RR':>8} {'PC':>6} {'P':>6} {'R':>6} {'F1':>6}"
    )
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(header)
    results = []
    for n in args.sizes:
        for method in args.methods:
            if method == "splink":
                python = args.splink_python
                if not python or not Path(python).exists():
                    print(f"{method:<10} {n:>8}  skipped: no --splink-python interpreter")
                    continue
                with tempfile.TemporaryDirectory() as tmp:
                    path = Path(tmp) / "offers.csv"
                    write_splink_csv(n, args.seed, path)
                    cmd = [python, str(Path(__file__).resolve()), "--worker", "splink", str(path)]
                    result = _run(cmd, args.timeout)
            else:
                cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", method,
                       str(n), str(args.seed)]  # fmt: skip
                result = _run(cmd, args.timeout)
            results.append({"method": method, "offers": n, **result})
            if "error" in result:
                print(f"{method:<10} {n:>8}  error: {result['error']}")
                continue
            r = result
            print(
                f"{method:<10} {n:>8} {r['seconds']:>8.2f} {r.get('cpu', 0.0):>7.2f} "
                f"{r['peak_mb']:>8.0f} "
                f"{r['added_mb']:>7.0f} {r['pairs']:>11} {r['reduction_ratio']:>8.5f} "
                f"{r['pair_completeness']:>6.3f} {r['precision']:>6.3f} {r['recall']:>6.3f} "
                f"{r['f1']:>6.3f}",
                flush=True,
            )
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        raise SystemExit(_worker(sys.argv[2:]))
    raise SystemExit(main())
