"""Providers resolved across sources into one provider entity.

Platforms spell one organiser differently: "HANDS on TECHNOLOGY e. V." / "HANDS on
TECHNOLOGY e.V.", "Technische Universität Dresden" / "TU Dresden", "Hochschule für
Technik, Wirtschaft und Kultur" / "HTWK". `resolve_providers` gives every offer with a
provider the id of its provider entity:

* names are compared by their comparison key (`dedupe.keys.normalize_provider`: legal
  forms dropped, universities unified, umlauts folded; words stemmed and sorted);
* a name made only of generic words ("Volkshochschule", "Zooschule" is not generic)
  is only the same provider within one town, so the town is part of its key;
* within one town, names whose keys agree up to word order, extra words on one side
  or a typo (``token_set_ratio`` ≥ `SAME_PROVIDER_RATIO`, sharing a specific word), or
  where one is the acronym of the other, are one provider.

Some platforms link the organiser instead of naming it (Leipzig Open Data's Angebote:
``provider_ref`` = ``http://leipzig-data.de/Data/Ort/ciT``, no name). Records with the
same ``provider_ref`` point at one organiser's place, and `resolve_provider_refs` gives a
record without a name the name the other records with that reference carry (the
Leipziger MINT-Orte name the place behind the same URI: "ciT - Consulting Innovation
Training GmbH"), so provider comparison works for it. `with_resolved_providers` applies
that to a list of offers for comparison; the offers themselves are never changed (merged
fields keep what each platform said). The reference names a place (an "Ort"), which two
organisations may share (the UiZ and its Förderverein), so records that *do* name their
provider are not tied together by the reference alone.

Ids are ``"p"`` + 12 hex digits of sha1 of the entity's smallest key, so they stay stable
across runs while the names do. Pure, no I/O.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process, utils

from dedupe.keys import GENERIC_PROVIDER_WORDS, content_tokens, normalize_city, normalize_provider
from dedupe.keys import stem as _stem
from dedupe.model import OfferLike

__all__ = [
    "SAME_PROVIDER_RATIO",
    "provider_key",
    "resolve_provider_refs",
    "resolve_providers",
    "with_resolved_providers",
]

#: ``token_set_ratio`` from which two provider names in one town are one provider.
SAME_PROVIDER_RATIO = 92.0
_GENERIC = frozenset(_stem(w) for w in GENERIC_PROVIDER_WORDS)
#: Rows of the name-similarity matrix computed at once.
_ROWS = 256


def provider_key(provider: str | None, city: str | None = None) -> str | None:
    """Comparison key of an organiser: stemmed content words, sorted; the town appended
    when every word is generic. ``None`` without a provider name."""
    key = normalize_provider(provider)
    if not key:
        return None
    words = sorted({_stem(t) for t in content_tokens(key)})
    if all(w in _GENERIC for w in words):
        town = normalize_city(city)
        if town:
            words.append("@" + town)
    return " ".join(words)


def _ref(offer: object) -> str | None:
    ref = getattr(offer, "provider_ref", None)
    if not isinstance(ref, str):
        return None
    return ref.strip() or None


def _name(offer: object) -> str | None:
    name = getattr(offer, "provider", None)
    return name if isinstance(name, str) and name.strip() else None


def resolve_provider_refs(offers: Sequence[OfferLike]) -> dict[tuple[str, str], str]:
    """Provider names for offers that have a ``provider_ref`` but no provider name.

    The name is the one most records with the same reference carry (ties: the smallest
    name), so a URI resolves only through records that name it; a reference that no
    record names stays unresolved. Maps ``(source_id, source_key)`` to the name.
    """
    names: dict[str, Counter[str]] = defaultdict(Counter)
    unnamed: list[tuple[tuple[str, str], str]] = []
    for offer in offers:
        ref = _ref(offer)
        if ref is None:
            continue
        name = _name(offer)
        if name is None:
            unnamed.append(((offer.source_id, offer.source_key), ref))
        else:
            names[ref][name] += 1
    resolved: dict[tuple[str, str], str] = {}
    for key, ref in unnamed:
        counts = names.get(ref)
        if counts:
            resolved[key] = min(counts, key=lambda n: (-counts[n], n))
    return resolved


class _Named:
    """An offer seen with a resolved provider name; every other attribute is the offer's."""

    __slots__ = ("_offer", "provider")

    def __init__(self, offer: OfferLike, provider: str) -> None:
        self._offer = offer
        self.provider = provider

    def __getattr__(self, name: str) -> Any:
        return getattr(self._offer, name)


def with_resolved_providers(offers: Sequence[OfferLike]) -> list[OfferLike]:
    """*offers* in order, those whose provider `resolve_provider_refs` resolves wrapped so
    that ``provider`` reads the resolved name (for comparison; the originals are kept)."""
    resolved = resolve_provider_refs(offers)
    if not resolved:
        return list(offers)
    return [
        _Named(o, resolved[(o.source_id, o.source_key)])  # type: ignore[misc]
        if (o.source_id, o.source_key) in resolved
        else o
        for o in offers
    ]


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra


def _acronym(provider: str | None) -> str | None:
    """Initials of a name of three or more content words, in their order."""
    words = content_tokens(normalize_provider(provider))
    return "".join(w[0] for w in words) if len(words) >= 3 else None


def resolve_providers(offers: Sequence[OfferLike]) -> dict[tuple[str, str], str]:
    """Map ``(source_id, source_key)`` of every offer with a provider to a provider id."""
    key_of: dict[tuple[str, str], str] = {}
    acronym_of: dict[str, str] = {}
    keys_by_town: dict[str, set[str]] = defaultdict(set)
    union = _UnionFind()
    # names and towns repeat across offers: each distinct (provider, city) is keyed once
    keyed: dict[tuple[Any, Any], tuple[str | None, str]] = {}
    for offer in with_resolved_providers(offers):
        city = getattr(offer, "city", None)
        provider = getattr(offer, "provider", None)
        found = keyed.get((provider, city))
        if found is None:
            key = provider_key(provider, city)
            found = keyed[(provider, city)] = (key, normalize_city(city) if key else "")
            if key is not None:
                if key not in acronym_of:
                    acronym = _acronym(provider)
                    if acronym:
                        acronym_of[key] = acronym
                union.find(key)
                if found[1]:
                    keys_by_town[found[1]].add(key)
        key = found[0]
        if key is not None:
            key_of[(offer.source_id, offer.source_key)] = key
    for town_keys in keys_by_town.values():
        ordered = sorted(town_keys)
        if len(ordered) < 2:
            continue
        # Acronyms: "htwk" names "hochschule technik wirtschaft kultur" in the same town.
        by_word: dict[str, list[str]] = defaultdict(list)
        for key in ordered:
            for word in key.split():
                by_word[word].append(key)
        for key in ordered:
            acronym = acronym_of.get(key)
            if acronym:
                for other in by_word.get(acronym, ()):
                    union.union(key, other)
        for lo in range(0, len(ordered), _ROWS):
            # All pairs of the town's names at once, in C on every core (a chunk of rows
            # at a time, so a big town does not need a k x k matrix).
            similar = process.cdist(
                ordered[lo : lo + _ROWS],
                ordered[lo:],
                scorer=fuzz.token_set_ratio,
                processor=utils.default_process,
                score_cutoff=SAME_PROVIDER_RATIO,
                dtype=np.float32,
                workers=-1,
            )
            for row, col in zip(*(side.tolist() for side in np.nonzero(similar)), strict=True):
                if col <= row:
                    continue
                key, other = ordered[lo + row], ordered[lo + col]
                specific = {w for w in key.split() if w not in _GENERIC and not w.startswith("@")}
                if not specific:
                    continue
                if specific & set(other.split()) or fuzz.ratio(key, other) >= SAME_PROVIDER_RATIO:
                    union.union(key, other)
    members: dict[str, list[str]] = defaultdict(list)
    for key in union.parent:
        members[union.find(key)].append(key)
    ids = {
        key: "p" + hashlib.sha1(min(group).encode("utf-8")).hexdigest()[:12]
        for group in members.values()
        for key in group
    }
    return {member: ids[key] for member, key in key_of.items()}
