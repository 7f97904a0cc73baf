"""The crawl's cheap paths keep their guarantees: the SQLite bulk path of the store writes
exactly what SQLAlchemy's generic executemany writes, the inlined field tally counts what
``is_empty`` defines, and the store pipeline commits its batches at its safe points (size
or age of the batch, before an unchanged page is touched), never later."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scrapy.utils.test import get_crawler
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from catalog import store
from catalog.db import dispose_engines, get_engine, init_db
from catalog.schema import RawRecordRow
from crawlers.extract import is_empty
from crawlers.middleware import StoredRecords
from crawlers.pipelines import StorePipeline
from crawlers.records import RawRecord
from crawlers.stats import RunTally

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
CET = timezone(timedelta(hours=1))


def _generic_executemany(
    session: Session, key: tuple[Any, ...], build: Any, rows: list[dict[str, Any]]
) -> None:
    if rows:
        session.execute(build(), rows)


def _engine(path: Path) -> Engine:
    engine = get_engine(f"sqlite:///{path}")
    init_db(engine)
    return engine


def _rec(key: str, at: datetime, title: str = "Roboter-AG") -> RawRecord:
    fields: dict[str, Any] = {"title": title, "tags": ["a", "ü"], "city": "Köln"}
    return RawRecord.make("src", key, f"https://example.org/{key}", at, fields)


def _write_history(engine: Engine) -> list[tuple[Any, ...]]:
    """New records, then a run with changed, unchanged and new ones; the stored rows."""
    with Session(engine, expire_on_commit=False) as session:
        run1 = store.start_run(session, "src", started_at=T0)
        first = [_rec(f"k{i}", T0 + timedelta(microseconds=i % 2)) for i in range(700)]
        first.append(
            _rec("cet", datetime(2026, 11, 1, 9, 30, tzinfo=CET))
        )  # same instant as T0+0.5 h
        assert store.upsert_raw_all(session, first, run_id=run1) == {
            "new": 701,
            "changed": 0,
            "unchanged": 0,
        }
        session.commit()
        run2 = store.start_run(session, "src", started_at=T0 + timedelta(days=1))
        later = T0 + timedelta(days=1)
        second = [
            _rec(f"k{i}", later, title="Neu" if i % 3 == 0 else "Roboter-AG") for i in range(650)
        ]
        second += [_rec(f"n{i}", later) for i in range(20)]
        outcomes = store.upsert_raw_all(session, second, run_id=run2)
        session.commit()
        assert outcomes == {"new": 20, "changed": 217, "unchanged": 433}
        columns = "source_id, source_key, url, fields, content_hash, fetched_at, first_seen, "
        columns += "last_seen, last_run_id"
        query = f"SELECT {columns} FROM raw_record ORDER BY id"
        return list(session.connection().exec_driver_sql(query).all())


def test_sqlite_bulk_path_stores_what_sqlalchemy_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = _write_history(_engine(tmp_path / "fast.db"))
    monkeypatch.setattr(store, "_executemany", _generic_executemany)
    generic = _write_history(_engine(tmp_path / "generic.db"))
    dispose_engines()
    assert len(fast) == 721
    assert fast == generic  # the stored text, byte for byte
    cet = next(row for row in fast if row[1] == "cet")
    assert cet[5] == "2026-11-01 08:30:00.000000"  # stored as UTC, microseconds always


def test_sqlite_bulk_path_rejects_naive_datetimes(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "x.db")
    naive = RawRecord("src", "k", "https://example.org/k", datetime(2026, 11, 1), {"title": "x"})
    with Session(engine) as session:
        run = store.start_run(session, "src", started_at=T0)
        with pytest.raises(ValueError, match="timezone-aware"):
            store.upsert_raw_all(session, [naive], run_id=run)
    dispose_engines()


def _reference_filled(fields: dict[str, Any]) -> set[str]:
    return {name for name, value in fields.items() if not is_empty(value)}


_text = st.sampled_from(["", " ", "\xa0", "\u2003", "\t\n", "x", " x ", "Köln", "\u200b"])
_value = st.recursive(
    st.none() | _text | st.integers(0, 3) | st.just(1.5),
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["title", "tags", "city"]), _value), max_size=5))
def test_tally_counts_what_is_empty_defines(rows: list[dict[str, Any]]) -> None:
    tally = RunTally(["title"])
    for fields in rows:
        tally.add(RawRecord("src", "k", "https://example.org", T0, fields))
    expected: dict[str, int] = {}
    for fields in rows:
        for name in _reference_filled(fields):
            expected[name] = expected.get(name, 0) + 1
    assert tally.items == len(rows)
    assert {k: v for k, v in tally.filled.items() if v} == expected


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[tuple[StorePipeline, Engine]]:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    engine = get_engine(url)
    init_db(engine)
    crawler = get_crawler(
        settings_dict={
            "MINTSUCHE_DATABASE_URL": url,
            "MINTSUCHE_COMMIT_EVERY": 3,
            "MINTSUCHE_COMMIT_SECONDS": 5.0,
        }
    )
    pipe = StorePipeline(crawler)
    pipe.source_id = "src"
    pipe.open_run()
    yield pipe, engine
    pipe.session.close()
    dispose_engines()


def _committed(engine: Engine) -> int:
    with Session(engine) as session:  # another connection sees committed rows only
        return session.scalar(select(func.count()).select_from(RawRecordRow)) or 0


def test_batches_are_committed_by_size(pipeline: tuple[StorePipeline, Engine]) -> None:
    pipe, engine = pipeline
    for i in range(2):
        pipe.handle(_rec(f"k{i}", T0))
    assert _committed(engine) == 0  # still buffered: a kill now loses at most these
    pipe.handle(_rec("k2", T0))
    assert _committed(engine) == 3 and not pipe.buffer
    pipe.handle(_rec("k3", T0))
    pipe.flush()  # what close_spider does
    assert _committed(engine) == 4


def test_batches_are_committed_by_age(
    pipeline: tuple[StorePipeline, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    pipe, engine = pipeline
    clock = [100.0]
    monkeypatch.setattr("crawlers.pipelines.time.monotonic", lambda: clock[0])
    pipe.handle(_rec("k0", T0))
    clock[0] += 4.9
    pipe.handle(_rec("k1", T0))
    assert _committed(engine) == 0
    clock[0] += 0.2  # the oldest buffered record has now waited 5.1 s
    pipe.handle(_rec("k2", T0 + timedelta(seconds=1)))
    assert _committed(engine) == 3


def test_buffered_records_are_committed_before_an_unchanged_page(
    pipeline: tuple[StorePipeline, Engine],
) -> None:
    pipe, engine = pipeline
    pipe.handle(_rec("k0", T0))
    pipe.flush()
    pipe.handle(_rec("k1", T0))
    stored = [_rec("k0", T0 + timedelta(hours=1))]
    pipe.handle_stored(StoredRecords("https://example.org/list", stored))
    assert _committed(engine) == 2
    assert pipe.tally.outcomes == {"new": 2, "unchanged": 1}
