"""The scheduler: cron weekdays, the database crawl lock, one scheduled run, the job store,
and a graceful stop on SIGTERM. Storage tests run on SQLite and on PostgreSQL (own schema;
skipped only when PostgreSQL is unreachable outside CI)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import create_engine, text

from catalog import store
from catalog.db import dispose_engines, get_engine, init_db, session_scope
from catalog.schema import CrawlRun
from crawlers.scheduler import (
    REBUILD_LOCK,
    JobContext,
    build_scheduler,
    cron_trigger,
    cron_weekdays,
    job_id,
    run_source,
)
from crawlers.sources import load_sources

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # a Thursday
TTL = timedelta(minutes=10)
POSTGRES_URL = os.environ.get(
    "MINTSUCHE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_schema_url() -> Iterator[str]:
    admin = create_engine(POSTGRES_URL)
    try:
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001
        admin.dispose()
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        dispose_engines()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
        init_db(get_engine(url))
        yield url
        dispose_engines()
    else:
        for url in _postgres_schema_url():
            init_db(get_engine(url))
            yield url


# --- cron ---


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("*", "*"),
        ("1", "mon"),
        ("0", "sun"),
        ("7", "sun"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("5-7", "fri,sat,sun"),
        ("0,6", "sat,sun"),
        ("*/2", "tue,thu,sat,sun"),
        ("sun", "sun"),
        ("mon-wed", "mon,tue,wed"),
    ],
)
def test_cron_weekdays_follow_standard_cron(field: str, expected: str) -> None:
    assert cron_weekdays(field) == expected


@pytest.mark.parametrize(
    ("expr", "weekday"),
    [
        ("15 3 * * 1", "Monday"),
        ("15 3 * * 0", "Sunday"),
        ("15 3 * * 7", "Sunday"),
        ("15 3 * * 6", "Saturday"),
    ],
)
def test_cron_trigger_fires_on_the_standard_weekday(expr: str, weekday: str) -> None:
    fire = cron_trigger(expr).get_next_fire_time(None, NOW)
    assert fire is not None and fire.strftime("%A") == weekday
    assert (fire.hour, fire.minute) == (3, 15)


def test_apscheduler_from_crontab_numbers_weekdays_differently() -> None:
    """Why the conversion exists: APScheduler 3 reads '1' as Tuesday."""
    from apscheduler.triggers.cron import CronTrigger

    fire = CronTrigger.from_crontab("15 3 * * 1", timezone="UTC").get_next_fire_time(None, NOW)
    assert fire is not None and fire.strftime("%A") == "Tuesday"


@pytest.mark.parametrize("expr", ["0 3 1 * 1", "0 3 * * 8", "0 3 * * 5-2", "0 3 * *"])
def test_cron_trigger_rejects_what_it_cannot_honour(expr: str) -> None:
    with pytest.raises(ValueError, match="cron expression|weekday"):
        cron_trigger(expr)


def test_every_schedule_in_sources_yaml_converts() -> None:
    for source in load_sources(REPO / "sources.yaml").sources:
        assert cron_trigger(source.schedule).get_next_fire_time(None, NOW) is not None


# --- the lock ---


def test_lock_is_exclusive_until_it_expires(db_url: str) -> None:
    with session_scope(get_engine(db_url)) as s:
        assert store.acquire_lock(s, "src", holder="a", now=NOW, ttl=TTL)
        assert not store.acquire_lock(s, "src", holder="b", now=NOW + timedelta(minutes=5), ttl=TTL)
        assert store.acquire_lock(s, "other", holder="b", now=NOW, ttl=TTL)
        # heartbeat keeps it alive past the first expiry
        assert store.refresh_lock(s, "src", holder="a", now=NOW + timedelta(minutes=9), ttl=TTL)
        assert not store.acquire_lock(
            s, "src", holder="b", now=NOW + timedelta(minutes=15), ttl=TTL
        )
        # a dead holder's lock expires and is taken over
        assert store.acquire_lock(s, "src", holder="b", now=NOW + timedelta(minutes=20), ttl=TTL)
        assert not store.refresh_lock(
            s, "src", holder="a", now=NOW + timedelta(minutes=21), ttl=TTL
        )
        assert not store.release_lock(s, "src", holder="a")
        assert store.release_lock(s, "src", holder="b")
        assert store.acquire_lock(s, "src", holder="c", now=NOW + timedelta(minutes=22), ttl=TTL)


def test_lock_race_has_exactly_one_winner(db_url: str) -> None:
    engine = get_engine(db_url)
    barrier = threading.Barrier(6)
    wins: list[str] = []

    def contend(name: str) -> None:
        barrier.wait()
        with session_scope(engine) as s:
            if store.acquire_lock(s, "race", holder=name, now=NOW, ttl=TTL):
                wins.append(name)

    threads = [threading.Thread(target=contend, args=(f"h{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1


def test_lock_race_across_processes(db_url: str, tmp_path: Path) -> None:
    """Two OS processes (two schedulers) contend for one lock: one wins."""
    script = (
        "import sys, time\n"
        "from datetime import datetime, timedelta, UTC\n"
        "from catalog import store\n"
        "from catalog.db import get_engine, session_scope\n"
        "start = float(sys.argv[3])\n"
        "time.sleep(max(0.0, start - time.time()))\n"
        "with session_scope(get_engine(sys.argv[1])) as s:\n"
        "    ok = store.acquire_lock(s, 'proc', holder=sys.argv[2],\n"
        "        now=datetime(2026, 11, 26, 12, tzinfo=UTC), ttl=timedelta(minutes=10))\n"
        "print('WIN' if ok else 'LOSE')\n"
    )
    start = str(time.time() + 2.0)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, db_url, f"p{i}", start],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        for i in range(3)
    ]
    outputs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert sorted(outputs) == ["LOSE", "LOSE", "WIN"]


def test_stale_running_runs_become_interrupted(db_url: str) -> None:
    with session_scope(get_engine(db_url)) as s:
        old = store.start_run(s, "src", started_at=NOW - timedelta(hours=2))
        other = store.start_run(s, "other", started_at=NOW - timedelta(hours=2))
        new = store.start_run(s, "src", started_at=NOW + timedelta(seconds=1))
        assert store.interrupt_stale_runs(s, "src", before=NOW, now=NOW) == [old]
        statuses = {r.id: r.status for r in s.exec(text("select id, status from crawl_run"))}
    assert statuses == {old: "interrupted", other: "running", new: "running"}


# --- one scheduled run ---


def _context(db_url: str, tmp_path: Path) -> JobContext:
    return JobContext(
        sources_file=REPO / "sources.yaml", database_url=db_url, index_dir=tmp_path / "index"
    )


class FakeCrawl:
    """Records calls; returns a run event like crawl_in_subprocess, after a real start_run."""

    def __init__(self, db_url: str, status: str = "success", hold: threading.Event | None = None):
        self.db_url = db_url
        self.status = status
        self.hold = hold
        self.calls: list[list[str]] = []
        self.started = threading.Event()

    def __call__(self, ids: list[str], **kwargs: Any) -> list[dict[str, Any]]:
        self.calls.append(list(ids))
        assert kwargs["trigger"] == "schedule"
        with session_scope(get_engine(self.db_url)) as s:
            run_id = store.start_run(s, ids[0], started_at=NOW + timedelta(seconds=5))
            store.finish_run(
                s,
                run_id,
                finished_at=NOW + timedelta(seconds=6),
                status=self.status,
                stats={"items": 3},
            )
        self.started.set()
        if self.hold is not None:
            self.hold.wait(30)
        return [
            {
                "event": "run",
                "source": ids[0],
                "status": self.status,
                "items": 3,
                "run_id": run_id,
                "error": None if self.status == "success" else "boom",
            }
        ]


def test_run_source_crawls_marks_dead_runs_and_rebuilds(db_url: str, tmp_path: Path) -> None:
    with session_scope(get_engine(db_url)) as s:
        dead = store.start_run(s, "komm_mach_mint", started_at=NOW - timedelta(days=1))
    crawl, rebuilt, notices = FakeCrawl(db_url), [], []
    outcome = run_source(
        "komm_mach_mint",
        _context(db_url, tmp_path),
        clock=lambda: NOW,
        crawl=crawl,
        rebuild=lambda *a, **k: rebuilt.append(k["now"]),
        notify=notices.append,
    )
    assert outcome["status"] == "success" and outcome["rebuilt"]
    assert outcome["interrupted"] == [dead]
    assert crawl.calls == [["komm_mach_mint"]] and rebuilt == [NOW] and notices == []
    with session_scope(get_engine(db_url)) as s:
        assert s.get(CrawlRun, dead).status == "interrupted"
        assert store.list_locks(s) == []  # both locks released


def test_failed_run_notifies_and_does_not_rebuild(db_url: str, tmp_path: Path) -> None:
    rebuilt, notices = [], []
    outcome = run_source(
        "komm_mach_mint",
        _context(db_url, tmp_path),
        clock=lambda: NOW,
        crawl=FakeCrawl(db_url, status="failed"),
        rebuild=lambda *a, **k: rebuilt.append(1),
        notify=notices.append,
    )
    assert outcome["status"] == "failed" and not outcome["rebuilt"] and rebuilt == []
    assert [n["status"] for n in notices] == ["failed"]


def test_a_held_source_is_skipped_and_never_crawled_twice(db_url: str, tmp_path: Path) -> None:
    """Two jobs for one source at once (two schedulers): the second one is skipped."""
    hold = threading.Event()
    first = FakeCrawl(db_url, hold=hold)
    second = FakeCrawl(db_url)
    results: list[dict[str, Any]] = []
    context = _context(db_url, tmp_path)
    thread = threading.Thread(
        target=lambda: results.append(
            run_source(
                "komm_mach_mint",
                context,
                clock=lambda: NOW,
                crawl=first,
                rebuild=lambda *a, **k: None,
                notify=lambda e: None,
                heartbeat=0.05,
            )
        ),
    )
    thread.start()
    assert first.started.wait(10)
    skipped = run_source(
        "komm_mach_mint",
        context,
        clock=lambda: NOW + timedelta(minutes=1),
        crawl=second,
        rebuild=lambda *a, **k: None,
        notify=lambda e: None,
    )
    hold.set()
    thread.join(30)
    assert skipped["status"] == "skipped" and second.calls == []
    assert results[0]["status"] == "success"


def test_lock_is_released_when_the_crawl_raises(db_url: str, tmp_path: Path) -> None:
    def explode(ids: list[str], **kwargs: Any) -> list[dict[str, Any]]:
        raise OSError("no fork")

    with pytest.raises(OSError):
        run_source(
            "komm_mach_mint",
            _context(db_url, tmp_path),
            clock=lambda: NOW,
            crawl=explode,
            rebuild=lambda *a, **k: None,
            notify=lambda e: None,
        )
    with session_scope(get_engine(db_url)) as s:
        assert store.list_locks(s) == []


def test_rebuild_waits_for_the_rebuild_lock(db_url: str, tmp_path: Path) -> None:
    with session_scope(get_engine(db_url)) as s:
        assert store.acquire_lock(s, REBUILD_LOCK, holder="elsewhere", now=NOW, ttl=TTL)
    rebuilt: list[int] = []
    outcome = run_source(
        "komm_mach_mint",
        _context(db_url, tmp_path),
        clock=lambda: NOW,
        crawl=FakeCrawl(db_url),
        rebuild=lambda *a, **k: rebuilt.append(1),
        notify=lambda e: None,
        rebuild_wait=0.0,
    )
    assert outcome["status"] == "success" and not outcome["rebuilt"] and rebuilt == []


# --- the job store ---


class Src:
    def __init__(self, sid: str, schedule: str, enabled: bool = True) -> None:
        self.id, self.schedule, self.enabled = sid, schedule, enabled


def _jobs(db_url: str, tmp_path: Path, sources: list[Src]) -> dict[str, Any]:
    scheduler = build_scheduler(
        _context(db_url, tmp_path), sources, scheduler_class=BackgroundScheduler
    )
    scheduler.start(paused=True)
    try:
        return {job.id: job for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=False)


def test_job_store_keeps_one_job_per_enabled_source(db_url: str, tmp_path: Path) -> None:
    jobs = _jobs(
        db_url,
        tmp_path,
        [Src("a", "15 3 * * 1"), Src("b", "0 4 1 * *"), Src("off", "0 5 * * *", enabled=False)],
    )
    assert set(jobs) == {job_id("a", "15 3 * * 1"), job_id("b", "0 4 1 * *")}
    job = jobs[job_id("a", "15 3 * * 1")]
    assert job.coalesce and job.misfire_grace_time >= 3600 and job.max_instances == 1
    assert job.kwargs == {"source_id": "a"}
    assert job.next_run_time.strftime("%A") == "Monday"
    first_next = {k: j.next_run_time for k, j in jobs.items()}

    # restart with a changed schedule for b: a keeps its stored next run, b is replaced
    again = _jobs(db_url, tmp_path, [Src("a", "15 3 * * 1"), Src("b", "0 4 2 * *")])
    assert set(again) == {job_id("a", "15 3 * * 1"), job_id("b", "0 4 2 * *")}
    assert again[job_id("a", "15 3 * * 1")].next_run_time == first_next[job_id("a", "15 3 * * 1")]


def test_schedule_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'sched.db'}"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from webapp.cli import main; main()",
            "--sources-file",
            str(REPO / "sources.yaml"),
            "--database-url",
            db,
            "--var-dir",
            str(tmp_path / "var"),
            "schedule",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert proc.stderr is not None
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if "Planer gestartet" in line:
            break
    else:
        pytest.fail("".join(lines))
    proc.send_signal(signal.SIGTERM)
    rest = proc.communicate(timeout=30)[1]
    assert proc.returncode == 0, "".join(lines) + rest
    assert "Planer beendet" in rest
    enabled = [s for s in load_sources(REPO / "sources.yaml").sources if s.enabled]
    engine = create_engine(db)
    with engine.connect() as conn:
        ids = set(conn.execute(text("select id from apscheduler_jobs")).scalars())
    engine.dispose()
    assert ids == {job_id(s.id, s.schedule) for s in enabled}


def test_a_due_job_runs_the_source_through_run_source(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stored job (only the source id is persisted) reaches run_source with the
    context of this scheduler process."""
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED

    import crawlers.scheduler as scheduler_module

    calls: list[tuple[str, JobContext]] = []
    monkeypatch.setattr(
        scheduler_module, "run_source", lambda sid, ctx: calls.append((sid, ctx)) or {}
    )
    context = _context(db_url, tmp_path)
    scheduler = build_scheduler(
        context, [Src("a", "15 3 * * 1")], scheduler_class=BackgroundScheduler
    )
    done = threading.Event()
    errors: list[Any] = []
    scheduler.add_listener(
        lambda e: (errors.append(e.exception) if e.exception else None, done.set()),
        EVENT_JOB_EXECUTED | EVENT_JOB_ERROR,
    )
    scheduler.start()
    try:
        scheduler.modify_job(job_id("a", "15 3 * * 1"), next_run_time=datetime.now(UTC))
        assert done.wait(20)
    finally:
        scheduler.shutdown(wait=True)
    assert errors == [] and calls == [("a", context)]
