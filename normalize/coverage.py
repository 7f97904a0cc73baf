"""Coverage of normalized offers: per source and field, and the labels that mapped to nothing.

``coverage_report(offers)`` is pure and feeds ``mintsuche report`` and the operator page
(issue 3): per source, the share of offers with coordinates, with at least one subject, with
a format, with audience ages or grades, and with a cost kind other than ``unknown``; the
share of offers with a value for every ``NormalizedOffer`` field; and, per field, the most
frequent values kept in ``unmapped``. ``"*"`` is the total over all sources.

``unread_raw_fields(records)`` covers the other way a value can get lost: raw fields that
``normalize_record`` does not read at all (``RAW_FIELDS_READ``), per source with their fill
rate and most frequent values.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from crawlers.records import RawRecord
from normalize.record import RAW_FIELDS_READ, NormalizedOffer

__all__ = ["HEADLINE", "RawFieldUse", "SourceCoverage", "coverage_report", "unread_raw_fields"]

# headline measures: name -> predicate
HEADLINE: dict[str, Callable[[NormalizedOffer], bool]] = {
    "coordinates": lambda o: o.lat is not None and o.lon is not None,
    "subject": lambda o: bool(o.subjects),
    "format": lambda o: bool(o.formats),
    "ages_or_grades": lambda o: any(
        v is not None for v in (o.age_min, o.age_max, o.grade_min, o.grade_max)
    ),
    "cost_kind_known": lambda o: o.cost_kind != "unknown",
}

_IDENTITY = {"source_id", "source_key"}


# a field's value that means "nothing stated" (cost_kind always has one)
_EMPTY_VALUE = {"cost_kind": "unknown"}


def _filled(value: object, name: str = "") -> bool:
    if value is None or value is False or (name in _EMPTY_VALUE and value == _EMPTY_VALUE[name]):
        return False
    if isinstance(value, (str, list, dict)):
        return bool(value)
    return True


@dataclass
class SourceCoverage:
    """Coverage of one source (or ``"*"`` for all): shares are percentages, 0-100."""

    source_id: str
    offers: int = 0
    headline: dict[str, float] = field(default_factory=dict)
    fields: dict[str, float] = field(default_factory=dict)
    unmapped: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def _measure(source_id: str, offers: list[NormalizedOffer], top: int) -> SourceCoverage:
    n = len(offers)

    def pct(count: int) -> float:
        return round(100.0 * count / n, 1) if n else 0.0

    headline = {
        name: pct(sum(1 for o in offers if predicate(o))) for name, predicate in HEADLINE.items()
    }
    names = [f for f in NormalizedOffer.model_fields if f not in _IDENTITY]
    fields = {
        name: pct(sum(1 for o in offers if _filled(getattr(o, name), name))) for name in names
    }
    counters: dict[str, Counter[str]] = defaultdict(Counter)
    for offer in offers:
        for name, values in offer.unmapped.items():
            counters[name].update(values)
    unmapped = {name: counter.most_common(top) for name, counter in sorted(counters.items())}
    return SourceCoverage(source_id, n, headline, fields, unmapped)


def coverage_report(offers: Iterable[NormalizedOffer], *, top: int = 10) -> list[SourceCoverage]:
    """Coverage per source (sorted by id), then the total ``"*"``; ``top`` unmapped values."""
    by_source: dict[str, list[NormalizedOffer]] = defaultdict(list)
    everything: list[NormalizedOffer] = []
    for offer in offers:
        by_source[offer.source_id].append(offer)
        everything.append(offer)
    report = [_measure(sid, by_source[sid], top) for sid in sorted(by_source)]
    report.append(_measure("*", everything, top))
    return report


@dataclass
class RawFieldUse:
    """A raw field that normalization does not read: share of records with a value (0-100)
    and its most frequent values (lists joined with ", ")."""

    name: str
    filled: float
    top: list[tuple[str, int]]


def _raw_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v).strip() for v in value if v is not None and str(v).strip())
    return str(value).strip()


def unread_raw_fields(
    records: Iterable[RawRecord], *, top: int = 5
) -> dict[str, list[RawFieldUse]]:
    """Per source id (sorted), the raw fields outside ``RAW_FIELDS_READ`` that occur, by name."""
    totals: Counter[str] = Counter()
    values: dict[str, dict[str, Counter[str]]] = defaultdict(dict)
    for record in records:
        totals[record.source_id] += 1
        per_field = values[record.source_id]
        for name, value in (record.fields or {}).items():
            if name in RAW_FIELDS_READ:
                continue
            counter = per_field.setdefault(name, Counter())
            text = _raw_value(value)
            if text:
                counter[text] += 1
    report: dict[str, list[RawFieldUse]] = {}
    for source_id in sorted(totals):
        n = totals[source_id]
        report[source_id] = [
            RawFieldUse(
                name,
                round(100.0 * sum(counter.values()) / n, 1),
                counter.most_common(top),
            )
            for name, counter in sorted(values[source_id].items())
        ]
    return report
