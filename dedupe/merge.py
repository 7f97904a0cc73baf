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
from datetime import date
from typing import Any

from dedupe.model import OfferLike, member_key

__all__ = ["LIST_FIELDS", "SCALAR_FIELDS", "MergedField", "merge_offers", "merge_single"]

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


def _pick(values: Sequence[Any], present: list[int], ranks: list[int]) -> tuple[Any, bool]:
    """Choose among ``values[n] for n in present`` (the non-empty ones, in member order;
    *ranks* holds each member's priority rank): the value of the largest group of equal
    values (see `_group_key`), ties to the best priority rank, then a text that is not
    all capitals (a brochure's "FIRST LEGO LEAGUE / …" loses to "FIRST LEGO League"),
    then the longest value, then the first member; and whether members disagreed."""
    if not present:
        return None, False
    if len(present) == 1:
        return values[present[0]], False
    first = values[present[0]]
    if all(values[n] == first for n in present):  # equal values: one group, no conflict
        position = min((ranks[n], -len(str(values[n])), n) for n in present)[2]
        return values[position], False
    groups: dict[Any, list[int]] = {}
    for n in present:
        groups.setdefault(_group_key(values[n]), []).append(n)
    # each member's tie-break key, computed once
    order = {
        n: (ranks[n], _shouting(v := values[n]), -len(v if v.__class__ is str else str(v)), n)
        for n in present
    }
    if len(groups) == 1:
        return values[min(order.values())[3]], False
    chosen = min((-len(idx), min(map(order.__getitem__, idx))) for idx in groups.values())
    return values[chosen[1][3]], True


def _shouting(value: Any) -> bool:
    """A text written all in capitals (with at least a few letters)."""
    return isinstance(value, str) and value.isupper() and sum(c.isalpha() for c in value) > 3


def merge_offers(
    offers: Sequence[OfferLike], priority: Sequence[str] = ()
) -> dict[str, MergedField]:
    """Merge the members of one cluster (in member order) into canonical fields."""
    if len(offers) == 1:
        return merge_single(offers[0])
    keys = [member_key(o) for o in offers]
    if len(set(keys)) < len(keys):
        raise ValueError("merge_offers: two members have the same source_id:source_key")
    rank = {source: n for n, source in enumerate(priority)}
    ranks = [rank.get(o.source_id, len(rank)) for o in offers]
    uniform = len(set(ranks)) == 1
    count = len(offers)
    last = count - 1
    fields: dict[str, MergedField] = {}
    rows = [[getattr(o, name, None) for name in SCALAR_FIELDS] for o in offers]
    for name, values in zip(SCALAR_FIELDS, zip(*rows, strict=True), strict=True):
        missing = values.count(None)
        if missing >= last:  # at most one member gives a value: nothing to choose from
            value = None
            if missing == last:
                for given in values:
                    if given is not None:
                        if given.__class__ in _ATOMIC or not _empty(given):
                            value = given
                        break
            conflict = False
        elif (
            uniform
            and not missing
            and (first := values[0]).__class__ is str
            and values.count(first) == count
            and first.strip().casefold() not in _EMPTY_STRINGS
        ):  # one text, from every member (of equal rank)
            value, conflict = first, False
        else:
            present = [
                n
                for n, v in enumerate(values)
                if v is not None
                and (
                    v.strip().casefold() not in _EMPTY_STRINGS
                    if v.__class__ is str
                    else v.__class__ in _ATOMIC or not _empty(v)
                )
            ]
            if len(present) < 2:
                value, conflict = (values[present[0]] if present else None), False
            elif uniform and _all_same(values, present):
                # one value from members of equal rank: the first member's
                value, conflict = values[present[0]], False
            else:
                value, conflict = _pick(values, present, ranks)
        fields[name] = MergedField(value, dict(zip(keys, values, strict=True)), conflict)
    # Coordinates come as a pair from one member.
    points = [(getattr(o, "lat", None), getattr(o, "lon", None)) for o in offers]
    present = [n for n, p in enumerate(points) if p[0] is not None and p[1] is not None]
    if len(present) > 1 and uniform and _all_same_points(points, present):
        point, conflict = points[present[0]], False
    else:
        point, conflict = _pick(points, present, ranks)
    lat, lon = point if point is not None else (None, None)
    fields["lat"] = MergedField(lat, {k: p[0] for k, p in zip(keys, points, strict=True)}, conflict)
    fields["lon"] = MergedField(lon, {k: p[1] for k, p in zip(keys, points, strict=True)}, conflict)
    for name in LIST_FIELDS:
        lists = [list(getattr(o, name, None) or []) for o in offers]
        non_empty = [frozenset(v) for v in lists if v]
        union = sorted(set().union(*non_empty)) if non_empty else []
        fields[name] = MergedField(
            union, dict(zip(keys, lists, strict=True)), len(set(non_empty)) > 1
        )
    girls = {k: bool(getattr(o, "girls", False)) for k, o in zip(keys, offers, strict=True)}
    fields["girls"] = MergedField(any(girls.values()), girls, len(set(girls.values())) > 1)
    platforms = {k: o.source_id for k, o in zip(keys, offers, strict=True)}
    fields["platforms"] = MergedField(sorted(set(platforms.values())), platforms, False)
    return fields


#: Types whose values are never empty (see `_empty`).
_ATOMIC = frozenset({int, bool, float, date})
#: Types whose equal values also print the same (`_pick` breaks ties by printed length).
_PLAIN_TYPES = frozenset({int, bool, date})


def _all_same(values: Sequence[Any], present: list[int]) -> bool:
    """Whether ``values[n] for n in present`` are equal and would all print alike, so
    `_pick` would take the first of them (among members of equal rank) without conflict."""
    first = values[present[0]]
    kind = first.__class__
    if kind is str:  # what equals a given text is given: count them all
        return values.count(first) == len(present)
    if kind in _PLAIN_TYPES or (kind is float and first != 0.0):  # 0.0 == -0.0
        return all(values[n].__class__ is kind and values[n] == first for n in present)
    return False


def _all_same_points(points: Sequence[tuple[Any, Any]], present: list[int]) -> bool:
    """`_all_same` for coordinate pairs (floats, not 0: those print alike when equal)."""
    lat, lon = first = points[present[0]]
    if lat.__class__ is not float or lon.__class__ is not float or not lat or not lon:
        return False
    return all(
        (p := points[n])[0].__class__ is float and p[1].__class__ is float and p == first
        for n in present
    )


def merge_single(offer: OfferLike) -> dict[str, MergedField]:
    """`merge_offers` for a one-member cluster (the common case, kept fast)."""
    key = member_key(offer)
    fields: dict[str, MergedField] = {}
    for name in SCALAR_FIELDS:
        value = getattr(offer, name, None)
        if value is None or value.__class__ in _ATOMIC:
            chosen = value
        elif value.__class__ is str:
            chosen = None if value.strip().casefold() in _EMPTY_STRINGS else value
        else:
            chosen = None if _empty(value) else value
        fields[name] = MergedField(chosen, {key: value}, False)
    lat, lon = getattr(offer, "lat", None), getattr(offer, "lon", None)
    point = lat is not None and lon is not None and not _empty(lat) and not _empty(lon)
    fields["lat"] = MergedField(lat if point else None, {key: lat}, False)
    fields["lon"] = MergedField(lon if point else None, {key: lon}, False)
    for name in LIST_FIELDS:
        values = list(getattr(offer, name, None) or [])
        fields[name] = MergedField(sorted(set(values)) if values else [], {key: values}, False)
    girls = bool(getattr(offer, "girls", False))
    fields["girls"] = MergedField(girls, {key: girls}, False)
    fields["platforms"] = MergedField([offer.source_id], {key: offer.source_id}, False)
    return fields
