"""The store: raw records and crawl runs in, derived offers and clusters replaced.

Transactions: :func:`start_run`, :func:`finish_run`, :func:`sync_sources`,
:func:`publish_catalogue` commit. :func:`upsert_raw` and
:func:`upsert_raw_all` only flush, so the caller decides the batch size;
:func:`finish_run` commits whatever is still pending. Nothing here deletes raw records:
a failed run leaves the catalogue as it was (records it did see are kept, with their
``last_seen`` and ``last_run_id`` updated).

Crawl locks (:func:`acquire_lock`, :func:`refresh_lock`, :func:`release_lock`) and
:func:`interrupt_stale_runs` commit too; they are single atomic statements, so two
processes (SQLite or PostgreSQL) never both hold the lock of one source.

Errors: ``KeyError`` for an unknown run id, ``ValueError`` for an invalid status or a
naive datetime; SQLAlchemy errors pass through.
"""

from __future__ import annotations

import weakref
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic_core import PydanticUndefined
from sqlalchemy import bindparam, delete, func, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

from catalog.schema import (
    RUN_STATUSES,
    CatalogState,
    ClusterRow,
    CrawlLock,
    CrawlRun,
    OfferRow,
    PageState,
    RawRecordRow,
    SourceRow,
)
from crawlers.records import RawRecord

NEW, CHANGED, UNCHANGED = "new", "changed", "unchanged"

#: Rows per bulk statement (keeps SQLite below its bound-parameter limit).
BATCH = 500


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value.isoformat()}")
    return value.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


# --- sources -----------------------------------------------------------------------------


def _licence_dict(licence: Any) -> dict[str, Any] | None:
    if licence is None:
        return None
    dump = getattr(licence, "model_dump", None)
    if callable(dump):
        return dict(dump(mode="json"))
    return dict(licence)


def sync_sources(session: Session, sources: Iterable[Any], *, now: datetime | None = None) -> int:
    """Insert or update one :class:`SourceRow` per source object; commit; return the count.

    ``sources`` are objects with the ``Source`` attributes ``id``, ``title``, ``homepage``,
    ``kind``, ``enabled``, ``description``, ``strengths`` and ``licence`` (a pydantic model,
    a mapping or None). Sources missing from the list are kept (old runs refer to them).
    """
    stamp = _aware(now, "now") if now else _now()
    count = 0
    for source in sources:
        homepage = getattr(source, "homepage", None)
        values = {
            "title": source.title,
            "homepage": str(homepage) if homepage is not None else None,
            "kind": str(getattr(source, "kind", "")),
            "enabled": bool(getattr(source, "enabled", True)),
            "description": getattr(source, "description", None),
            "strengths": list(getattr(source, "strengths", None) or []),
            "licence": _licence_dict(getattr(source, "licence", None)),
            "updated_at": stamp,
        }
        row = session.get(SourceRow, source.id)
        if row is None:
            session.add(SourceRow(id=source.id, **values))
        else:
            for key, value in values.items():
                setattr(row, key, value)
        count += 1
    session.commit()
    return count


# --- crawl runs ----------------------------------------------------------------------------


def start_run(
    session: Session, source_id: str, *, started_at: datetime, trigger: str = "cli"
) -> int:
    """Record a new ``running`` crawl run for ``source_id``; commit; return its id."""
    run = CrawlRun(
        source_id=source_id,
        trigger=trigger,
        started_at=_aware(started_at, "started_at"),
        status="running",
        stats={},
    )
    session.add(run)
    session.commit()
    assert run.id is not None
    return run.id


def finish_run(
    session: Session,
    run_id: int,
    *,
    finished_at: datetime,
    status: str,
    stats: dict[str, Any],
    error: str | None = None,
) -> None:
    """Close run ``run_id`` with ``status`` and ``stats``; commit (including pending upserts).

    ``items``/``pages`` come from ``stats["items"]``/``stats["pages"]`` when given; ``items``
    otherwise counts the raw records this run touched.
    """
    if status not in RUN_STATUSES:
        raise ValueError(f"unknown run status {status!r}; expected one of {RUN_STATUSES}")
    run = session.get(CrawlRun, run_id)
    if run is None:
        raise KeyError(f"no crawl run with id {run_id}")
    session.flush()
    items = stats.get("items")
    if not isinstance(items, int):
        items = session.scalar(
            select(func.count()).select_from(RawRecordRow).where(RawRecordRow.last_run_id == run_id)
        )
    pages = stats.get("pages")
    run.finished_at = _aware(finished_at, "finished_at")
    run.status = status
    run.stats = dict(stats)
    run.error = error
    run.items = int(items or 0)
    run.pages = int(pages) if isinstance(pages, int) else run.pages
    session.commit()


def last_runs(session: Session, source_id: str | None = None, limit: int = 20) -> list[CrawlRun]:
    """Return the latest runs (newest first), of one source or of all."""
    stmt = select(CrawlRun).order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc()).limit(limit)  # type: ignore[union-attr,attr-defined]
    if source_id is not None:
        stmt = stmt.where(CrawlRun.source_id == source_id)
    return list(session.scalars(stmt))


def last_success(session: Session, source_id: str) -> CrawlRun | None:
    """Return the newest successful run of ``source_id``, or None."""
    stmt = (
        select(CrawlRun)
        .where(CrawlRun.source_id == source_id, CrawlRun.status == "success")
        .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())  # type: ignore[union-attr,attr-defined]
        .limit(1)
    )
    return session.scalars(stmt).first()


def successful_runs(session: Session, source_id: str, limit: int = 5) -> list[CrawlRun]:
    """Return the newest successful runs of ``source_id`` (newest first)."""
    stmt = (
        select(CrawlRun)
        .where(CrawlRun.source_id == source_id, CrawlRun.status == "success")
        .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())  # type: ignore[union-attr,attr-defined]
        .limit(limit)
    )
    return list(session.scalars(stmt))


def interrupt_stale_runs(
    session: Session, source_id: str, *, before: datetime, now: datetime
) -> list[int]:
    """Mark ``running`` runs of ``source_id`` started before ``before`` as ``interrupted``.

    Call it while holding the source's crawl lock, with ``before`` = the time the lock was
    acquired: a run still ``running`` from earlier belongs to a process that died (its
    records stay; the run just never finished). Commits; returns the run ids.
    """
    before, now = _aware(before, "before"), _aware(now, "now")
    stmt = select(CrawlRun.id).where(
        CrawlRun.source_id == source_id,
        CrawlRun.status == "running",
        CrawlRun.started_at < before,  # type: ignore[operator]
    )
    ids = [i for i in session.scalars(stmt) if i is not None]
    if ids:
        session.exec(
            update(CrawlRun)
            .where(CrawlRun.id.in_(ids), CrawlRun.status == "running")  # type: ignore[union-attr]
            .values(
                status="interrupted",
                finished_at=now,
                error="interrupted: the crawl process ended without finishing the run",
            )
        )
    session.commit()
    return ids


# --- freshness ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Freshness:
    """When a record that successful runs no longer see leaves the catalogue.

    A raw record is *stale* when at least ``max_missed_runs`` successful, complete
    (not ``truncated``) runs of its source have finished since the run that last saw it,
    or when at least one such run missed it and it was last seen ``max_days`` or more days
    ago. Failed and interrupted runs never count, so a source that is down removes nothing.
    Stale records are kept in ``raw_record`` (they come back when seen again); ``rebuild``
    leaves them out of offers, clusters and the search index.
    """

    max_missed_runs: int = 3
    max_days: float = 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Freshness:
        """``MINTSUCHE_STALE_RUNS`` and ``MINTSUCHE_STALE_DAYS`` (defaults 3 and 60)."""
        runs = env.get("MINTSUCHE_STALE_RUNS", "").strip()
        days = env.get("MINTSUCHE_STALE_DAYS", "").strip()
        try:
            rules = cls(
                max_missed_runs=int(runs) if runs else cls.max_missed_runs,
                max_days=float(days) if days else cls.max_days,
            )
        except ValueError as exc:
            raise ValueError(
                f"MINTSUCHE_STALE_RUNS must be an integer and MINTSUCHE_STALE_DAYS a number: {exc}"
            ) from None
        if rules.max_missed_runs < 1 or rules.max_days <= 0:
            raise ValueError("MINTSUCHE_STALE_RUNS must be >= 1 and MINTSUCHE_STALE_DAYS > 0")
        return rules


def stale_keys(
    session: Session, *, now: datetime, rules: Freshness | None = None
) -> dict[tuple[str, str], int]:
    """Return ``{(source_id, source_key): missed successful runs}`` of the stale records."""
    rules = rules or Freshness()
    now = _aware(now, "now")
    complete: dict[str, list[int]] = {}
    stmt = select(CrawlRun.id, CrawlRun.source_id, CrawlRun.stats).where(
        CrawlRun.status == "success"
    )
    for run_id, source_id, stats in session.exec(stmt):
        if run_id is not None and not (stats or {}).get("truncated"):
            complete.setdefault(source_id, []).append(run_id)
    for ids in complete.values():
        ids.sort()
    stale: dict[tuple[str, str], int] = {}
    rows = select(
        RawRecordRow.source_id,
        RawRecordRow.source_key,
        RawRecordRow.last_run_id,
        RawRecordRow.last_seen,
    )
    for source_id, source_key, last_run_id, last_seen in session.exec(rows):
        ids = complete.get(source_id)
        if not ids or last_run_id is None:
            continue
        missed = len(ids) - bisect_right(ids, last_run_id)
        if missed >= rules.max_missed_runs or (
            missed >= 1
            and last_seen is not None
            and now - last_seen >= timedelta(days=rules.max_days)
        ):
            stale[(source_id, source_key)] = missed
    return stale


# --- page states (conditional requests) ----------------------------------------------------


def get_page_state(session: Session, source_id: str, url: str) -> PageState | None:
    """Return the stored state of page ``url`` of ``source_id``, or None."""
    return session.get(PageState, (source_id, url))


def save_page_state(
    session: Session,
    source_id: str,
    url: str,
    *,
    etag: str | None,
    last_modified: str | None,
    body_hash: str,
    record_keys: list[str],
    parsed_at: datetime,
    filled: Mapping[str, int] | None = None,
) -> None:
    """Insert or replace the state of one page; commit."""
    row = session.get(PageState, (source_id, url))
    if row is None:
        row = PageState(source_id=source_id, url=url, body_hash=body_hash)
        session.add(row)
    row.etag, row.last_modified, row.body_hash = etag, last_modified, body_hash
    row.record_keys = list(record_keys)
    row.filled = dict(filled) if filled is not None else None
    row.parsed_at = _aware(parsed_at, "parsed_at")
    session.commit()


def count_raw_keys(session: Session, source_id: str, keys: Iterable[str]) -> int:
    """Return how many of the distinct ``keys`` of ``source_id`` are stored (no row is loaded)."""
    key_list = sorted(set(keys))
    found = 0
    for start in range(0, len(key_list), BATCH):
        chunk = key_list[start : start + BATCH]
        stmt = select(func.count()).where(
            RawRecordRow.source_id == source_id,
            RawRecordRow.source_key.in_(chunk),  # type: ignore[attr-defined]
        )
        found += int(session.execute(stmt).scalar_one())
    return found


def stored_raw_keys(session: Session, source_id: str, keys: Iterable[str]) -> set[str]:
    """Return those of ``keys`` that are stored for ``source_id`` (keys only, cheap)."""
    found: set[str] = set()
    key_list = sorted(set(keys))
    for start in range(0, len(key_list), BATCH):
        chunk = key_list[start : start + BATCH]
        stmt = select(RawRecordRow.source_key).where(
            RawRecordRow.source_id == source_id,
            RawRecordRow.source_key.in_(chunk),  # type: ignore[attr-defined]
        )
        found.update(session.exec(stmt).scalars())
    return found


def raw_records_by_key(
    session: Session, source_id: str, keys: Iterable[str], *, fetched_at: datetime | None = None
) -> dict[str, RawRecord]:
    """Return ``{source_key: RawRecord}`` for those of ``keys`` that are stored.

    ``fetched_at`` is the record's ``last_seen``, or the given time (then ``last_seen`` is
    not read at all: an unchanged page's records re-emitted with this run's time).
    """
    found: dict[str, RawRecord] = {}
    columns = [RawRecordRow.source_key, RawRecordRow.url, RawRecordRow.fields]
    columns += [RawRecordRow.content_hash, RawRecordRow.last_seen]
    if fetched_at is not None:
        fetched_at = _aware(fetched_at, "fetched_at")
        columns.pop()
    key_list = sorted(set(keys))
    for start in range(0, len(key_list), BATCH):
        chunk = key_list[start : start + BATCH]
        stmt = select(*columns).where(
            RawRecordRow.source_id == source_id,
            RawRecordRow.source_key.in_(chunk),  # type: ignore[attr-defined]
        )
        for row in session.execute(stmt):
            key, url, fields, content = row[0], row[1], row[2], row[3]
            seen = fetched_at if fetched_at is not None else row[4]
            found[key] = RawRecord(source_id, key, url, seen, dict(fields), content)
    return found


# --- crawl locks ---------------------------------------------------------------------------


def acquire_lock(
    session: Session, source_id: str, *, holder: str, now: datetime, ttl: timedelta
) -> bool:
    """Take the crawl lock of ``source_id`` for ``holder`` until ``now + ttl``; commit.

    Returns False when another holder has an unexpired lock. Atomic on SQLite and
    PostgreSQL: an expired (or own) lock is taken over with one conditional UPDATE; a
    missing one is created with an INSERT, and of two concurrent INSERTs the primary key
    lets only one succeed.
    """
    now = _aware(now, "now")
    values = {"holder": holder, "acquired_at": now, "expires_at": now + ttl}
    taken = session.exec(
        update(CrawlLock)
        .where(
            CrawlLock.source_id == source_id,
            (CrawlLock.expires_at <= now) | (CrawlLock.holder == holder),  # type: ignore[operator]
        )
        .values(**values)
    )
    if taken.rowcount == 1:
        session.commit()
        return True
    session.commit()
    try:
        session.exec(insert(CrawlLock).values(source_id=source_id, **values))
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


def refresh_lock(
    session: Session, source_id: str, *, holder: str, now: datetime, ttl: timedelta
) -> bool:
    """Extend ``holder``'s lock to ``now + ttl`` (heartbeat); False if it is no longer held."""
    now = _aware(now, "now")
    result = session.exec(
        update(CrawlLock)
        .where(CrawlLock.source_id == source_id, CrawlLock.holder == holder)
        .values(expires_at=now + ttl)
    )
    session.commit()
    return result.rowcount == 1


def release_lock(session: Session, source_id: str, *, holder: str) -> bool:
    """Drop ``holder``'s lock of ``source_id``; False if it did not hold it. Commits."""
    result = session.exec(
        delete(CrawlLock).where(CrawlLock.source_id == source_id, CrawlLock.holder == holder)
    )
    session.commit()
    return result.rowcount == 1


def list_locks(session: Session) -> list[CrawlLock]:
    """Return every crawl lock row (held or expired), ordered by source id."""
    return list(session.scalars(select(CrawlLock).order_by(CrawlLock.source_id)))


# --- raw records ---------------------------------------------------------------------------


def upsert_raw(session: Session, record: RawRecord, *, run_id: int) -> str:
    """Store one raw record; return ``"new"``, ``"changed"`` or ``"unchanged"``.

    Idempotent: the same record twice changes only ``last_seen`` (the record's
    ``fetched_at``) and ``last_run_id``; ``first_seen`` is kept. Flushes, does not commit.
    """
    return _upsert_batch(session, [record], run_id)[0]


def upsert_raw_all(
    session: Session, records: Iterable[RawRecord], *, run_id: int
) -> dict[str, int]:
    """Store many raw records in bulk; return counts ``{"new", "changed", "unchanged"}``.

    A record repeated within ``records`` counts once per occurrence; the last one wins.
    """
    counts = {NEW: 0, CHANGED: 0, UNCHANGED: 0}
    batch: list[RawRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) >= BATCH:
            for outcome in _upsert_batch(session, batch, run_id):
                counts[outcome] += 1
            batch = []
    if batch:
        for outcome in _upsert_batch(session, batch, run_id):
            counts[outcome] += 1
    return counts


def touch_raw(
    session: Session, source_id: str, keys: Iterable[str], *, seen: datetime, run_id: int
) -> int:
    """Mark stored records of ``source_id`` as seen again, unchanged; return how many.

    For records known to equal the stored ones (an unchanged page's records, read from
    the store in this run): the same effect as :func:`upsert_raw` with outcome
    ``"unchanged"`` (``last_seen`` and ``last_run_id`` set, content and ``first_seen``
    kept), in one ``UPDATE … WHERE source_id = ? AND source_key IN (…)`` per
    :data:`BATCH` keys instead of a lookup and one parameter set per record. Keys that
    are not stored are skipped (not counted). Flushes, does not commit.
    """
    seen = _aware(seen, "seen")
    session.flush()
    table = RawRecordRow.__table__  # type: ignore[attr-defined]
    key_list = sorted(set(keys))
    touched = 0
    for start in range(0, len(key_list), BATCH):
        chunk = key_list[start : start + BATCH]
        result = session.execute(
            update(table)
            .where(table.c.source_id == source_id, table.c.source_key.in_(chunk))
            .values(last_seen=seen, last_run_id=run_id)
        )
        touched += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return touched


def _upsert_batch(session: Session, records: list[RawRecord], run_id: int) -> list[str]:
    session.flush()
    # One ``source_id = ? AND source_key IN (…)`` per source: it searches the unique index;
    # a row-value ``(source_id, source_key) IN (…)`` scans the whole table on SQLite
    # (EXPLAIN QUERY PLAN: "SCAN raw_record"), a cost that grows with the catalogue.
    by_source: dict[str, set[str]] = {}
    for r in records:
        by_source.setdefault(r.source_id, set()).add(r.source_key)
    existing: dict[tuple[str, str], tuple[int, str]] = {}
    for source_id, source_keys in by_source.items():
        key_list = sorted(source_keys)
        for start in range(0, len(key_list), BATCH):
            chunk = key_list[start : start + BATCH]
            stmt = select(
                RawRecordRow.id, RawRecordRow.source_key, RawRecordRow.content_hash
            ).where(
                RawRecordRow.source_id == source_id,
                RawRecordRow.source_key.in_(chunk),  # type: ignore[attr-defined]
            )
            for row_id, source_key, content in session.exec(stmt):
                existing[(source_id, source_key)] = (row_id, content)

    outcomes: list[str] = []
    inserts: dict[tuple[str, str], dict[str, Any]] = {}
    updates: dict[int, dict[str, Any]] = {}
    for record in records:
        key = (record.source_id, record.source_key)
        seen = _aware(record.fetched_at, "record.fetched_at")
        if key in inserts:  # repeated within this batch
            outcome = UNCHANGED if inserts[key]["content_hash"] == record.content_hash else CHANGED
            first_seen = inserts[key]["first_seen"]
            inserts[key] = _raw_values(record, seen, run_id) | {"first_seen": first_seen}
        elif key in existing:
            row_id, old_hash = existing[key]
            if old_hash == record.content_hash:
                outcome = UNCHANGED
                values = {"id": row_id, "last_seen": seen, "last_run_id": run_id}
            else:
                outcome = CHANGED
                values = {"id": row_id} | _raw_values(record, seen, run_id)
                values.pop("first_seen")
                values.pop("source_id")
                values.pop("source_key")
            existing[key] = (row_id, record.content_hash)
            updates[row_id] = updates.get(row_id, {}) | values
        else:
            outcome = NEW
            inserts[key] = _raw_values(record, seen, run_id)
        outcomes.append(outcome)

    # Core executemany statements (no ORM bulk bookkeeping per row; about 10 % less CPU
    # per batch in a micro benchmark), cheaper still on SQLite (see ``_executemany``).
    table = RawRecordRow.__table__  # type: ignore[attr-defined]
    if inserts:
        _executemany(session, ("raw_insert",), lambda: insert(table), list(inserts.values()))
    if updates:
        # group by key set: an executemany needs the same columns in every row
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for values in updates.values():
            groups.setdefault(tuple(sorted(values)), []).append(values)
        for columns, rows in groups.items():

            def build(columns: tuple[str, ...] = columns) -> Any:
                return (
                    update(table)
                    .where(table.c.id == bindparam("row_id"))
                    .values({c: bindparam(c) for c in columns if c != "id"})
                )

            params = [{**r, "row_id": r["id"]} for r in rows]
            _executemany(session, ("raw_update", columns), build, params)
    return outcomes


#: per SQLite dialect: (statement key, parameter names) -> (SQL, bind names, processors)
_EXECUTEMANY: weakref.WeakKeyDictionary[Any, dict[Any, Any]] = weakref.WeakKeyDictionary()


def _executemany(
    session: Session, key: tuple[Any, ...], build: Callable[[], Any], rows: list[dict[str, Any]]
) -> None:
    """``session.execute(build(), rows)``: one executemany, in the session's transaction.

    On SQLite the statement is compiled once per process and the rows go straight to the
    driver's ``executemany``: every value still passes its column type's own bind
    processor (the stored values are exactly SQLAlchemy's; ``tests/test_crawl_store_paths``
    compares both paths), but without SQLAlchemy's per-row parameter bookkeeping, and a
    datetime repeated within the rows (a new record's ``fetched_at``, ``first_seen`` and
    ``last_seen``) is converted once. That is about a third less CPU per bulk insert, the
    largest part of the crawl pipeline's own cost. Other dialects take the generic path.
    """
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name != "sqlite" or not rows:
        if rows:
            session.execute(build(), rows)
        return
    names = tuple(rows[0])
    cache = _EXECUTEMANY.setdefault(dialect, {})
    entry = cache.get((key, names))
    if entry is None:
        compiled = build().compile(dialect=dialect, column_keys=list(names))
        order = tuple(compiled.positiontup or ())
        processors = [
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in order
        ]
        entry = cache[(key, names)] = (compiled.string, list(zip(order, processors, strict=True)))
    sql, slots = entry
    converted: dict[datetime, Any] = {}
    params: list[tuple[Any, ...]] = []
    for row in rows:
        values = []
        for name, process in slots:
            value = row[name]
            if process is not None and value is not None:
                if value.__class__ is datetime:
                    done = converted.get(value)
                    if done is None:
                        done = converted[value] = process(value)
                    value = done
                else:
                    value = process(value)
            values.append(value)
        params.append(tuple(values))
    connection.exec_driver_sql(sql, params)


def _raw_values(record: RawRecord, seen: datetime, run_id: int) -> dict[str, Any]:
    return {
        "source_id": record.source_id,
        "source_key": record.source_key,
        "url": record.url,
        "fields": dict(record.fields),
        "content_hash": record.content_hash,
        "fetched_at": seen,
        "first_seen": seen,
        "last_seen": seen,
        "last_run_id": run_id,
    }


def iter_raw(session: Session, source_ids: Iterable[str] | None = None) -> Iterator[RawRecord]:
    """Yield the stored raw records as :class:`RawRecord`, ordered by source id and key.

    ``fetched_at`` is the time the record was last seen.
    """
    stmt = select(
        RawRecordRow.source_id,
        RawRecordRow.source_key,
        RawRecordRow.url,
        RawRecordRow.last_seen,
        RawRecordRow.fields,
        RawRecordRow.content_hash,
    ).order_by(RawRecordRow.source_id, RawRecordRow.source_key)
    if source_ids is not None:
        stmt = stmt.where(RawRecordRow.source_id.in_(list(source_ids)))  # type: ignore[attr-defined]
    for source_id, source_key, url, last_seen, fields, content in session.exec(
        stmt.execution_options(yield_per=1000)
    ):
        yield RawRecord(source_id, source_key, url, last_seen, dict(fields), content)


def raw_ids(session: Session) -> dict[tuple[str, str], int]:
    """Return ``{(source_id, source_key): raw record id}`` (to fill ``OfferRow.raw_id``)."""
    stmt = select(RawRecordRow.source_id, RawRecordRow.source_key, RawRecordRow.id)
    return {(s, k): i for s, k, i in session.exec(stmt)}


# --- derived tables ------------------------------------------------------------------------

_OFFER_COLUMNS = frozenset(OfferRow.__table__.columns.keys()) - {"id"}  # type: ignore[attr-defined]
_CLUSTER_COLUMNS = frozenset(ClusterRow.__table__.columns.keys())  # type: ignore[attr-defined]


def _defaults(model: type[SQLModel], columns: frozenset[str]) -> dict[str, Callable[[], Any]]:
    """Return ``{column: factory of its default}`` for the model's columns that have one."""
    defaults: dict[str, Callable[[], Any]] = {}
    for name, info in model.model_fields.items():
        if name not in columns:
            continue
        if info.default_factory is not None:
            defaults[name] = info.default_factory  # type: ignore[assignment]
        elif info.default is not PydanticUndefined:
            defaults[name] = lambda value=info.default: value
    return defaults


def _rows(
    items: Iterable[Mapping[str, Any] | Any],
    columns: frozenset[str],
    defaults: dict[str, Callable[[], Any]],
) -> Iterator[dict[str, Any]]:
    """Turn mappings/models into insert rows: known columns only, defaults for gaps."""
    for item in items:
        if not isinstance(item, Mapping):
            dump = getattr(item, "model_dump", None)
            item = dump() if callable(dump) else vars(item)
        row = {key: value for key, value in item.items() if key in columns}
        for key, factory in defaults.items():
            if row.get(key) is None:
                row[key] = factory()
        yield row


_OFFER_DEFAULTS = _defaults(OfferRow, _OFFER_COLUMNS)
_CLUSTER_DEFAULTS = _defaults(ClusterRow, _CLUSTER_COLUMNS)


def _bulk_insert(session: Session, table: Any, rows: Iterable[dict[str, Any]]) -> int:
    count = 0
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            session.exec(insert(table), params=batch)
            count += len(batch)
            batch = []
    if batch:
        session.exec(insert(table), params=batch)
        count += len(batch)
    return count


def publish_catalogue(
    session: Session,
    offers: Iterable[Mapping[str, Any] | Any],
    clusters: Iterable[Mapping[str, Any]],
    state: Mapping[str, str],
) -> tuple[int, int]:
    """Replace offers and clusters and set the ``catalog_state`` keys in ONE transaction.

    A reader therefore sees either the old catalogue or the new one, never offers of one
    and clusters of the other. Commits; on an error nothing changes. Returns the numbers
    of offers and clusters written.

    Each offer is a mapping (or a pydantic model) with the ``NormalizedOffer`` fields plus
    optional ``raw_id``, ``cluster_id`` and ``content_hash``; each cluster a mapping with
    the :class:`ClusterRow` columns, whose ``fields`` may hold dedupe's ``MergedField``
    dataclasses (stored as JSON objects). Unknown keys are ignored.
    """
    try:
        session.exec(delete(OfferRow))
        offer_count = _bulk_insert(
            session, OfferRow, _rows(offers, _OFFER_COLUMNS, _OFFER_DEFAULTS)
        )
        session.exec(delete(ClusterRow))
        cluster_count = _bulk_insert(
            session, ClusterRow, _rows(clusters, _CLUSTER_COLUMNS, _CLUSTER_DEFAULTS)
        )
        for key, value in state.items():
            session.merge(CatalogState(key=key, value=value))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return offer_count, cluster_count


def catalog_state(session: Session) -> dict[str, str]:
    """Return the ``catalog_state`` keys of the published catalogue (empty before the first)."""
    return {row.key: row.value for row in session.scalars(select(CatalogState))}


def offer_hashes(session: Session) -> dict[tuple[str, str], str | None]:
    """Return ``{(source_id, source_key): content_hash}`` of the published offers."""
    stmt = select(OfferRow.source_id, OfferRow.source_key, OfferRow.content_hash)
    return {(s, k): h for s, k, h in session.exec(stmt)}


def published_clusters(
    session: Session,
) -> list[tuple[str, list[tuple[str, str]], dict[str, Any]]]:
    """Return every cluster as ``(id, sorted member keys, fields JSON)``, ordered by id."""
    members: dict[str, list[tuple[str, str]]] = {}
    stmt = select(OfferRow.cluster_id, OfferRow.source_id, OfferRow.source_key).where(
        OfferRow.cluster_id.is_not(None)  # type: ignore[union-attr]
    )
    for cluster_id, source_id, source_key in session.exec(stmt):
        members.setdefault(cluster_id, []).append((source_id, source_key))
    rows = session.exec(select(ClusterRow.id, ClusterRow.fields).order_by(ClusterRow.id))
    return [(cid, sorted(members.get(cid, [])), dict(fields or {})) for cid, fields in rows]


def offer_counts_by_source(session: Session) -> dict[str, int]:
    """Return ``{source_id: number of offers}``."""
    stmt = select(OfferRow.source_id, func.count()).group_by(OfferRow.source_id)
    return {source_id: count for source_id, count in session.exec(stmt)}


def get_cluster(session: Session, cluster_id: str) -> ClusterRow | None:
    """Return the cluster ``cluster_id`` or None."""
    return session.get(ClusterRow, cluster_id)


def offers_of_cluster(session: Session, cluster_id: str) -> list[OfferRow]:
    """Return the offers of one cluster, ordered by source id and key."""
    stmt = (
        select(OfferRow)
        .where(OfferRow.cluster_id == cluster_id)
        .order_by(OfferRow.source_id, OfferRow.source_key)
    )
    return list(session.scalars(stmt))


def cluster_with_offers(
    session: Session, cluster_id: str
) -> tuple[ClusterRow, list[OfferRow]] | None:
    """Return the cluster ``cluster_id`` and its offers (by source id and key), or None.

    One SELECT (a join), so the cluster and its offers always come from the same published
    catalogue, even while :func:`publish_catalogue` replaces it (SQLite and PostgreSQL
    give each statement one consistent snapshot).
    """
    stmt = (
        select(ClusterRow, OfferRow)
        .join(OfferRow, OfferRow.cluster_id == ClusterRow.id, isouter=True)  # type: ignore[arg-type]
        .where(ClusterRow.id == cluster_id)
        .order_by(OfferRow.source_id, OfferRow.source_key)
    )
    rows = session.exec(stmt).all()
    if not rows:
        return None
    return rows[0][0], [offer for _, offer in rows if offer is not None]


def previous_cluster_ids(session: Session) -> dict[tuple[str, str], str]:
    """Return ``{(source_id, source_key): cluster id}`` of the current offers.

    Dedupe takes this as ``previous`` so that cluster ids stay stable across rebuilds.
    """
    stmt = select(OfferRow.source_id, OfferRow.source_key, OfferRow.cluster_id).where(
        OfferRow.cluster_id.is_not(None)  # type: ignore[union-attr]
    )
    return {(s, k): c for s, k, c in session.exec(stmt)}


def cluster_members(session: Session) -> Iterator[dict[str, Any]]:
    """Yield every cluster with its members as plain JSON values, ordered by cluster id.

    ``{"id", "title", "platforms", "members": [{"source_id", "source_key", "title",
    "url"}, …]}``.
    """
    members: dict[str, list[dict[str, Any]]] = {}
    stmt = select(
        OfferRow.cluster_id, OfferRow.source_id, OfferRow.source_key, OfferRow.title, OfferRow.url
    ).order_by(OfferRow.cluster_id, OfferRow.source_id, OfferRow.source_key)
    for cluster_id, source_id, source_key, title, url in session.exec(stmt):
        members.setdefault(cluster_id, []).append(
            {"source_id": source_id, "source_key": source_key, "title": title, "url": url}
        )
    clusters = select(ClusterRow.id, ClusterRow.title, ClusterRow.platforms).order_by(ClusterRow.id)
    for cluster_id, title, platforms in session.exec(clusters):
        yield {
            "id": cluster_id,
            "title": title,
            "platforms": list(platforms or []),
            "members": members.get(cluster_id, []),
        }


def raw_seen(session: Session, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], datetime]:
    """Return ``{(source_id, source_key): last_seen}`` for those of ``keys`` that are stored."""
    key_list = sorted(set(keys))
    seen: dict[tuple[str, str], datetime] = {}
    for start in range(0, len(key_list), BATCH):
        chunk = key_list[start : start + BATCH]
        stmt = select(
            RawRecordRow.source_id, RawRecordRow.source_key, RawRecordRow.last_seen
        ).where(tuple_(RawRecordRow.source_id, RawRecordRow.source_key).in_(chunk))
        for source_id, source_key, last_seen in session.exec(stmt):
            seen[(source_id, source_key)] = last_seen
    return seen


def list_sources(session: Session) -> list[SourceRow]:
    """Return all known sources ordered by title (then id)."""
    stmt = select(SourceRow).order_by(SourceRow.title, SourceRow.id)
    return list(session.scalars(stmt))
