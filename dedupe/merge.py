"""The canonical entry of a cluster: one value per field, with per-member provenance.

For each field the chosen value is the most frequent non-empty value among the members
(values compared case- and whitespace-insensitively); ties go to the source listed first
in *priority*, then to the longest value, then to the member that comes first. List
fields (subjects, formats, groups) are merged as sorted unions; ``girls`` is true if any
member says so; ``lat``/``lon`` are chosen together from one member. ``platforms`` lists
the source ids of the members.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dedupe.model import OfferLike, member_key

__all__ = ["LIST_FIELDS", "SCALAR_FIELDS", "MergedField", "merge_offers"]

#: Fields merged by choosing one value.
SCALAR_FIELDS: tuple[str, ...] = (
    "title",
    "description",
    "provider",
    "url",
    "website",
    "street",
    "plz",
    "city",
    "district",
    "bundesland",
    "landkreis",
    "audience_text",
    "age_min",
    "age_max",
    "grade_min",
    "grade_max",
    "costs_text",
    "cost_kind",
    "price_eur",
    "dates_text",
    "start",
    "end",
)
#: Fields merged as the union of all members' lists.
LIST_FIELDS: tuple[str, ...] = ("subjects", "formats", "groups")
#: Values that count as "not given".
_EMPTY_STRINGS = frozenset({"", "unknown"})


@dataclass(slots=True)
class MergedField:
    """One field of a cluster's canonical entry."""

    value: Any
    sources: dict[str, Any]
    conflict: bool


def _empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip().casefold() in _EMPTY_STRINGS
    if isinstance(value, list | tuple | set | frozenset | dict):
        return not value
    return False


def _group_key(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(value.split()).casefold()
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, tuple):
        return tuple(_group_key(v) for v in value)
    return value


def _choose(
    given: list[tuple[str, str, Any]], priority: Sequence[str] | dict[str, int]
) -> tuple[Any, bool, str | None]:
    """Pick a value from ``(member_key, source_id, value)`` triples (empties removed).

    Returns the value, whether members disagreed, and the member key it came from.
    *priority* is the source order, or that order as a ``{source_id: rank}`` mapping.
    """
    if not given:
        return None, False, None
    if len(given) == 1:
        return given[0][2], False, given[0][0]
    rank = priority if isinstance(priority, dict) else {s: n for n, s in enumerate(priority)}
    groups: dict[Any, list[int]] = {}
    for n, (_, _, value) in enumerate(given):
        groups.setdefault(_group_key(value), []).append(n)

    def best_in(indices: list[int]) -> tuple[int, int, int]:
        # (priority rank, -length, position) of the best member giving this value
        return min((rank.get(given[n][1], len(rank)), -len(str(given[n][2])), n) for n in indices)

    if len(groups) == 1:
        position = best_in(next(iter(groups.values())))[2]
        return given[position][2], False, given[position][0]
    chosen = min(groups.values(), key=lambda idx: (-len(idx), best_in(idx)))
    position = best_in(chosen)[2]
    return given[position][2], True, given[position][0]


def merge_offers(
    offers: Sequence[OfferLike], priority: Sequence[str] = ()
) -> dict[str, MergedField]:
    """Merge the members of one cluster (in member order) into canonical fields."""
    if len(offers) == 1:
        return _single(offers[0])
    keys = [member_key(o) for o in offers]
    rank = {source: n for n, source in enumerate(priority)}
    fields: dict[str, MergedField] = {}
    for name in SCALAR_FIELDS:
        sources = {k: getattr(o, name, None) for k, o in zip(keys, offers, strict=True)}
        given = [(k, o.source_id, v) for (k, v), o in zip(sources.items(), offers, strict=True)]
        given = [g for g in given if not _empty(g[2])]
        value, conflict, _ = _choose(given, rank)
        fields[name] = MergedField(value=value, sources=sources, conflict=conflict)
    # Coordinates come as a pair from one member.
    points = {
        k: (getattr(o, "lat", None), getattr(o, "lon", None))
        for k, o in zip(keys, offers, strict=True)
    }
    given = [
        (k, o.source_id, p)
        for (k, p), o in zip(points.items(), offers, strict=True)
        if p[0] is not None and p[1] is not None
    ]
    point, conflict, _ = _choose(given, rank)
    lat, lon = point if point is not None else (None, None)
    fields["lat"] = MergedField(lat, {k: p[0] for k, p in points.items()}, conflict)
    fields["lon"] = MergedField(lon, {k: p[1] for k, p in points.items()}, conflict)
    for name in LIST_FIELDS:
        sources = {k: list(getattr(o, name, None) or []) for k, o in zip(keys, offers, strict=True)}
        non_empty = [frozenset(v) for v in sources.values() if v]
        union = sorted(set().union(*non_empty)) if non_empty else []
        fields[name] = MergedField(union, sources, len(set(non_empty)) > 1)
    girls = {k: bool(getattr(o, "girls", False)) for k, o in zip(keys, offers, strict=True)}
    fields["girls"] = MergedField(any(girls.values()), girls, len(set(girls.values())) > 1)
    platforms = {k: o.source_id for k, o in zip(keys, offers, strict=True)}
    fields["platforms"] = MergedField(sorted(set(platforms.values())), platforms, False)
    return fields


def _single(offer: OfferLike) -> dict[str, MergedField]:
    """`merge_offers` for a one-member cluster (the common case, kept fast)."""
    key = member_key(offer)
    fields: dict[str, MergedField] = {}
    for name in (*SCALAR_FIELDS, "lat", "lon"):
        value = getattr(offer, name, None)
        fields[name] = MergedField(None if _empty(value) else value, {key: value}, False)
    if fields["lat"].value is None or fields["lon"].value is None:
        fields["lat"].value = fields["lon"].value = None
    for name in LIST_FIELDS:
        values = list(getattr(offer, name, None) or [])
        fields[name] = MergedField(sorted(set(values)), {key: values}, False)
    girls = bool(getattr(offer, "girls", False))
    fields["girls"] = MergedField(girls, {key: girls}, False)
    fields["platforms"] = MergedField([offer.source_id], {key: offer.source_id}, False)
    return fields
