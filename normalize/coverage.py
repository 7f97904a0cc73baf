"""Coverage of normalized offers: per source and field, and the labels that mapped to nothing.

``coverage_report(offers)`` is pure and feeds ``mintsuche report`` and the operator page
(issue 3): per source, the share of offers with coordinates, with at least one subject, with
a format, with audience ages or grades, and with a cost kind other than ``unknown``; the
share of offers with a value for every ``NormalizedOffer`` field; and, per field, the most
frequent values kept in ``unmapped``. ``"*"`` is the total over all sources.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from normalize.record import NormalizedOffer

__all__ = ["HEADLINE", "SourceCoverage", "coverage_report"]

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


def _filled(value: object) -> bool:
    if value is None or value is False:
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
    fields = {name: pct(sum(1 for o in offers if _filled(getattr(o, name)))) for name in names}
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
