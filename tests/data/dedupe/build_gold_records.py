"""Rebuild ``gold_records.json`` from the crawled and normalized real samples.

The gold records are not typed by hand: they are the normalized offers of a demo
catalogue built from the snapshots, cut down to the fields dedupe reads. Run::

    .venv/bin/mintsuche --var-dir /tmp/gold crawl --replay --now 2026-11-26T12:00:00+00:00
    .venv/bin/python tests/data/dedupe/build_gold_records.py sqlite:////tmp/gold/mintsuche.db

Every key named in ``gold_pairs.csv`` must be in the catalogue (else it stops with the
missing keys). ``--all FILE`` writes every normalized offer instead, for labelling.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
FIELDS = (
    "source_id", "source_key", "url", "title", "provider", "provider_ref", "website", "street",
    "plz", "city", "lat", "lon", "subjects", "formats", "start", "end", "cost_kind", "girls",
    "audience_text", "groups", "grade_min", "grade_max",
)  # fmt: skip
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def normalized_offers(database_url: str) -> list[Any]:
    """Every stored raw record, normalized as `rebuild` does (records that fail are skipped)."""
    sys.path.insert(0, str(REPO))
    from catalog import store
    from catalog.db import get_engine, init_db, session_scope
    from normalize import normalize_record
    from normalize.places import load_gazetteer

    engine = get_engine(database_url)
    init_db(engine)
    gazetteer = load_gazetteer()
    offers = []
    with session_scope(engine) as session:
        for record in store.iter_raw(session):
            try:
                offers.append(normalize_record(record, gazetteer=gazetteer, now=NOW))
            except Exception:  # noqa: BLE001 - the gold set only needs offers that normalize
                continue
    return offers


def as_record(offer: Any) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name in FIELDS:
        value = getattr(offer, name, None)
        if isinstance(value, date):
            value = value.isoformat()
        if value is None or value == "" or value == [] or value is False or value == "unknown":
            continue
        row[name] = value
    return row


def gold_keys() -> list[tuple[str, str]]:
    keys: set[tuple[str, str]] = set()
    with (HERE / "gold_pairs.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            keys.add((row["a_source_id"], row["a_source_key"]))
            keys.add((row["b_source_id"], row["b_source_key"]))
    return sorted(keys)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("--all", type=Path, help="write every normalized offer here instead")
    args = parser.parse_args(argv)
    offers = normalized_offers(args.database_url)
    if args.all:
        rows = [as_record(o) for o in offers]
        args.all.write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", "utf-8")
        print(f"{len(rows)} offers -> {args.all}")
        return 0
    by_key = {(o.source_id, o.source_key): o for o in offers}
    wanted = gold_keys()
    missing = [f"{sid}:{skey}" for sid, skey in wanted if (sid, skey) not in by_key]
    if missing:
        print("not in the catalogue:\n  " + "\n  ".join(missing), file=sys.stderr)
        return 1
    rows = [as_record(by_key[k]) for k in wanted]
    out = HERE / "gold_records.json"
    out.write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", "utf-8")
    print(f"{len(rows)} gold records -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
