"""Item pipelines: hand raw records on, count them, close the run.

``StorePipeline`` writes to the catalogue (``catalog.store``): ``start_run`` when the
spider opens, ``upsert_raw_all`` + commit every ``MINTSUCHE_COMMIT_EVERY`` (500) records,
or when the oldest buffered record waited ``MINTSUCHE_COMMIT_SECONDS`` (10) for its
batch (a slow source), and before an unchanged page's records are touched;
``finish_run`` with status and stats when the spider closes; a run that passes the status
rules of ``crawlers.stats`` is then checked by ``crawlers.health`` against the previous
successful runs and recorded ``failed`` if unhealthy. ``JsonLinesPipeline`` only
writes the records to ``MINTSUCHE_JSONL_PATH`` (one ``RawRecord.to_dict()`` per line), for
dry runs without a database. Both take ``RawRecord`` items and the ``StoredRecords`` of an
unchanged page (``crawlers.middleware``; counted and stored record by record). Both emit
the progress events of ``crawlers.run`` on stdout and put the run's outcome into
:data:`RUN_RESULTS` (``source_id -> run event``).

How they fail: a record that cannot be stored is not retried; the error is logged, the
batch rolled back and the run ends ``failed`` with the error text. If the database cannot
be reached when the spider opens, ``start_run`` raises and the crawl of that source does
not start (``crawlers.run`` reports it failed). Items other than ``RawRecord`` pass through.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawlers.middleware import StoredRecords
from crawlers.records import RawRecord
from crawlers.stats import RunTally, decide_status, emit_event, spider_exceptions, summarize

logger = logging.getLogger(__name__)

#: source_id -> the final ``{"event": "run", …}`` of each run in this process.
RUN_RESULTS: dict[str, dict[str, Any]] = {}


class RunPipeline:
    """Common part: tally, progress events every N items, status decision at close."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.progress_every = crawler.settings.getint("MINTSUCHE_PROGRESS_EVERY", 100)
        self.tally = RunTally()
        self.source_id = ""
        self.error: str | None = None
        self.started_at = datetime.now(UTC)
        self.cpu_started = time.process_time()
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunPipeline:
        return cls(crawler)

    # -- Scrapy hooks -----------------------------------------------------------------

    def open_spider(self) -> None:
        spider = self.crawler.spider
        source = getattr(spider, "source", None)
        self.source_id = source.id if source is not None else str(getattr(spider, "name", ""))
        fields = list(getattr(source, "fields", {}) or {})
        fields += [k for k in (getattr(source, "constants", {}) or {}) if k not in fields]
        self.tally = RunTally(fields)
        self.started_at = datetime.now(UTC)
        self.cpu_started = time.process_time()
        self.open_run()

    def process_item(self, item: Any) -> Any:
        before = self.tally.items
        if isinstance(item, RawRecord):
            self.tally.add(item)
            self.handle(item)
        elif isinstance(item, StoredRecords):  # an unchanged page's records, all at once
            if item.records is None and item.filled is not None:
                self.tally.add_filled(item.filled, len(item.keys))
            else:
                for record in item.load():
                    self.tally.add(record)
            self.handle_stored(item)
        else:
            return item
        every = self.progress_every
        if every and before // every != self.tally.items // every:
            emit_event({"event": "item", "source": self.source_id, "count": self.tally.items})
        return item

    def close_spider(self) -> None:
        self.flush()

    def spider_closed(self, spider: Any, reason: str) -> None:
        """Decide the status, store it, emit the ``run`` event (signal handler)."""
        start_failures = list(getattr(spider, "start_failures", []) or [])
        scrapy_stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        stats = summarize(scrapy_stats, self.tally, reason=reason, start_failures=start_failures)
        # CPU seconds of the whole crawl process while this spider ran (benchmarks: less
        # sensitive to a busy machine than wall time; spiders of one process overlap)
        cpu_now = time.process_time()
        stats["cpu_seconds"] = round(cpu_now - self.cpu_started, 4)
        # the process's CPU clock at open and close: runs of one process overlap, so the
        # CPU of a whole crawl is max(close) - min(open) of its runs, not their sum
        stats["cpu_clock"] = [round(self.cpu_started, 4), round(cpu_now, 4)]
        status, error = decide_status(
            items=self.tally.items,
            reason=reason,
            start_failures=start_failures,
            spider_errors=spider_exceptions(scrapy_stats),
        )
        if self.error:
            status, error = "failed", "; ".join(e for e in (error, self.error) if e)
        if status == "success":
            status, error = self.check_health(stats)
        stats["status"] = status
        run_id = self.close_run(status, stats, error)
        event: dict[str, Any] = {
            "event": "run",
            "source": self.source_id,
            "status": status,
            "items": self.tally.items,
            "run_id": run_id,
            "error": error,
            "stats": stats,
        }
        RUN_RESULTS[self.source_id] = event
        emit_event(event)

    def check_health(self, stats: dict[str, Any]) -> tuple[str, str | None]:
        """Apply ``crawlers.health`` to a run that is otherwise a success.

        Findings go to ``stats["health"]``; any finding makes the run ``failed``.
        """
        from crawlers.health import RunFacts, check_run, summary

        findings = check_run(RunFacts.from_stats(stats), self.previous_runs())
        stats["health"] = [
            {"code": f.code, "message": f.message, "field": f.field} for f in findings
        ]
        if findings:
            logger.error("%s: unhealthy run: %s", self.source_id, summary(findings))
            return "failed", "Gesundheitsprüfung: " + summary(findings)
        return "success", None

    # -- for subclasses ---------------------------------------------------------------

    def previous_runs(self) -> list[Any]:
        """``RunFacts`` of the previous successful runs, newest first (none by default)."""
        return []

    def open_run(self) -> None:
        """Prepare the output (start a run, open a file)."""

    def handle(self, record: RawRecord) -> None:
        """Take one record."""

    def handle_stored(self, item: StoredRecords) -> None:
        """Take an unchanged page's stored records (default: :meth:`handle` each)."""
        for record in item.load():
            self.handle(record)

    def flush(self) -> None:
        """Write what is buffered."""

    def close_run(self, status: str, stats: dict[str, Any], error: str | None) -> int | None:
        """Finish the output; return the run id if there is one."""
        return None


_PREPARED: set[str] = set()


def _prepare_store(database_url: str) -> None:
    """Per-process set-up of the store, once per database URL, when the crawler is built
    (before any spider opens): import the store, configure the ORM mappers and open the
    engine's first pooled connection. Without it the first run of a crawl process pays
    these one-off costs between its spider's open and close. A database that cannot be
    reached is only logged here: ``start_run`` fails the run when the spider opens."""
    if database_url in _PREPARED:
        return
    _PREPARED.add(database_url)
    from sqlalchemy.orm import configure_mappers

    from catalog import store  # noqa: F401
    from catalog.db import get_engine
    from crawlers import health  # noqa: F401

    configure_mappers()
    try:
        with get_engine(database_url).connect():
            pass
    except Exception as exc:
        logger.warning("database not reachable yet: %s", exc)


class StorePipeline(RunPipeline):
    """Upsert raw records into the catalogue and record the ``CrawlRun``."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        url = crawler.settings.get("MINTSUCHE_DATABASE_URL")
        if not url:
            raise NotConfigured("MINTSUCHE_DATABASE_URL is not set")
        self.database_url: str = url
        self.commit_every = crawler.settings.getint("MINTSUCHE_COMMIT_EVERY", 500)
        self.commit_seconds = crawler.settings.getfloat("MINTSUCHE_COMMIT_SECONDS", 10.0)
        self.buffered_since = 0.0
        self.trigger = crawler.settings.get("MINTSUCHE_TRIGGER", "cli")
        self.buffer: list[RawRecord] = []
        self.run_id: int | None = None
        self.session: Any = None
        _prepare_store(url)

    def open_run(self) -> None:
        from sqlmodel import Session

        from catalog import store
        from catalog.db import get_engine

        self.session = Session(get_engine(self.database_url), expire_on_commit=False)
        self.run_id = store.start_run(
            self.session, self.source_id, started_at=self.started_at, trigger=self.trigger
        )

    def previous_runs(self) -> list[Any]:
        from catalog import store
        from crawlers.health import HealthRules, RunFacts

        if self.session is None:
            return []
        try:
            runs = store.successful_runs(self.session, self.source_id, HealthRules().history)
        except Exception:  # the health check must not lose the run
            logger.exception("%s: could not read the run history", self.source_id)
            self.session.rollback()
            return []
        return [RunFacts.from_stats(r.stats or {}, r.items) for r in runs if r.id != self.run_id]

    def handle(self, record: RawRecord) -> None:
        buffer = self.buffer
        buffer.append(record)
        if len(buffer) == 1:
            self.buffered_since = time.monotonic()
        if (
            len(buffer) >= self.commit_every
            or time.monotonic() - self.buffered_since >= self.commit_seconds
        ):
            self.flush()

    def handle_stored(self, item: StoredRecords) -> None:
        """Mark the records as seen again with one ``store.touch_raw`` (they are the stored
        ones, so the outcome is ``unchanged``); buffered records are written first, so the
        order of writes stays the order of items. If any record is no longer stored, they
        go through the ordinary upsert instead."""
        if self.session is None or self.run_id is None or not item.keys:
            return
        from catalog import store

        self.flush()
        keys = set(item.keys)

        def touch() -> Mapping[str, int]:
            if item.fetched_at is None:
                raise ValueError(f"stored records of {item.url} without fetched_at")
            touched = store.touch_raw(
                self.session, self.source_id, keys, seen=item.fetched_at, run_id=self.run_id
            )
            if touched == len(keys):
                return {store.UNCHANGED: len(item.keys)}
            if item.records is not None:
                return store.upsert_raw_all(self.session, item.records, run_id=self.run_id)
            # counted before the request; nothing deletes raw records meanwhile
            raise LookupError(f"{len(keys) - touched} stored records of {item.url} missing")

        self._write(touch, len(item))

    def flush(self) -> None:
        """Upsert and commit the buffered records (one short write transaction)."""
        if not self.buffer or self.session is None or self.run_id is None:
            return
        from catalog import store

        batch, self.buffer = self.buffer, []
        self._write(
            lambda: store.upsert_raw_all(self.session, batch, run_id=self.run_id), len(batch)
        )

    def _write(self, work: Callable[[], Mapping[str, int]], records: int) -> None:
        """Run ``work`` and commit, counting its outcomes; a store error is logged, rolled
        back and fails the run at its end (the crawl goes on)."""
        assert self.session is not None
        try:
            outcomes = work()
            self.session.commit()
        except Exception as exc:  # keep the run going; it ends failed
            self.session.rollback()
            message = f"store error: {exc.__class__.__name__}: {exc}"
            logger.error("%s: %s (%d records not stored)", self.source_id, message, records)
            self.error = self.error or message
            return
        self.tally.add_outcomes(outcomes)

    def close_run(self, status: str, stats: dict[str, Any], error: str | None) -> int | None:
        if self.session is None or self.run_id is None:
            return None
        from catalog import store

        self.flush()
        try:
            stats["outcomes"] = dict(self.tally.outcomes)
            store.finish_run(
                self.session,
                self.run_id,
                finished_at=datetime.now(UTC),
                status=status,
                stats=stats,
                error=error,
            )
            if status == "success":
                self.save_page_states()
        except Exception:
            logger.exception("%s: could not finish run %s", self.source_id, self.run_id)
            self.session.rollback()
        finally:
            self.session.close()
        return self.run_id

    def save_page_states(self) -> None:
        """Save the page states the conditional-request middleware queued (see there)."""
        from catalog import store
        from crawlers.middleware import pending_pages

        for page in pending_pages(self.crawler):
            store.save_page_state(self.session, parsed_at=self.started_at, **page)


class JsonLinesPipeline(RunPipeline):
    """Append each record as one JSON line to ``MINTSUCHE_JSONL_PATH`` (no database)."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        path = crawler.settings.get("MINTSUCHE_JSONL_PATH")
        if not path:
            raise NotConfigured("MINTSUCHE_JSONL_PATH is not set")
        self.path = Path(path)
        self.file: IO[str] | None = None

    def open_run(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = self.path.open("a", encoding="utf-8")

    def handle(self, record: RawRecord) -> None:
        assert self.file is not None
        self.file.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")

    def flush(self) -> None:
        if self.file is not None:
            self.file.flush()

    def close_run(self, status: str, stats: dict[str, Any], error: str | None) -> int | None:
        if self.file is not None:
            self.file.close()
            self.file = None
        return None
