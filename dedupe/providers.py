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
#: Rows of a town's pair mask built at once.
_ROWS = 256
#: Pairs of names scored per rapidfuzz call.
_BATCH = 1 << 18
_EMPTY_PAIRS = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))


def provider_key(provider: str | None, city: str | None = None) -> str | None:
    """Comparison key of an organiser: stemmed content words, sorted; the town appended
    when every word is generic. ``None`` without a provider name."""
    found = _provider_words(provider)
    return None if found is None else _with_town(found, city)


def _provider_words(provider: str | None) -> tuple[list[str], bool] | None:
    """The stemmed content words of a provider name, sorted, and whether all of them are
    generic; ``None`` without a name (the town-independent part of `provider_key`)."""
    key = normalize_provider(provider)
    if not key:
        return None
    words = sorted({_stem(t) for t in content_tokens(key)})
    return words, all(w in _GENERIC for w in words)


def _with_town(found: tuple[list[str], bool], city: str | None) -> str:
    """`provider_key` from `_provider_words`: the town appended to a generic name."""
    words, generic = found
    if generic:
        town = normalize_city(city)
        if town:
            return " ".join([*words, "@" + town])
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


class _TownPairs:
    """The names of each town compared pairwise (``token_set_ratio``), the similar ones
    united: the pairs ``key < other`` of a town's sorted names that can be united are
    queued and the queue scored at once in C on every core (``rapidfuzz.process.cpdist``,
    `_BATCH` pairs a call), so the many small towns do not cost a call (and its threads)
    each; names are processed (``utils.default_process``) once.

    A pair can only be united if *key* has a specific word and the two share one, or
    their character ratio (``fuzz.ratio``, at most 200 x shorter / sum of the lengths)
    reaches `SAME_PROVIDER_RATIO`; the other pairs are not scored."""

    def __init__(self, union: _UnionFind) -> None:
        self.union = union
        self.names: list[str] = []  # queued names, each town's in a block
        self.processed: list[str] = []
        self.left: list[np.ndarray] = []  # queued pairs (positions in names)
        self.right: list[np.ndarray] = []
        self.queued = 0
        self._cache: dict[str, str] = {}

    def add_town(self, ordered: list[str]) -> None:
        """Queue the pairs of one town's names (sorted, distinct) that may be united."""
        if not self.queued:  # no queued pair refers to the names so far
            self.names, self.processed = [], []
        offset, k = len(self.names), len(ordered)
        self.names.extend(ordered)
        cache = self._cache
        for key in ordered:
            done = cache.get(key)
            if done is None:
                done = cache[key] = utils.default_process(key)
            self.processed.append(done)
        lengths = np.fromiter(map(len, ordered), dtype=np.int64, count=k)
        has_specific = np.zeros(k, dtype=bool)
        with_word: dict[str, list[int]] = defaultdict(list)
        for n, key in enumerate(ordered):
            for word in set(key.split()):
                if word not in _GENERIC and not word.startswith("@"):
                    with_word[word].append(n)
                    has_specific[n] = True
        sharing = sum(len(ns) * (len(ns) - 1) // 2 for ns in with_word.values())
        share_rows, share_cols = _EMPTY_PAIRS
        if sharing <= _BATCH:  # else (a word in very many names) all pairs are scored
            found = [np.triu_indices(len(ns), 1) for ns in with_word.values() if len(ns) > 1]
            if found:
                at = [np.asarray(ns) for ns in with_word.values() if len(ns) > 1]
                share_rows = np.concatenate([ns[i] for ns, (i, _) in zip(at, found, strict=True)])
                share_cols = np.concatenate([ns[j] for ns, (_, j) in zip(at, found, strict=True)])
        for lo in range(0, k, _ROWS):
            # a block of rows at a time, so a big town does not need a k x k mask
            hi = min(lo + _ROWS, k)
            mask = np.arange(lo, hi)[:, None] < np.arange(lo, k)[None, :]
            mask &= has_specific[lo:hi, None]
            if sharing <= _BATCH:
                short = np.minimum(lengths[lo:hi, None], lengths[None, lo:])
                total = lengths[lo:hi, None] + lengths[None, lo:]
                mask &= 200.0 * short >= SAME_PROVIDER_RATIO * total
                block = (share_rows >= lo) & (share_rows < hi)
                mask[share_rows[block] - lo, share_cols[block] - lo] = True
            row, col = np.nonzero(mask)
            self.left.append(row + (offset + lo))
            self.right.append(col + (offset + lo))
            self.queued += len(row)
            if self.queued >= _BATCH:
                self.flush()

    def flush(self) -> None:
        """Score the queued pairs and unite the similar ones."""
        if not self.queued:
            return
        left, right = np.concatenate(self.left), np.concatenate(self.right)
        self.left, self.right, self.queued = [], [], 0
        processed, names = self.processed, self.names
        similar = process.cpdist(
            [processed[i] for i in left.tolist()],
            [processed[j] for j in right.tolist()],
            scorer=fuzz.token_set_ratio,
            processor=None,
            score_cutoff=SAME_PROVIDER_RATIO,
            dtype=np.float32,
            workers=-1,
        )
        hits = np.flatnonzero(similar)
        for i, j in zip(left[hits].tolist(), right[hits].tolist(), strict=True):
            key, other = names[i], names[j]
            specific = {w for w in key.split() if w not in _GENERIC and not w.startswith("@")}
            if not specific:
                continue
            if specific & set(other.split()) or fuzz.ratio(key, other) >= SAME_PROVIDER_RATIO:
                self.union.union(key, other)


def _acronym(provider: str | None) -> str | None:
    """Initials of a name of three or more content words, in their order."""
    words = content_tokens(normalize_provider(provider))
    return "".join(w[0] for w in words) if len(words) >= 3 else None


def resolve_providers(
    offers: Sequence[OfferLike], *, refs_resolved: bool = False
) -> dict[tuple[str, str], str]:
    """Map ``(source_id, source_key)`` of every offer with a provider to a provider id.

    *refs_resolved*: *offers* come from `with_resolved_providers` already (not redone)."""
    key_of: dict[tuple[str, str], str] = {}
    acronym_of: dict[str, str] = {}
    keys_by_town: dict[str, set[str]] = defaultdict(set)
    union = _UnionFind()
    # names and towns repeat across offers: each distinct name is split into words once,
    # each distinct (provider, city) keyed once
    words_of: dict[Any, tuple[list[str], bool] | None] = {}
    keyed: dict[tuple[Any, Any], tuple[str | None, str]] = {}
    for offer in offers if refs_resolved else with_resolved_providers(offers):
        city = getattr(offer, "city", None)
        provider = getattr(offer, "provider", None)
        found = keyed.get((provider, city))
        if found is None:
            words = words_of.get(provider, words_of)
            if words is words_of:  # not seen yet
                words = words_of[provider] = _provider_words(provider)
            key = None if words is None else _with_town(words, city)
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
    pairs = _TownPairs(union)
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
        pairs.add_town(ordered)
    pairs.flush()
    members: dict[str, list[str]] = defaultdict(list)
    for key in union.parent:
        members[union.find(key)].append(key)
    ids = {
        key: "p" + hashlib.sha1(min(group).encode("utf-8")).hexdigest()[:12]
        for group in members.values()
        for key in group
    }
    return {member: ids[key] for member, key in key_of.items()}
