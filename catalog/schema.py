"""Table models of the catalogue (SQLModel, SQLite and PostgreSQL).

- :class:`SourceRow`: one platform from ``sources.yaml`` (mirrored by ``store.sync_sources``).
- :class:`CrawlRun`: one crawl of one source (status ``running|success|failed|interrupted``).
- :class:`RawRecordRow`: a raw record as the spider yielded it, unique per
  ``(source_id, source_key)``; kept verbatim so normalization can be re-run.
- :class:`OfferRow`: a normalized offer (all ``NormalizedOffer`` fields), derived.
- :class:`ClusterRow`: one catalogue entry (deduplicated offers) with merged fields and
  their provenance, derived.
- :class:`PageState`: validators and hash of a parsed page, for conditional requests.
- :class:`CrawlLock`: the database lock that keeps two runs of one source apart, also
  across scheduler processes.

These are table models: they do not validate. Validate with the stages' data models
(``NormalizedOffer``) first, then build rows. Datetimes are timezone-aware and stored as
UTC (:class:`UTCDateTime`); list and dict fields are JSON columns.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

RUN_STATUSES = ("running", "success", "failed", "interrupted")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored as UTC; naive values are rejected."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; pass a timezone-aware one")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _dt(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def _json(default_factory: Any = list) -> Any:
    return Field(default_factory=default_factory, sa_column=Column(JSON, nullable=False))


class SourceRow(SQLModel, table=True):
    """A platform we harvest (mirror of one ``sources.yaml`` entry)."""

    __tablename__ = "source"

    id: str = Field(primary_key=True)
    title: str
    homepage: str | None = None
    kind: str
    enabled: bool = True
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    strengths: list[str] = _json(list)
    licence: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    updated_at: datetime | None = _dt()


class CrawlRun(SQLModel, table=True):
    """One crawl of one source."""

    __tablename__ = "crawl_run"

    id: int | None = Field(default=None, primary_key=True)
    source_id: str = Field(index=True)
    trigger: str = "cli"
    started_at: datetime | None = _dt(nullable=False, index=True)
    finished_at: datetime | None = _dt()
    status: str = "running"
    items: int = 0
    pages: int = 0
    stats: dict[str, Any] = _json(dict)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class RawRecordRow(SQLModel, table=True):
    """A raw record, verbatim; identity is ``(source_id, source_key)``."""

    __tablename__ = "raw_record"
    __table_args__ = (UniqueConstraint("source_id", "source_key", name="uq_raw_source_key"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: str = Field(index=True)
    source_key: str
    url: str
    fields: dict[str, Any] = _json(dict)
    content_hash: str
    fetched_at: datetime | None = _dt()
    first_seen: datetime | None = _dt(nullable=False)
    last_seen: datetime | None = _dt(nullable=False)
    last_run_id: int | None = Field(default=None, index=True)


class OfferRow(SQLModel, table=True):
    """A normalized offer (``NormalizedOffer``) plus its raw record and cluster."""

    __tablename__ = "offer"
    __table_args__ = (UniqueConstraint("source_id", "source_key", name="uq_offer_source_key"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: str = Field(index=True)
    source_key: str
    url: str | None = None
    title: str
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    provider: str | None = None
    website: str | None = None
    street: str | None = None
    plz: str | None = None
    city: str | None = None
    district: str | None = None
    bundesland: str | None = None
    landkreis: str | None = None
    lat: float | None = None
    lon: float | None = None
    subjects: list[str] = _json(list)
    formats: list[str] = _json(list)
    unmapped: dict[str, list[str]] = _json(dict)
    audience_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    age_min: int | None = None
    age_max: int | None = None
    grade_min: int | None = None
    grade_max: int | None = None
    groups: list[str] = _json(list)
    girls: bool = False
    costs_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    cost_kind: str = "unknown"
    price_eur: float | None = None
    dates_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    start: date | None = None
    end: date | None = None
    raw_id: int | None = Field(default=None, index=True)
    cluster_id: str | None = Field(default=None, index=True)
    #: hash of the normalized offer as the last rebuild saw it (incremental dedupe)
    content_hash: str | None = None


class ClusterRow(SQLModel, table=True):
    """A catalogue entry: deduplicated offers with merged fields and provenance.

    ``fields`` maps a field name to ``{"value", "sources", "conflict"}`` (dedupe's
    ``MergedField``); ``platforms`` lists the source ids of the members.
    """

    __tablename__ = "cluster"

    id: str = Field(primary_key=True)
    title: str
    provider: str | None = None
    city: str | None = None
    plz: str | None = None
    bundesland: str | None = None
    lat: float | None = None
    lon: float | None = None
    subjects: list[str] = _json(list)
    formats: list[str] = _json(list)
    platforms: list[str] = _json(list)
    member_count: int = 0
    fields: dict[str, Any] = _json(dict)
    published: bool = True
    unpublished_reason: str | None = None
    first_seen: datetime | None = _dt()
    last_seen: datetime | None = _dt()


class CrawlLock(SQLModel, table=True):
    """Who is crawling a source right now (one row per source; see ``store.acquire_lock``).

    A lock whose ``expires_at`` has passed belongs to a process that died (or stopped
    heartbeating) and may be taken over.
    """

    __tablename__ = "crawl_lock"

    source_id: str = Field(primary_key=True)
    holder: str
    acquired_at: datetime | None = _dt(nullable=False)
    expires_at: datetime | None = _dt(nullable=False)


class PageState(SQLModel, table=True):
    """What a page looked like when it was last parsed (conditional requests, page hashes).

    ``record_keys`` are the source keys of the records parsing it gave; when the page is
    unchanged (HTTP 304 on ``etag``/``last_modified``, or the same ``body_hash``) those
    stored records are emitted again instead of parsing it (``crawlers.middleware``).
    """

    __tablename__ = "page_state"

    source_id: str = Field(primary_key=True)
    url: str = Field(primary_key=True)
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str
    record_keys: list[str] = _json(list)
    #: per field, how many of those records have it non-empty (``RunTally.add``); lets an
    #: unchanged page count its coverage without loading its records (None: not known)
    filled: dict[str, int] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    parsed_at: datetime | None = _dt()


class CatalogState(SQLModel, table=True):
    """What the published catalogue is: one row per key, written in the same transaction
    as the offers and clusters it describes (see ``store.publish_catalogue``).

    Keys: ``index_generation`` (the search-index generation built for these rows),
    ``dedupe_fingerprint`` (rules and overrides the clusters were made with),
    ``published_at`` (ISO 8601).
    """

    __tablename__ = "catalog_state"

    key: str = Field(primary_key=True)
    value: str
