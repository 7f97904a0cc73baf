"""Freshness: offers that successful runs stop seeing leave search only after N such runs
or T days; failed, interrupted and truncated runs never remove anything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from catalog import store
from catalog.db import dispose_engines, get_engine, init_db, session_scope
from crawlers.records import RawRecord
from webapp.pipeline import rebuild

REPO = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 1, 1, tzinfo=UTC)
RULES = store.Freshness(max_missed_runs=3, max_days=60)


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    init_db(get_engine(url))
    yield url
    dispose_engines()


def record(key: str, when: datetime, title: str | None = None) -> RawRecord:
    return RawRecord.make(
        source_id="src",
        source_key=key,
        url=f"https://example.org/{key}",
        fetched_at=when,
        fields={"title": title or f"Roboter-AG {key}", "city": "Leipzig"},
    )


def crawl(
    url: str, keys: list[str], when: datetime, status: str = "success", truncated: bool = False
) -> int:
    with session_scope(get_engine(url)) as s:
        run_id = store.start_run(s, "src", started_at=when)
        store.upsert_raw_all(s, [record(k, when) for k in keys], run_id=run_id)
        store.finish_run(
            s,
            run_id,
            finished_at=when,
            status=status,
            stats={"items": len(keys), "truncated": truncated},
        )
    return run_id


def stale(url: str, now: datetime) -> dict[tuple[str, str], int]:
    with session_scope(get_engine(url)) as s:
        return store.stale_keys(s, now=now, rules=RULES)


def test_removed_only_after_n_successful_runs(url: str) -> None:
    crawl(url, ["a", "b"], T0)
    crawl(url, ["a"], T0 + timedelta(days=1))
    assert stale(url, T0 + timedelta(days=1)) == {}
    crawl(url, ["a"], T0 + timedelta(days=2))
    assert stale(url, T0 + timedelta(days=2)) == {}
    crawl(url, ["a"], T0 + timedelta(days=3))
    assert stale(url, T0 + timedelta(days=3)) == {("src", "b"): 3}
    # seen again: back in
    crawl(url, ["a", "b"], T0 + timedelta(days=4))
    assert stale(url, T0 + timedelta(days=4)) == {}


def test_failed_interrupted_and_truncated_runs_remove_nothing(url: str) -> None:
    crawl(url, ["a", "b"], T0)
    for day, status in enumerate(["failed", "interrupted", "failed", "failed"], start=1):
        crawl(url, [], T0 + timedelta(days=day), status=status)
    for day in range(5, 9):
        crawl(url, ["a"], T0 + timedelta(days=day), truncated=True)
    assert stale(url, T0 + timedelta(days=400)) == {}


def test_removed_after_t_days_once_a_successful_run_missed_it(url: str) -> None:
    crawl(url, ["a", "b"], T0)
    crawl(url, ["a"], T0 + timedelta(days=30))
    assert stale(url, T0 + timedelta(days=59)) == {}
    assert stale(url, T0 + timedelta(days=60)) == {("src", "b"): 1}


def test_settings_from_the_environment() -> None:
    assert store.Freshness.from_env({}) == store.Freshness(3, 60.0)
    assert store.Freshness.from_env(
        {"MINTSUCHE_STALE_RUNS": "1", "MINTSUCHE_STALE_DAYS": "7.5"}
    ) == store.Freshness(1, 7.5)
    with pytest.raises(ValueError, match="MINTSUCHE_STALE_RUNS"):
        store.Freshness.from_env({"MINTSUCHE_STALE_RUNS": "drei"})
    with pytest.raises(ValueError, match=">= 1"):
        store.Freshness.from_env({"MINTSUCHE_STALE_RUNS": "0"})


def test_rebuild_leaves_stale_offers_out_and_keeps_them_stored(url: str, tmp_path: Path) -> None:
    crawl(url, ["a", "b", "c"], T0)
    crawl(url, ["a", "c"], T0 + timedelta(days=1))
    rules = store.Freshness(max_missed_runs=1, max_days=60)
    report = rebuild(
        url, tmp_path / "index", now=T0 + timedelta(days=1), freshness=rules, overrides_file=None
    )
    assert report.raw_records == 3 and report.stale == {"src": 1}
    with session_scope(get_engine(url)) as s:
        keys = (
            {o.source_key for o in store.offers_of_source(s, "src")}
            if hasattr(store, "offers_of_source")
            else None
        )
        counts = store.offer_counts_by_source(s)
        assert len(list(store.iter_raw(s, ["src"]))) == 3  # nothing deleted
    assert counts == {"src": 2}
    assert keys in (None, {"a", "c"})
    # a failed run afterwards changes nothing
    crawl(url, [], T0 + timedelta(days=2), status="failed")
    again = rebuild(
        url, tmp_path / "index", now=T0 + timedelta(days=2), freshness=rules, overrides_file=None
    )
    assert again.stale == {"src": 1} and again.offers == report.offers
