"""Save and compare full dedupe outputs, to prove that an optimisation changes nothing.

Usage::

    # once: the demo catalogue's normalised offers (after `mintsuche --var-dir V demo --no-serve`)
    .venv/bin/python bench/dedupe_snapshot.py offers --var-dir V -o /tmp/demo_offers.pkl
    # before and after a change: every cluster (id, members, merged fields with provenance)
    .venv/bin/python bench/dedupe_snapshot.py dump --demo /tmp/demo_offers.pkl \\
        --synthetic 10000 --seed 1 -o /tmp/before.json
    .venv/bin/python bench/dedupe_snapshot.py diff /tmp/before.json /tmp/after.json

``dump`` clusters each data set three ways: plain, with the repository's
``dedupe_overrides.yaml`` and the plain run's ids as *previous* (ids must stay stable),
and incrementally (``previous_clusters`` / ``changed_keys`` with every 50th offer marked
changed); ``--light`` sizes only plain, with the merged fields as a digest.
``diff`` prints the first differences and exits 1 if there are any.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))


def _plain(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return repr(value)


def _clusters_json(clusters: list[Any]) -> list[Any]:
    return [
        {
            "id": c.id,
            "members": [list(m) for m in c.members],
            "fields": {
                name: [_plain(f.value), _plain(f.sources), f.conflict]
                for name, f in sorted(c.fields.items())
            },
        }
        for c in clusters
    ]


def _hashed(clusters: list[Any]) -> list[Any]:
    """Ids and members in full, merged fields as a digest (for large runs)."""
    return [
        [c["id"], c["members"], hashlib.sha1(json.dumps(c["fields"]).encode()).hexdigest()]
        for c in _clusters_json(clusters)
    ]


def _runs(offers: list[Any], *, light: bool = False) -> dict[str, Any]:
    from dedupe import cluster_offers, load_overrides

    started = time.perf_counter()
    plain = cluster_offers(offers)
    seconds = time.perf_counter() - started
    if light:
        print(f"  {len(offers)} offers: {seconds:.2f} s", file=sys.stderr)
        return {"plain": _hashed(plain)}
    previous = {m: c.id for c in plain for m in c.members}
    overrides = load_overrides(REPO / "dedupe_overrides.yaml")
    with_overrides = cluster_offers(offers, previous=previous, overrides=overrides)
    changed = {(o.source_id, o.source_key) for o in offers[::50]}
    report: dict[str, int] = {}
    incremental = cluster_offers(
        offers, previous_clusters=plain, changed_keys=changed, report=report
    )
    print(f"  {len(offers)} offers: {seconds:.2f} s, report {report}", file=sys.stderr)
    return {
        "plain": _clusters_json(plain),
        "overrides": _clusters_json(with_overrides),
        "incremental": _clusters_json(incremental),
        "report": report,
    }


def _demo_offers(var_dir: Path) -> list[Any]:
    from catalog import store
    from catalog.db import get_engine, session_scope
    from normalize import normalize_record
    from normalize.places import load_gazetteer

    now = datetime(2026, 11, 1, tzinfo=UTC)
    gazetteer = load_gazetteer()
    engine = get_engine(f"sqlite:///{var_dir / 'mintsuche.db'}")
    offers = []
    dropped = 0
    with session_scope(engine) as session:
        for record in store.iter_raw(session):
            try:
                offers.append(normalize_record(record, gazetteer=gazetteer, now=now))
            except Exception:  # noqa: BLE001 - dropped and counted, as the rebuild does
                dropped += 1
    if dropped:
        print(f"demo: {dropped} raw records could not be normalized (left out)", file=sys.stderr)
    return offers


def _diff(a: Any, b: Any, path: str, out: list[str], limit: int = 20) -> None:
    if len(out) >= limit:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                out.append(f"{path}/{key}: only in {'after' if key in b else 'before'}")
            else:
                _diff(a[key], b[key], f"{path}/{key}", out, limit)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for n, (x, y) in enumerate(zip(a, b, strict=True)):
            _diff(x, y, f"{path}[{n}]", out, limit)
    elif a != b:
        out.append(f"{path}: {str(a)[:200]} != {str(b)[:200]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_offers = sub.add_parser("offers")
    p_offers.add_argument("--var-dir", type=Path, required=True)
    p_offers.add_argument("-o", "--output", type=Path, required=True)
    p_dump = sub.add_parser("dump")
    p_dump.add_argument("--demo", type=Path)
    p_dump.add_argument("--synthetic", type=int, nargs="*", default=[])
    p_dump.add_argument("--seed", type=int, default=1)
    p_dump.add_argument("--light", type=int, nargs="*", default=[], help="sizes: plain run only")
    p_dump.add_argument("-o", "--output", type=Path, required=True)
    p_dump.add_argument("--code", type=Path, help="import dedupe from this folder instead")
    p_diff = sub.add_parser("diff")
    p_diff.add_argument("before", type=Path)
    p_diff.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    if args.command == "offers":
        offers = _demo_offers(args.var_dir)
        args.output.write_bytes(pickle.dumps(offers))
        print(f"{len(offers)} offers -> {args.output}", file=sys.stderr)
        return 0
    if args.command == "dump":
        if args.code:
            sys.path.insert(0, str(args.code.resolve()))
        import dedupe  # before synth_offers puts the repository first on the path

        print(f"dedupe from {Path(dedupe.__file__).parent}", file=sys.stderr)
        from synth_offers import generate

        result: dict[str, Any] = {}
        if args.demo:
            result["demo"] = _runs(pickle.loads(args.demo.read_bytes()))  # noqa: S301 - own file
        for n in args.synthetic:
            result[f"synthetic-{n}-{args.seed}"] = _runs(generate(n, args.seed)[0])
        for n in args.light:
            result[f"light-{n}-{args.seed}"] = _runs(generate(n, args.seed)[0], light=True)
        args.output.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
        return 0
    before = json.loads(args.before.read_text(encoding="utf-8"))
    after = json.loads(args.after.read_text(encoding="utf-8"))
    out: list[str] = []
    _diff(before, after, "", out)
    print("\n".join(out) or "identical")
    return 1 if out else 0


if __name__ == "__main__":
    raise SystemExit(main())
