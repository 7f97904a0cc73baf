"""Benchmark normalization: raw records -> ``NormalizedOffer`` throughput on the demo corpus.

Usage::

    python bench/bench_normalize.py                  # crawl the snapshots into a temp DB
    python bench/bench_normalize.py --db var/mintsuche.db --repeat 7

Without ``--db`` every enabled source is crawled from its snapshot through the loopback
replay server into a temporary SQLite file (as ``mintsuche crawl --replay`` does); with
``--db`` (a path or a database URL) the raw records already stored there are used.

Timed, each over every record, best of ``--repeat`` runs:

- ``normalize_record`` (gazetteer loaded once, outside the timing);
- baseline ``json``: a JSON round trip of each record's fields (``json.loads(json.dumps())``);
- baseline ``clean_text``: ``normalize.text.clean_text`` on every string value of the record,
  i.e. only the HTML/encoding/whitespace cleaning that normalization starts with.

Prints records/s for each and the ratios normalize : baseline (how many times slower than
the baseline normalization is), measured in the same run on the same records.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from catalog.db import get_engine, session_scope  # noqa: E402
from catalog.report import iter_raw_records  # noqa: E402
from crawlers.records import RawRecord  # noqa: E402
from normalize import load_gazetteer, normalize_record  # noqa: E402
from normalize.text import clean_text  # noqa: E402

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def crawl_demo(tmp: Path) -> str:
    """Crawl every enabled source from its snapshot into a SQLite file in ``tmp``."""
    from catalog import store
    from catalog.db import init_db
    from crawlers.replay import ReplayServer
    from crawlers.run import crawl_in_subprocess
    from crawlers.sources import load_sources

    url = f"sqlite:///{tmp / 'bench.db'}"
    sources_file = REPO / "sources.yaml"
    config = load_sources(sources_file)
    ids = [s.id for s in config.sources if s.enabled]
    engine = get_engine(url)
    init_db(engine)
    with session_scope(engine) as session:
        store.sync_sources(session, config.sources)
    with ReplayServer(REPO / "snapshots", ids) as server:
        runs = crawl_in_subprocess(
            ids,
            sources_file=sources_file,
            database_url=url,
            replay_hosts=server.host_map,
            now=NOW,
            log_path=tmp / "crawl.log",
        )
    failed = [r for r in runs if r.get("status") != "success"]
    if failed:
        sys.exit(f"crawl failed: {failed} (log: {tmp / 'crawl.log'})")
    return url


def load_records(url: str) -> list[RawRecord]:
    with session_scope(get_engine(url)) as session:
        return list(iter_raw_records(session))


def best_of(repeat: int, func: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return min(times)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="SQLite path or database URL with raw records")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (best)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        if args.db:
            if "://" not in args.db and not Path(args.db).is_file():
                sys.exit(f"no database file {args.db}: crawl first (mintsuche crawl --replay)")
            url = args.db if "://" in args.db else f"sqlite:///{Path(args.db).resolve()}"
            source = args.db
        else:
            started = time.perf_counter()
            url = crawl_demo(Path(tmp))
            source = f"demo corpus, crawled over loopback in {time.perf_counter() - started:.1f} s"
        records = load_records(url)
    if not records:
        sys.exit(f"no raw records in {url}")
    per_source: dict[str, int] = {}
    for record in records:
        per_source[record.source_id] = per_source.get(record.source_id, 0) + 1

    started = time.perf_counter()
    gazetteer = load_gazetteer()
    gazetteer_s = time.perf_counter() - started
    # warm-up (caches, lazy regex compilation), and the drop count
    dropped = 0
    for record in records:
        try:
            normalize_record(record, gazetteer=gazetteer, now=NOW)
        except ValueError:
            dropped += 1

    def run_normalize() -> None:
        for record in records:
            try:
                normalize_record(record, gazetteer=gazetteer, now=NOW)
            except ValueError:
                pass

    def run_json() -> None:
        for record in records:
            json.loads(json.dumps(record.fields, ensure_ascii=False))

    def run_clean() -> None:
        for record in records:
            for value in record.fields.values():
                for text in _strings(value):
                    clean_text(text)

    n = len(records)
    t_norm = best_of(args.repeat, run_normalize)
    t_json = best_of(args.repeat, run_json)
    t_clean = best_of(args.repeat, run_clean)
    print(f"records: {n} ({source}); per source: {per_source}; dropped: {dropped}")
    print(f"gazetteer load (once): {gazetteer_s * 1000:.0f} ms; best of {args.repeat} runs")
    print(f"normalize_record      {n / t_norm:10.0f} records/s  ({t_norm * 1000:8.1f} ms)")
    print(f"baseline json trip    {n / t_json:10.0f} records/s  ({t_json * 1000:8.1f} ms)")
    print(f"baseline clean_text   {n / t_clean:10.0f} records/s  ({t_clean * 1000:8.1f} ms)")
    print(f"ratio normalize : json       = {t_norm / t_json:6.1f} x slower")
    print(f"ratio normalize : clean_text = {t_norm / t_clean:6.1f} x slower")


if __name__ == "__main__":
    main()
