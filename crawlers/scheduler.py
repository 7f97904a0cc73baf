"""Scheduled crawls: APScheduler 3.x in the foreground, one job per enabled source.

``mintsuche schedule`` calls :func:`build_scheduler` and :func:`run_until_signal`:

- one cron job per enabled source of ``sources.yaml`` (its ``schedule:``), id
  ``crawl:<source_id>@<cron>``, kept in a ``SQLAlchemyJobStore`` in the catalogue's own
  database (table ``apscheduler_jobs``). Jobs of sources that were removed, disabled or
  rescheduled are deleted from the store at start; existing ones keep their next run time,
  so a run missed while the scheduler was down still fires within ``misfire_grace_time``
  (``coalesce``: several missed runs fire once);
- each job (:func:`run_source`) takes the source's database lock (``store.acquire_lock``),
  marks runs left ``running`` by a dead process ``interrupted``, crawls in a subprocess
  (``crawl_in_subprocess``), heartbeats the lock meanwhile, rebuilds the catalogue after a
  successful run (under a second lock, so two processes never rebuild at once; the index is
  swapped atomically) and notifies operators of a run that did not succeed
  (``crawlers.notify``). A source whose lock is held elsewhere is skipped, also when the
  holder is another scheduler process;
- SIGTERM / SIGINT stop the scheduler: no new jobs start, a running crawl is waited for
  (the crawl subprocess gets the signal from the terminal / service manager itself and
  closes its run), locks are released.

Cron weekdays: standard cron counts 0 (and 7) = Sunday, 1 = Monday; APScheduler 3's
``CronTrigger.from_crontab`` counts 0 = Monday (its documented "historical mistake"). The
weekday field is therefore converted to day names first (:func:`cron_trigger`). Standard
cron ORs a restricted day-of-month with a restricted weekday; APScheduler ANDs them, so such
an expression is rejected with ``ValueError`` (write two sources' schedules instead).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

logger = logging.getLogger("mintsuche.scheduler")

JOB_PREFIX = "crawl:"
JOBSTORE_TABLE = "apscheduler_jobs"
REBUILD_LOCK = "*rebuild"  # not a valid source id (^[a-z0-9_]+$)
LOCK_TTL = timedelta(minutes=10)
HEARTBEAT_SECONDS = 60.0
MISFIRE_GRACE_SECONDS = 6 * 3600
REBUILD_WAIT_SECONDS = 3600.0

_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


# --- cron -----------------------------------------------------------------------------------


def _day_number(token: str, expr: str) -> int:
    token = token.strip().lower()
    if token in _DAY_NAMES:
        return _DAY_NAMES.index(token)
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token) % 7
    raise ValueError(f"invalid weekday {token!r} in cron expression {expr!r}; use 0-7 or sun-sat")


def cron_weekdays(field_text: str, expr: str = "") -> str:
    """Convert a standard cron weekday field to APScheduler 3 day names.

    ``"1-5"`` → ``"mon,tue,wed,thu,fri"``, ``"0"``/``"7"`` → ``"sun"``, ``"*/2"`` →
    ``"sun,tue,thu,sat"``; ``"*"`` and ``"?"`` stay ``"*"``.
    """
    expr = expr or field_text
    if field_text.strip() in {"*", "?"}:
        return "*"
    days: set[int] = set()
    for part in field_text.split(","):
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) < 1:
                raise ValueError(f"invalid step {step_text!r} in cron expression {expr!r}")
            step = int(step_text)
        if base == "*":
            first, last = 0, 6
        elif "-" in base:
            start_text, end_text = base.split("-", 1)
            first = _day_number(start_text, expr)
            last = int(end_text) if end_text.strip() == "7" else _day_number(end_text, expr)
            if last < first:
                raise ValueError(f"weekday range {base!r} runs backwards in {expr!r}")
        else:
            first = _day_number(base, expr)
            last = 6 if step_text else first
        days.update(d % 7 for d in range(first, last + 1, step))
    # APScheduler's list order does not matter; Monday first reads naturally.
    return ",".join(_DAY_NAMES[d] for d in sorted(days, key=lambda d: (d + 6) % 7))


def cron_trigger(expr: str, timezone: str = "UTC") -> CronTrigger:
    """A ``CronTrigger`` for a standard 5-field crontab expression (see module docstring)."""
    values = expr.split()
    if len(values) != 5:
        raise ValueError(f"cron expression {expr!r} has {len(values)} fields, expected 5")
    minute, hour, day, month, weekday = values
    if day not in {"*", "?"} and weekday not in {"*", "?"}:
        raise ValueError(
            f"cron expression {expr!r} restricts both day of month and weekday; cron would "
            "run on either, APScheduler only on both: restrict one of them"
        )
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=cron_weekdays(weekday, expr),
        timezone=timezone,
    )


# --- one scheduled run ------------------------------------------------------------------------


@dataclass(frozen=True)
class JobContext:
    """What a job of this scheduler process needs (set once by :func:`build_scheduler`)."""

    sources_file: Path
    database_url: str
    index_dir: Path
    overrides_file: Path | None = None
    log_dir: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    replay_hosts: Mapping[str, str] | None = None


def make_holder() -> str:
    """A lock holder id unique to this process and call: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _Heartbeat:
    """Refresh a lock every ``interval`` seconds in a thread until stopped."""

    def __init__(
        self,
        database_url: str,
        source_id: str,
        holder: str,
        ttl: timedelta,
        interval: float,
        clock: Callable[[], datetime],
    ) -> None:
        self.args = (database_url, source_id, holder, ttl, clock)
        self.interval = interval
        self.stop_event = threading.Event()
        self.lost = False
        self.thread = threading.Thread(
            target=self._loop, name=f"heartbeat-{source_id}", daemon=True
        )

    def _loop(self) -> None:
        from catalog import store
        from catalog.db import get_engine, session_scope

        database_url, source_id, holder, ttl, clock = self.args
        while not self.stop_event.wait(self.interval):
            try:
                with session_scope(get_engine(database_url)) as session:
                    held = store.refresh_lock(
                        session, source_id, holder=holder, now=clock(), ttl=ttl
                    )
            except Exception:  # noqa: BLE001 - retried at the next beat
                logger.exception("%s: lock heartbeat failed", source_id)
                continue
            if not held:
                self.lost = True
                logger.error("%s: lock lost (taken over after expiry)", source_id)

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.thread.join()


def wait_for_lock(
    database_url: str,
    name: str,
    *,
    holder: str,
    ttl: timedelta,
    clock: Callable[[], datetime],
    timeout: float,
    poll: float = 2.0,
) -> bool:
    """Try to take lock ``name`` until ``timeout`` seconds have passed; True when taken."""
    from catalog import store
    from catalog.db import get_engine, session_scope

    waited = 0.0
    while True:
        with session_scope(get_engine(database_url)) as session:
            if store.acquire_lock(session, name, holder=holder, now=clock(), ttl=ttl):
                return True
        if waited >= timeout:
            return False
        threading.Event().wait(poll)
        waited += poll


def run_source(
    source_id: str,
    context: JobContext,
    *,
    clock: Callable[[], datetime] = _utcnow,
    crawl: Callable[..., list[dict[str, Any]]] | None = None,
    rebuild: Callable[..., Any] | None = None,
    notify: Callable[[Mapping[str, Any]], Any] | None = None,
    holder: str | None = None,
    lock_ttl: timedelta = LOCK_TTL,
    heartbeat: float = HEARTBEAT_SECONDS,
    rebuild_wait: float = REBUILD_WAIT_SECONDS,
) -> dict[str, Any]:
    """Crawl one source under its lock, rebuild after success, notify after failure.

    Returns ``{"source", "status", "run_id", "interrupted": [run ids], "rebuilt": bool}``;
    ``status`` is the run's status, or ``"skipped"`` when another process holds the lock.
    ``crawl``, ``rebuild`` and ``notify`` default to ``crawl_in_subprocess``,
    ``webapp.pipeline.rebuild`` and ``crawlers.notify.notify_run`` with the environment's
    settings (tests pass their own).
    """
    from catalog import store
    from catalog.db import get_engine, init_db, session_scope

    holder = holder or make_holder()
    engine = get_engine(context.database_url)
    init_db(engine)
    outcome: dict[str, Any] = {
        "source": source_id,
        "status": "skipped",
        "run_id": None,
        "interrupted": [],
        "rebuilt": False,
    }
    acquired_at = clock()
    with session_scope(engine) as session:
        if not store.acquire_lock(session, source_id, holder=holder, now=acquired_at, ttl=lock_ttl):
            logger.warning("%s: skipped, another process is crawling it", source_id)
            return outcome
    try:
        with session_scope(engine) as session:
            outcome["interrupted"] = store.interrupt_stale_runs(
                session, source_id, before=acquired_at, now=acquired_at
            )
        if outcome["interrupted"]:
            logger.warning("%s: runs %s marked interrupted", source_id, outcome["interrupted"])
        with _Heartbeat(context.database_url, source_id, holder, lock_ttl, heartbeat, clock):
            event = _crawl_one(source_id, context, crawl, clock)
        outcome["status"] = event.get("status", "failed")
        outcome["run_id"] = event.get("run_id")
        if outcome["status"] != "success":
            _notify(event, notify)
    finally:
        with session_scope(engine) as session:
            store.release_lock(session, source_id, holder=holder)
    if outcome["status"] == "success":
        outcome["rebuilt"] = _rebuild_locked(
            context, rebuild, clock, holder, lock_ttl, rebuild_wait
        )
    return outcome


def _crawl_one(
    source_id: str,
    context: JobContext,
    crawl: Callable[..., list[dict[str, Any]]] | None,
    clock: Callable[[], datetime],
) -> dict[str, Any]:
    from crawlers.run import CrawlError, crawl_in_subprocess

    crawl = crawl or crawl_in_subprocess
    now = clock()
    log_path = None
    if context.log_dir is not None:
        context.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = context.log_dir / f"schedule-{source_id}-{now.strftime('%Y%m%dT%H%M%SZ')}.log"
    try:
        events = crawl(
            [source_id],
            sources_file=context.sources_file,
            database_url=context.database_url,
            replay_hosts=context.replay_hosts,
            env=dict(context.env),
            trigger="schedule",
            log_path=log_path,
        )
    except CrawlError as exc:
        return {
            "event": "run",
            "source": source_id,
            "status": "failed",
            "items": 0,
            "run_id": None,
            "error": str(exc),
        }
    return (
        events[0]
        if events
        else {
            "event": "run",
            "source": source_id,
            "status": "failed",
            "items": 0,
            "run_id": None,
            "error": "no result from the crawl process",
        }
    )


def _notify(event: Mapping[str, Any], notify: Callable[[Mapping[str, Any]], Any] | None) -> None:
    if notify is not None:
        notify(event)
        return
    from crawlers.notify import NotifyConfig, notify_run

    notify_run(event, NotifyConfig.from_env(os.environ))


def _rebuild_locked(
    context: JobContext,
    rebuild: Callable[..., Any] | None,
    clock: Callable[[], datetime],
    holder: str,
    ttl: timedelta,
    wait: float,
) -> bool:
    from catalog import store
    from catalog.db import get_engine, session_scope

    if not wait_for_lock(
        context.database_url, REBUILD_LOCK, holder=holder, ttl=ttl, clock=clock, timeout=wait
    ):
        logger.error("rebuild skipped: another process kept rebuilding for %.0f s", wait)
        return False
    try:
        if rebuild is None:
            from webapp.pipeline import rebuild as rebuild_catalogue

            rebuild = rebuild_catalogue
        with _Heartbeat(context.database_url, REBUILD_LOCK, holder, ttl, HEARTBEAT_SECONDS, clock):
            rebuild(
                context.database_url,
                context.index_dir,
                now=clock(),
                overrides_file=context.overrides_file,
            )
        return True
    finally:
        with session_scope(get_engine(context.database_url)) as session:
            store.release_lock(session, REBUILD_LOCK, holder=holder)


#: The context of the jobs in this process (set by :func:`build_scheduler`).
_CONTEXT: JobContext | None = None


def scheduled_crawl(source_id: str) -> dict[str, Any]:
    """The job function stored in the job store (only the source id is persisted)."""
    if _CONTEXT is None:
        raise RuntimeError("scheduled_crawl called outside a scheduler built by build_scheduler")
    outcome = run_source(source_id, _CONTEXT)
    logger.info("%s: %s", source_id, outcome)
    return outcome


# --- the scheduler ------------------------------------------------------------------------------


def job_id(source_id: str, schedule: str) -> str:
    """``crawl:<id>@<cron>``: a changed schedule is a new job."""
    return f"{JOB_PREFIX}{source_id}@{' '.join(schedule.split())}"


def build_scheduler(
    context: JobContext,
    sources: Iterable[Any],
    *,
    scheduler_class: type[BaseScheduler] = BlockingScheduler,
    jobstore_table: str = JOBSTORE_TABLE,
    misfire_grace_time: int = MISFIRE_GRACE_SECONDS,
) -> BaseScheduler:
    """A scheduler with one job per enabled source; stale jobs are removed from the store.

    ``sources`` are ``crawlers.sources.Source`` objects (``id``, ``enabled``, ``schedule``).
    Raises ``ValueError`` for a schedule that cannot be converted (see :func:`cron_trigger`).
    """
    from sqlalchemy import select

    from catalog.db import get_engine

    global _CONTEXT
    wanted: dict[str, tuple[str, CronTrigger]] = {}
    for source in sources:
        if getattr(source, "enabled", True):
            wanted[job_id(source.id, source.schedule)] = (
                source.id,
                cron_trigger(source.schedule),
            )
    engine = get_engine(context.database_url)
    jobstore = SQLAlchemyJobStore(engine=engine, tablename=jobstore_table)
    jobstore.jobs_t.create(engine, checkfirst=True)
    with engine.connect() as conn:
        stored = set(conn.execute(select(jobstore.jobs_t.c.id)).scalars())
    for stale in sorted(stored - set(wanted)):
        if stale.startswith(JOB_PREFIX):
            jobstore.remove_job(stale)
            logger.info("removed job %s (source removed, disabled or rescheduled)", stale)
    scheduler = scheduler_class(
        jobstores={"default": jobstore},
        executors={"default": {"type": "threadpool", "max_workers": 4}},
        job_defaults={
            "coalesce": True,
            "misfire_grace_time": misfire_grace_time,
            "max_instances": 1,
        },
        timezone="UTC",
    )
    for jid, (source_id, trigger) in sorted(wanted.items()):
        if jid in stored:
            continue
        scheduler.add_job(
            "crawlers.scheduler:scheduled_crawl",
            trigger=trigger,
            id=jid,
            name=f"crawl {source_id}",
            kwargs={"source_id": source_id},
        )
    _CONTEXT = context
    return scheduler


def run_until_signal(
    scheduler: BaseScheduler, on_started: Callable[[], None] | None = None
) -> None:
    """Start a ``BlockingScheduler``; SIGTERM/SIGINT shut it down, waiting for running jobs.

    ``on_started`` is called once the scheduler runs (the signal handlers are in place).
    """
    from apscheduler.events import EVENT_SCHEDULER_STARTED

    def _stop(signum: int, _frame: Any) -> None:
        logger.warning("signal %s: stopping; waiting for running crawls", signum)
        scheduler.shutdown(wait=False)

    if on_started is not None:
        scheduler.add_listener(lambda _event: on_started(), EVENT_SCHEDULER_STARTED)
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        scheduler.start()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
