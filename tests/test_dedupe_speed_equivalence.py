"""The fast paths of `dedupe.merge` and `dedupe.providers` give exactly what the plain
algorithms give: each is checked against a straightforward reference implementation
(the code before the fast paths) on random data full of edge cases (equal values that
print differently, empty texts, ``-0.0``, priorities, generic and shared words)."""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from rapidfuzz import fuzz, utils

import dedupe.providers as providers
from dedupe.keys import content_tokens, normalize_city, normalize_provider, stem
from dedupe.merge import LIST_FIELDS, SCALAR_FIELDS, MergedField, merge_offers
from dedupe.model import member_key

# --- merge -----------------------------------------------------------------------------

_EMPTY = frozenset({"", "unknown"})


def _ref_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip().casefold() in _EMPTY
    if isinstance(value, list | tuple | set | frozenset | dict):
        return not value
    return False


def _ref_group_key(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(value.split()).casefold()
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, tuple):
        return tuple(_ref_group_key(v) for v in value)
    return value


def _ref_shouting(value: Any) -> bool:
    return isinstance(value, str) and value.isupper() and sum(c.isalpha() for c in value) > 3


def _ref_pick(values: Any, present: list[int], ranks: list[int]) -> tuple[Any, bool]:
    if not present:
        return None, False
    if len(present) == 1:
        return values[present[0]], False
    first = values[present[0]]
    if all(values[n] == first for n in present):
        position = min((ranks[n], -len(str(values[n])), n) for n in present)[2]
        return values[position], False
    groups: dict[Any, list[int]] = {}
    for n in present:
        groups.setdefault(_ref_group_key(values[n]), []).append(n)

    def best_in(indices: list[int]) -> tuple[int, bool, int, int]:
        return min((ranks[n], _ref_shouting(values[n]), -len(str(values[n])), n) for n in indices)

    if len(groups) == 1:
        return values[best_in(present)[3]], False
    chosen = min(groups.values(), key=lambda idx: (-len(idx), best_in(idx)))
    return values[best_in(chosen)[3]], True


def _ref_merge(offers: list[Any], priority: tuple[str, ...]) -> dict[str, MergedField]:
    keys = [member_key(o) for o in offers]
    rank = {source: n for n, source in enumerate(priority)}
    ranks = [rank.get(o.source_id, len(rank)) for o in offers]
    fields: dict[str, MergedField] = {}
    for name in SCALAR_FIELDS:
        values = [getattr(o, name, None) for o in offers]
        present = [n for n, v in enumerate(values) if not _ref_empty(v)]
        value, conflict = _ref_pick(values, present, ranks)
        fields[name] = MergedField(value, dict(zip(keys, values, strict=True)), conflict)
    points = [(getattr(o, "lat", None), getattr(o, "lon", None)) for o in offers]
    present = [n for n, p in enumerate(points) if p[0] is not None and p[1] is not None]
    if len(offers) == 1:  # a single member: an empty coordinate counts as none
        present = [n for n in present if not (_ref_empty(points[n][0]) or _ref_empty(points[n][1]))]
    point, conflict = _ref_pick(points, present, ranks)
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


_TEXTS = [
    None, "", "  ", "unknown", " Unknown ", "UNKNOWN", "Robotik", "robotik", "Robotik ",
    "ROBOTIK AG FÜR KINDER", "Robotik AG für Kinder", "Robotik  AG für Kinder", "Leipzig",
]  # fmt: skip
_NUMBERS = [None, 0, 1, 1.0, True, False, 0.0, -0.0, 2, 2.5, 2.5000001, float("nan")]
_DATES = [None, date(2026, 3, 1), datetime(2026, 3, 1), date(2026, 3, 2)]
_COORDS = [None, 0.0, -0.0, 51.34, 51.34, 51.3400001, 12, 12.0]
_LISTS = [None, [], ["a"], ["b", "a"], ["a", "a"], ("c",)]


def _random_offer(rng: random.Random, source: str, key: str) -> SimpleNamespace:
    values: dict[str, Any] = {"source_id": source, "source_key": key}
    for name in SCALAR_FIELDS:
        pool = _NUMBERS if name.startswith(("age", "grade", "price")) else _TEXTS
        if name in ("start", "end"):
            pool = _DATES
        if rng.random() < 0.15:
            continue  # the attribute is missing altogether
        values[name] = rng.choice(pool)
    values["lat"], values["lon"] = rng.choice(_COORDS), rng.choice(_COORDS)
    for name in LIST_FIELDS:
        values[name] = rng.choice(_LISTS)
    values["girls"] = rng.choice([False, True, None, 0, 1])
    return SimpleNamespace(**values)


@pytest.mark.parametrize("seed", range(6))
def test_merge_offers_equals_reference(seed: int) -> None:
    rng = random.Random(seed)
    sources = ["a", "b", "c"]
    for _ in range(1500):
        size = rng.choice([1, 1, 2, 2, 3, 4])
        offers = [_random_offer(rng, rng.choice(sources), f"k{n}") for n in range(size)]
        for offer in offers[1:]:  # members often agree: copy some fields of the first
            for name in (*SCALAR_FIELDS, "lat", "lon"):
                if rng.random() < 0.6 and hasattr(offers[0], name):
                    setattr(offer, name, getattr(offers[0], name))
        priority = rng.choice([(), ("b",), ("c", "a"), ("a", "b", "c")])
        got = merge_offers(offers, priority)
        want = _ref_merge(offers, priority)
        assert list(got) == list(want)
        assert repr(got) == repr(want), (offers, priority)


# --- providers -------------------------------------------------------------------------


def _ref_provider_key(provider: str | None, city: str | None) -> str | None:
    key = normalize_provider(provider)
    if not key:
        return None
    words = sorted({stem(t) for t in content_tokens(key)})
    if all(w in providers._GENERIC for w in words):
        town = normalize_city(city)
        if town:
            words.append("@" + town)
    return " ".join(words)


def _ref_resolve(offers: list[Any]) -> dict[tuple[str, str], str]:
    """All pairs of a town's names compared one by one (the plain algorithm)."""
    key_of: dict[tuple[str, str], str] = {}
    acronym_of: dict[str, str] = {}
    keys_by_town: dict[str, set[str]] = defaultdict(set)
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = sorted((find(a), find(b)))
        parent[rb] = ra

    for offer in providers.with_resolved_providers(offers):
        key = _ref_provider_key(offer.provider, offer.city)
        if key is None:
            continue
        find(key)
        words = content_tokens(normalize_provider(offer.provider))
        if key not in acronym_of and len(words) >= 3:
            acronym_of[key] = "".join(w[0] for w in words)
        if normalize_city(offer.city):
            keys_by_town[normalize_city(offer.city)].add(key)
        key_of[(offer.source_id, offer.source_key)] = key
    for town_keys in keys_by_town.values():
        ordered = sorted(town_keys)
        for key in ordered:
            acronym = acronym_of.get(key)
            for other in ordered:
                if acronym and acronym in other.split():
                    union(key, other)
        for n, key in enumerate(ordered):
            for other in ordered[n + 1 :]:
                score = fuzz.token_set_ratio(key, other, processor=utils.default_process)
                if score < providers.SAME_PROVIDER_RATIO:
                    continue
                specific = {
                    w for w in key.split() if w not in providers._GENERIC and not w.startswith("@")
                }
                if specific and (
                    specific & set(other.split())
                    or fuzz.ratio(key, other) >= providers.SAME_PROVIDER_RATIO
                ):
                    union(key, other)
    groups: dict[str, list[str]] = defaultdict(list)
    for key in parent:
        groups[find(key)].append(key)
    ids = {
        key: "p" + hashlib.sha1(min(group).encode("utf-8")).hexdigest()[:12]
        for group in groups.values()
        for key in group
    }
    return {member: ids[key] for member, key in key_of.items()}


_WORDS = [
    "Verein", "Schule", "Volkshochschule", "Robotik", "Technik", "Roboter", "Zoo",
    "Zooschule", "Hochschule", "Wirtschaft", "Kultur", "Universität", "Technische",
    "Makerspace", "Informatik", "Informatk", "Club", "e.V.", "gGmbH", "Stadtbibliothek",
    "Natur", "Kinder", "Forscher", "Forscherinnen", "Labor", "Physik", "Chemie", "HTWK",
]  # fmt: skip
_TOWNS = ["Leipzig", "Dresden", "Halle (Saale)", "Chemnitz", None, ""]


def _random_providers(rng: random.Random, n: int) -> list[SimpleNamespace]:
    offers = []
    for k in range(n):
        words = rng.sample(_WORDS, rng.randint(1, 4))
        name = " ".join(words) if rng.random() > 0.05 else None
        if name and rng.random() < 0.2:  # a typo
            at = rng.randrange(len(name))
            name = name[:at] + name[at + 1 :]
        offers.append(
            SimpleNamespace(
                source_id=rng.choice("abc"),
                source_key=str(k),
                provider=name,
                city=rng.choice(_TOWNS),
                provider_ref=rng.choice([None, None, "ref1", "ref2"]),
            )
        )
    return offers


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("small_batches", [False, True])
def test_resolve_providers_equals_reference(
    seed: int, small_batches: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if small_batches:  # many flushes, blocks of rows, and towns scored without the filter
        monkeypatch.setattr(providers, "_BATCH", 7)
        monkeypatch.setattr(providers, "_ROWS", 3)
    offers = _random_providers(random.Random(seed), 700)
    assert providers.resolve_providers(offers) == _ref_resolve(offers)
    named = providers.with_resolved_providers(offers)
    assert providers.resolve_providers(named, refs_resolved=True) == _ref_resolve(offers)
