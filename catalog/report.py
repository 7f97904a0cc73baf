"""Read-only queries for the coverage report (``mintsuche report``, ``/betrieb/abdeckung``).

Nothing here writes. The stored offers come back as ``NormalizedOffer`` (the columns of
:class:`OfferRow` that are ``NormalizedOffer`` fields), so ``normalize.coverage`` can
measure what the catalogue actually holds. Raw and normalized values are linked by
``(source_id, source_key)``, the identity both tables share.

Errors: SQLAlchemy's own exceptions pass through (e.g. a database without tables).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from catalog.schema import OfferRow, RawRecordRow
from crawlers.records import RawRecord
from normalize.record import NormalizedOffer

__all__ = [
    "STORED_FIELDS",
    "RawAndNormalized",
    "count_offers",
    "iter_raw_records",
    "iter_stored_offers",
    "sample_raw_and_normalized",
]

_OFFER_COLUMNS = frozenset(OfferRow.__table__.columns.keys())  # type: ignore[attr-defined]

#: ``NormalizedOffer`` fields that ``OfferRow`` stores (in model order).
STORED_FIELDS: tuple[str, ...] = tuple(
    f for f in NormalizedOffer.model_fields if f in _OFFER_COLUMNS
)


def _offer(row: OfferRow) -> NormalizedOffer:
    values = {name: getattr(row, name) for name in STORED_FIELDS}
    return NormalizedOffer.model_validate(values)


def iter_stored_offers(
    session: Session, source_ids: list[str] | None = None
) -> Iterator[NormalizedOffer]:
    """Every stored offer as a ``NormalizedOffer``, ordered by source id and key."""
    stmt = select(OfferRow).order_by(OfferRow.source_id, OfferRow.source_key)
    if source_ids:
        stmt = stmt.where(OfferRow.source_id.in_(source_ids))  # type: ignore[attr-defined]
    for row in session.scalars(stmt.execution_options(yield_per=1000)):
        yield _offer(row)


def count_offers(session: Session) -> dict[str, int]:
    """``{source_id: number of stored offers}``."""
    stmt = select(OfferRow.source_id, func.count()).group_by(OfferRow.source_id)
    return {source_id: count for source_id, count in session.execute(stmt)}


def iter_raw_records(session: Session, source_ids: list[str] | None = None) -> Iterator[RawRecord]:
    """Every stored raw record, verbatim, ordered by source id and key."""
    stmt = select(
        RawRecordRow.source_id,
        RawRecordRow.source_key,
        RawRecordRow.url,
        RawRecordRow.fetched_at,
        RawRecordRow.last_seen,
        RawRecordRow.fields,
        RawRecordRow.content_hash,
    ).order_by(RawRecordRow.source_id, RawRecordRow.source_key)
    if source_ids:
        stmt = stmt.where(RawRecordRow.source_id.in_(source_ids))  # type: ignore[attr-defined]
    for sid, key, url, fetched, last_seen, fields, digest in session.execute(
        stmt.execution_options(yield_per=1000)
    ):
        yield RawRecord(sid, key, url, fetched or last_seen, dict(fields or {}), digest)


@dataclass
class RawAndNormalized:
    """One offer: its raw fields as the spider yielded them, next to the stored values."""

    source_id: str
    source_key: str
    raw: dict[str, Any]
    offer: NormalizedOffer


def sample_raw_and_normalized(
    session: Session, source_id: str, *, limit: int = 3
) -> list[RawAndNormalized]:
    """The first ``limit`` offers of a source (by key) with their raw records.

    Offers with values that mapped to nothing come first, since those are what an operator
    looks at; an offer whose raw record is gone (it cannot be) would be left out.
    """
    offers = list(iter_stored_offers(session, [source_id]))
    offers.sort(key=lambda o: (not o.unmapped, o.source_key))
    chosen = offers[: max(limit, 0)]
    if not chosen:
        return []
    keys = [o.source_key for o in chosen]
    stmt = select(RawRecordRow.source_key, RawRecordRow.fields).where(
        RawRecordRow.source_id == source_id,
        RawRecordRow.source_key.in_(keys),  # type: ignore[attr-defined]
    )
    raw = {key: dict(fields or {}) for key, fields in session.execute(stmt)}
    return [
        RawAndNormalized(o.source_id, o.source_key, raw[o.source_key], o)
        for o in chosen
        if o.source_key in raw
    ]


# --- the whole report ------------------------------------------------------------------------

#: German labels of the headline measures (``normalize.coverage.HEADLINE``).
HEADLINE_LABELS: dict[str, str] = {
    "coordinates": "mit Koordinaten",
    "subject": "mit mind. einem Fach",
    "format": "mit Format",
    "ages_or_grades": "mit Alter oder Klassenstufe",
    "cost_kind_known": "mit Kostenart (nicht unbekannt)",
}

#: Raw fields next to the normalized fields they become, for the side-by-side sample.
SIDE_BY_SIDE: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "Ort",
        ("street", "house_number", "plz", "city", "address", "district", "bundesland",
         "lat", "lon", "wkt"),
        ("street", "plz", "city", "district", "bundesland", "landkreis", "lat", "lon"),
    ),
    ("Fächer und Formate", ("subjects", "formats", "tags", "gta"), ("subjects", "formats")),
    (
        "Zielgruppe",
        ("audience",),
        ("age_min", "age_max", "grade_min", "grade_max", "groups", "girls"),
    ),
    ("Kosten", ("costs",), ("cost_kind", "price_eur")),
    ("Termine", ("dates",), ("start", "end")),
)  # fmt: skip


def _shown(value: Any) -> str:
    if value is None or value == [] or value == "":
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "ja" if value else ""
    return str(value)


def _pairs(names: tuple[str, ...], values: dict[str, Any]) -> list[list[str]]:
    return [[n, _shown(values.get(n))] for n in names if _shown(values.get(n))]


def _sample_json(item: RawAndNormalized) -> dict[str, Any]:
    normalized = item.offer.model_dump(mode="json")
    rows = []
    for label, raw_names, norm_names in SIDE_BY_SIDE:
        raw = _pairs(raw_names, item.raw)
        norm = _pairs(norm_names, normalized)
        if raw or norm:
            rows.append({"label": label, "raw": raw, "normalized": norm})
    return {
        "source_key": item.source_key,
        "title": item.offer.title,
        "rows": rows,
        "unmapped": item.offer.unmapped,
    }


def build_report(session: Session, *, top: int = 10, samples: int = 3) -> dict[str, Any]:
    """The coverage report of the stored catalogue as plain JSON values.

    ``{"offers", "raw_records", "headline_labels", "fields", "sources": [...], "total"}``;
    each source (and ``total``, source id ``"*"``) has ``offers``, ``headline`` and
    ``fields`` (percentages), ``unmapped`` (``{field: [[value, count], …]}``, the ``top``
    most frequent), ``unread_raw`` (raw fields normalization does not read) and
    ``samples`` (raw next to normalized values; not for the total).
    """
    from normalize.coverage import HEADLINE, SourceCoverage, coverage_report, unread_raw_fields

    coverage = coverage_report(iter_stored_offers(session), top=top)
    raw_records = list(iter_raw_records(session))
    unread = unread_raw_fields(raw_records, top=min(top, 5))
    raw_counts: dict[str, int] = {}
    for record in raw_records:
        raw_counts[record.source_id] = raw_counts.get(record.source_id, 0) + 1
    fields = [f for f in STORED_FIELDS if f not in ("source_id", "source_key")]

    def entry(cov: Any) -> dict[str, Any]:
        is_total = cov.source_id == "*"
        return {
            "source_id": cov.source_id,
            "offers": cov.offers,
            "raw_records": len(raw_records) if is_total else raw_counts.get(cov.source_id, 0),
            "headline": dict(cov.headline),
            "fields": {f: cov.fields[f] for f in fields if f in cov.fields},
            "unmapped": {k: [[v, n] for v, n in vs] for k, vs in cov.unmapped.items()},
            "unread_raw": []
            if is_total
            else [
                {"name": u.name, "filled": u.filled, "top": [[v, n] for v, n in u.top]}
                for u in unread.get(cov.source_id, [])
            ],
            "samples": []
            if is_total
            else [
                _sample_json(s)
                for s in sample_raw_and_normalized(session, cov.source_id, limit=samples)
            ],
        }

    entries = [entry(c) for c in coverage]
    total = entries.pop()
    # a source whose raw records all failed or went stale has no offers: shown with 0 %
    covered = {e["source_id"] for e in entries}
    for source_id in sorted(set(raw_counts) - covered):
        empty = SourceCoverage(
            source_id,
            0,
            {name: 0.0 for name in HEADLINE},
            {name: 0.0 for name in fields},
            {},
        )
        entries.append(entry(empty))
    entries.sort(key=lambda e: e["source_id"])
    return {
        "offers": total["offers"],
        "raw_records": len(raw_records),
        "headline_labels": HEADLINE_LABELS,
        "fields": fields,
        "sources": entries,
        "total": total,
    }
