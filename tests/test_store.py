"""Store API on SQLite and PostgreSQL: idempotent upserts, runs, derived tables."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from conftest import database
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from catalog import store
from catalog.db import database_url, get_engine, init_db, session_scope
from catalog.schema import ClusterRow, CrawlRun, OfferRow, RawRecordRow, SourceRow
from crawlers.records import RawRecord

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An initialised engine: a SQLite file in tmp_path, or a fresh PostgreSQL schema."""
    with database(request.param, tmp_path) as url:
        eng = get_engine(url)
        try:
            init_db(eng)
            yield eng
        finally:
            eng.dispose()


def rec(key: str, title: str = "Roboter-AG", at: datetime = T0, source: str = "src_a") -> RawRecord:
    return RawRecord.make(
        source, key, f"https://example.org/{key}", at, {"title": title, "tags": ["a", "b"]}
    )


def raw_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(RawRecordRow)) or 0


def test_upsert_is_idempotent(engine: Engine) -> None:
    with session_scope(engine) as s:
        run1 = store.start_run(s, "src_a", started_at=T0)
        assert store.upsert_raw(s, rec("k1"), run_id=run1) == "new"
        assert store.upsert_raw(s, rec("k2"), run_id=run1) == "new"
        store.finish_run(s, run1, finished_at=T0, status="success", stats={})
    later = T0 + timedelta(days=1)
    with session_scope(engine) as s:
        run2 = store.start_run(s, "src_a", started_at=later)
        assert store.upsert_raw(s, rec("k1", at=later), run_id=run2) == "unchanged"
        store.finish_run(s, run2, finished_at=later, status="success", stats={})
    with session_scope(engine) as s:
        assert raw_count(s) == 2
        row = s.scalars(select(RawRecordRow).where(RawRecordRow.source_key == "k1")).one()
        assert row.first_seen == T0
        assert row.last_seen == later
        assert row.last_seen.tzinfo is not None
        assert row.last_run_id == run2
        assert row.fields == {"title": "Roboter-AG", "tags": ["a", "b"]}
        other = s.scalars(select(RawRecordRow).where(RawRecordRow.source_key == "k2")).one()
        assert other.last_run_id == run1
        runs = store.last_runs(s, "src_a")
        assert [r.id for r in runs] == [run2, run1]
        assert runs[0].items == 1 and runs[1].items == 2


def test_changed_content(engine: Engine) -> None:
    later = T0 + timedelta(hours=5)
    with session_scope(engine) as s:
        run = store.start_run(s, "src_a", started_at=T0)
        assert store.upsert_raw(s, rec("k1"), run_id=run) == "new"
        assert (
            store.upsert_raw(s, rec("k1", title="Roboter-AG neu", at=later), run_id=run)
            == "changed"
        )
        store.finish_run(s, run, finished_at=later, status="success", stats={"pages": 3})
    with session_scope(engine) as s:
        row = s.scalars(select(RawRecordRow)).one()
        assert row.fields["title"] == "Roboter-AG neu"
        assert row.content_hash == rec("k1", title="Roboter-AG neu").content_hash
        assert (row.first_seen, row.last_seen) == (T0, later)
        run_row = s.get(CrawlRun, run)
        assert run_row is not None and run_row.pages == 3 and run_row.status == "success"


def test_upsert_all_bulk_and_iter_raw(engine: Engine) -> None:
    records = [rec(f"k{i:04d}", source="src_b" if i % 2 else "src_a") for i in range(1200)]
    with session_scope(engine) as s:
        run = store.start_run(s, "src_a", started_at=T0)
        assert store.upsert_raw_all(s, records, run_id=run) == {
            "new": 1200,
            "changed": 0,
            "unchanged": 0,
        }
        store.finish_run(s, run, finished_at=T0, status="success", stats={"items": 1200})
    changed = [rec(r.source_key, title="anders", source=r.source_id) for r in records[:10]]
    with session_scope(engine) as s:
        run = store.start_run(s, "src_a", started_at=T0)
        counts = store.upsert_raw_all(s, records[10:] + changed + changed[:1], run_id=run)
        assert counts == {"new": 0, "changed": 10, "unchanged": 1191}
        store.finish_run(s, run, finished_at=T0, status="success", stats={})
    with session_scope(engine) as s:
        assert raw_count(s) == 1200
        got = list(store.iter_raw(s))
        assert [(r.source_id, r.source_key) for r in got] == sorted(
            (r.source_id, r.source_key) for r in records
        )
        assert all(isinstance(r, RawRecord) and r.fetched_at.tzinfo for r in got)
        only_b = list(store.iter_raw(s, ["src_b"]))
        assert len(only_b) == 600 and {r.source_id for r in only_b} == {"src_b"}
        by_key = {r.source_key: r for r in got}
        assert by_key["k0000"].fields["title"] == "anders"
        assert by_key["k0000"].content_hash == changed[0].content_hash


def test_touch_raw_is_an_unchanged_upsert_in_bulk(engine: Engine) -> None:
    records = [rec(f"k{i:04d}") for i in range(700)] + [rec("k0000", source="src_b")]
    with session_scope(engine) as s:
        run1 = store.start_run(s, "src_a", started_at=T0)
        store.upsert_raw_all(s, records, run_id=run1)
        store.finish_run(s, run1, finished_at=T0, status="success", stats={})
    later = T0 + timedelta(days=2)
    with session_scope(engine) as s:
        run2 = store.start_run(s, "src_a", started_at=later)
        keys = [f"k{i:04d}" for i in range(0, 700, 2)] + ["k0000", "missing"]
        assert store.touch_raw(s, "src_a", keys, seen=later, run_id=run2) == 350
        with pytest.raises(ValueError):
            store.touch_raw(s, "src_a", keys, seen=later.replace(tzinfo=None), run_id=run2)
        store.finish_run(s, run2, finished_at=later, status="success", stats={})
    with session_scope(engine) as s:
        rows = {(r.source_id, r.source_key): r for r in s.scalars(select(RawRecordRow))}
        assert len(rows) == 701
        touched = rows[("src_a", "k0000")]
        assert (touched.first_seen, touched.last_seen, touched.last_run_id) == (T0, later, run2)
        assert touched.fields == {"title": "Roboter-AG", "tags": ["a", "b"]}
        assert touched.fetched_at == T0
        untouched = rows[("src_a", "k0001")]
        assert (untouched.last_seen, untouched.last_run_id) == (T0, run1)
        assert rows[("src_b", "k0000")].last_run_id == run1  # other source: not touched
        assert s.get(CrawlRun, run2).items == 350  # type: ignore[union-attr]


def test_failed_run_changes_nothing(engine: Engine) -> None:
    with session_scope(engine) as s:
        run = store.start_run(s, "src_a", started_at=T0)
        store.upsert_raw_all(s, [rec("k1"), rec("k2")], run_id=run)
        store.finish_run(s, run, finished_at=T0, status="success", stats={})
        store.publish_catalogue(
            s, [{"source_id": "src_a", "source_key": "k1", "title": "Roboter-AG"}], [], {}
        )
    with session_scope(engine) as s:
        before = [
            (r.source_key, r.last_seen, r.last_run_id) for r in s.scalars(select(RawRecordRow))
        ]
    later = T0 + timedelta(days=2)
    with session_scope(engine) as s:
        failed = store.start_run(s, "src_a", started_at=later, trigger="schedule")
        assert store.last_runs(s, "src_a")[0].status == "running"
        store.finish_run(
            s, failed, finished_at=later, status="failed", stats={}, error="HTTP 500 on start URL"
        )
    with session_scope(engine) as s:
        after = [
            (r.source_key, r.last_seen, r.last_run_id) for r in s.scalars(select(RawRecordRow))
        ]
        assert after == before
        assert store.offer_counts_by_source(s) == {"src_a": 1}
        latest = store.last_runs(s, "src_a")[0]
        assert (latest.id, latest.status, latest.items, latest.trigger) == (
            failed,
            "failed",
            0,
            "schedule",
        )
        assert latest.error == "HTTP 500 on start URL"
        success = store.last_success(s, "src_a")
        assert success is not None and success.id == run
        assert store.last_success(s, "nope") is None


def test_finish_run_rejects_bad_input(engine: Engine) -> None:
    with session_scope(engine) as s:
        run = store.start_run(s, "src_a", started_at=T0)
        with pytest.raises(ValueError, match="unknown run status"):
            store.finish_run(s, run, finished_at=T0, status="done", stats={})
        with pytest.raises(KeyError):
            store.finish_run(s, 99999, finished_at=T0, status="success", stats={})
        with pytest.raises(ValueError, match="timezone-aware"):
            store.start_run(s, "src_a", started_at=datetime(2026, 1, 1))


@dataclass
class Licence:
    name: str

    def model_dump(self, mode: str = "python") -> dict[str, str]:
        return {"name": self.name}


@dataclass
class FakeSource:
    id: str
    title: str
    homepage: str
    kind: str
    enabled: bool
    description: str
    strengths: list[str]
    licence: Licence | None


def test_sync_sources(engine: Engine) -> None:
    src = FakeSource(
        "src_a", "A", "https://a.example/", "html", True, "Text", ["gut"], Licence("CC0")
    )
    with session_scope(engine) as s:
        assert (
            store.sync_sources(
                s, [src, FakeSource("src_b", "B", "https://b/", "csv", False, "", [], None)]
            )
            == 2
        )
    src.title = "A neu"
    with session_scope(engine) as s:
        store.sync_sources(s, [src])
    with session_scope(engine) as s:
        row = s.get(SourceRow, "src_a")
        assert row is not None and row.title == "A neu" and row.licence == {"name": "CC0"}
        assert row.strengths == ["gut"] and row.updated_at is not None
        assert s.get(SourceRow, "src_b") is not None


@dataclass
class Merged:
    value: object
    sources: dict[str, object]
    conflict: bool


def test_replace_derived_tables(engine: Engine) -> None:
    offers = [
        {
            "source_id": "src_a",
            "source_key": f"k{i}",
            "url": None,
            "title": f"Angebot {i}",
            "description": "Löten & Programmieren",
            "subjects": ["informatik"],
            "formats": ["workshop"],
            "unmapped": {"formats": ["Irgendwas"]},
            "girls": i % 2 == 0,
            "cost_kind": "free",
            "start": date(2026, 3, 1),
            "cluster_id": "c1" if i < 2 else "c2",
            "not_a_column": "ignored",
        }
        for i in range(3)
    ]
    clusters = [
        {
            "id": "c1",
            "title": "Angebot 0",
            "platforms": ["src_a"],
            "member_count": 2,
            "fields": {"start": Merged(date(2026, 3, 1), {"src_a:k0": "2026-03-01"}, False)},
            "first_seen": T0,
            "last_seen": T0,
        },
        {"id": "c2", "title": "Angebot 2", "member_count": 1},
    ]
    with session_scope(engine) as s:
        assert store.publish_catalogue(s, offers, clusters, {}) == (3, 2)
        assert store.publish_catalogue(s, offers, clusters, {}) == (3, 2)  # replaced, not added
    with session_scope(engine) as s:
        assert store.offer_counts_by_source(s) == {"src_a": 3}
        cluster = store.get_cluster(s, "c1")
        assert isinstance(cluster, ClusterRow)
        assert cluster.fields == {
            "start": {
                "value": "2026-03-01",
                "sources": {"src_a:k0": "2026-03-01"},
                "conflict": False,
            }
        }
        assert cluster.first_seen == T0
        members = store.offers_of_cluster(s, "c1")
        assert [m.source_key for m in members] == ["k0", "k1"]
        assert isinstance(members[0], OfferRow) and members[0].start == date(2026, 3, 1)
        assert members[0].unmapped == {"formats": ["Irgendwas"]}
        assert store.get_cluster(s, "missing") is None
        c2 = store.get_cluster(s, "c2")
        assert c2 is not None and c2.platforms == [] and c2.fields == {}
    # a failing replacement leaves the previous rows
    with session_scope(engine) as s:
        with pytest.raises(Exception):  # noqa: B017  (integrity error differs per backend)
            store.publish_catalogue(s, [offers[0], offers[0]], clusters, {})
    with session_scope(engine) as s:
        assert store.offer_counts_by_source(s) == {"src_a": 3}


def test_database_url_default_creates_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    assert database_url() == "sqlite:///var/mintsuche.db"
    assert (tmp_path / "var").is_dir()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x/y.db")
    assert database_url().endswith("/x/y.db")
    eng = get_engine()
    init_db(eng)
    with eng.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert get_engine() is eng
    eng.dispose()


def test_read_helpers_for_web_and_rebuild(engine: Engine) -> None:
    src = FakeSource("src_b", "B-Plattform", "https://b/", "csv", True, "", [], None)
    with session_scope(engine) as s:
        store.sync_sources(s, [src, FakeSource("src_a", "A-Plattform", "https://a/", "html",
                                                True, "", [], None)])  # fmt: skip
        run = store.start_run(s, "src_a", started_at=T0)
        store.upsert_raw_all(s, [rec("k1"), rec("k2")], run_id=run)
        store.finish_run(s, run, finished_at=T0, status="success", stats={})
        store.publish_catalogue(
            s,
            [
                {"source_id": "src_a", "source_key": "k2", "title": "Zwei", "cluster_id": "c1"},
                {"source_id": "src_a", "source_key": "k1", "title": "Eins", "cluster_id": "c1"},
                {"source_id": "src_b", "source_key": "x", "title": "X", "cluster_id": None},
            ],
            [{"id": "c1", "title": "Eins", "platforms": ["src_a"]}],
            {},
        )
    with session_scope(engine) as s:
        assert [r.id for r in store.list_sources(s)] == ["src_a", "src_b"]
        assert store.previous_cluster_ids(s) == {("src_a", "k1"): "c1", ("src_a", "k2"): "c1"}
        assert list(store.cluster_members(s)) == [
            {
                "id": "c1",
                "title": "Eins",
                "platforms": ["src_a"],
                "members": [
                    {"source_id": "src_a", "source_key": "k1", "title": "Eins", "url": None},
                    {"source_id": "src_a", "source_key": "k2", "title": "Zwei", "url": None},
                ],
            }
        ]
        seen = store.raw_seen(s, [("src_a", "k1"), ("src_a", "nope")])
        assert seen == {("src_a", "k1"): T0}
