"""The pure pipeline: prepare → block → score → cluster → merge, and `explain`."""

from __future__ import annotations

import gc
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from dedupe.blocking import BlockingConfig, candidate_arrays
from dedupe.clustering import MIN_LINK, assign_ids, cluster_indices
from dedupe.keys import city_matches
from dedupe.merge import MergedField, merge_offers, merge_single
from dedupe.model import NameWords, OfferLike, Prepared, prepare, prepare_all
from dedupe.overrides import Overrides
from dedupe.providers import resolve_providers, with_resolved_providers
from dedupe.scoring import (
    GATE_CAP,
    MATCH_THRESHOLD,
    NEAR_KM,
    PROVIDER_GATE,
    TITLE_GATE,
    WEIGHTS,
    Decision,
    _words_similarity,
    compare,
    quick_score,
)

__all__ = [
    "Cluster",
    "Explanation",
    "cluster_offers",
    "explain",
    "score_arrays",
    "score_pairs",
    "screen_pairs",
]


@dataclass
class Cluster:
    """One real-world offer and the platform records that describe it."""

    id: str
    members: list[tuple[str, str]]
    fields: dict[str, MergedField]


@dataclass(frozen=True)
class Explanation:
    """Why two offers are (not) considered the same."""

    similarities: dict[str, float | None]
    weights: dict[str, float]
    raw_score: float
    score: float
    decision: Decision
    gates: tuple[str, ...]
    reason: str


_GATE_TEXT = {
    "variant": "titles differ in a variant marker (e.g. 'Junior', a number or year)",
    "contrast": "each title has a word the other lacks",
    "title": f"title similarity below {TITLE_GATE:.2f}",
    "provider": f"provider similarity below {PROVIDER_GATE:.2f}",
    "subject": "one title names a subject the other lacks (a narrower offer)",
    "place": "places are known and differ (different towns or far apart)",
    "audience": "the offers are for different audiences (grades, groups or wording)",
    "formats": "one platform files them under different formats",
}


def _reason(
    sims: dict[str, float | None], score: float, decision: Decision, gates: list[str]
) -> str:
    shown = ", ".join(f"{name} {sim:.2f}" for name, sim in sims.items() if sim is not None)
    if decision == "match":
        head = f"match: score {score:.2f} >= {MATCH_THRESHOLD:.2f}"
    else:
        head = f"no match: score {score:.2f} < {MATCH_THRESHOLD:.2f}"
    rules = {"variant", "contrast", "subject"}
    blocking = [g for g in gates if g != "title" or not rules & set(gates)]
    if blocking and decision == "no_match":
        head += f" (capped at {GATE_CAP:.2f}: " + "; ".join(_GATE_TEXT[g] for g in blocking) + ")"
    return f"{head}; {shown or 'no comparable fields'}"


def explain(a: OfferLike, b: OfferLike) -> Explanation:
    """Compare two offers and say why they are or are not the same offer."""
    comparison = compare(prepare(a), prepare(b))
    decision = comparison.decision
    return Explanation(
        similarities=dict(comparison.similarities),
        weights=dict(WEIGHTS),
        raw_score=comparison.raw_score,
        score=comparison.score,
        decision=decision,
        gates=tuple(comparison.gates),
        reason=_reason(comparison.similarities, comparison.score, decision, comparison.gates),
    )


def score_pairs(
    prepared: Sequence[Prepared], pairs: Sequence[tuple[int, int]]
) -> list[tuple[float, int, int]]:
    """Scores ``(score, i, j)`` of the pairs that pass the title gate; pairs not returned
    score below `clustering.MIN_LINK` (at most `GATE_CAP` or 0)."""
    if not pairs:
        return []
    left, right = (np.asarray(side, dtype=np.int64) for side in zip(*pairs, strict=True))
    return score_arrays(prepared, left, right)


#: Pairs screened per rapidfuzz batch (bounds the memory of the string lists).
_BATCH = 1 << 18


def _name_ids(names: Sequence[NameWords | None]) -> tuple[np.ndarray, list[int]]:
    """One id per distinct name (by its spaced words; -1 for none), and for each id the
    position of the first record with that name."""
    index: dict[str, int] = {}
    first: list[int] = []
    ids = np.full(len(names), -1, dtype=np.int64)
    for position, name in enumerate(names):
        if name is not None:
            found = index.get(name.spaced)
            if found is None:
                found = index[name.spaced] = len(first)
                first.append(position)
            ids[position] = found
    return ids, first


def _name_pair_scores(
    names: Sequence[NameWords],
    ids: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    cutoffs: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``token_set_ratio`` of the words and the character ratio of the words written
    together (percent, 0 below *cutoffs*) for the pairs of names given by id (both
    known), computed once per distinct pair of different names, in C on both cores.

    Returns the distinct pairs ``(first, second)`` (name ids), their two scores, and
    ``differ`` / ``inverse``: which of the given pairs have different names and the
    distinct pair of each of them (pairs of equal names score 100 on both)."""
    a, b = ids[left], ids[right]
    width = len(names) + 1
    differ = a != b
    codes = np.minimum(a[differ], b[differ]) * width + np.maximum(a[differ], b[differ])
    unique, inverse = np.unique(codes, return_inverse=True)
    first, second = unique // width, unique % width
    spaced = [name.spaced for name in names]
    compact = [name.compact for name in names]
    lengths = np.fromiter(map(len, compact), dtype=np.int64, count=len(compact))
    la, lb = lengths[first], lengths[second]
    # The character ratio is at most 200 * shorter / (sum of lengths): skip the rest.
    reachable = 200.0 * np.minimum(la, lb) >= (cutoffs[1] - 1.0) * (la + lb)
    tsr = np.zeros(len(unique), dtype=np.float32)
    ratio = np.zeros(len(unique), dtype=np.float32)
    for lo in range(0, len(unique), _BATCH):
        fa, fb = first[lo : lo + _BATCH], second[lo : lo + _BATCH]
        tsr[lo : lo + _BATCH] = process.cpdist(
            list(map(spaced.__getitem__, fa.tolist())),
            list(map(spaced.__getitem__, fb.tolist())),
            scorer=fuzz.token_set_ratio, processor=None, dtype=np.float32, workers=-1,
            score_cutoff=cutoffs[0],
        ).ravel()  # fmt: skip
        near = np.flatnonzero(reachable[lo : lo + _BATCH])
        if len(near):
            ratio[lo + near] = process.cpdist(
                list(map(compact.__getitem__, fa[near].tolist())),
                list(map(compact.__getitem__, fb[near].tolist())),
                scorer=fuzz.ratio, processor=None, dtype=np.float32, workers=-1,
                score_cutoff=cutoffs[1],
            ).ravel()  # fmt: skip
    return first, second, tsr, ratio, differ, inverse


def screen_pairs(
    prepared: Sequence[Prepared], left: np.ndarray, right: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The pairs that may score `MIN_LINK` or more, as index arrays.

    Vectorised, exact pre-filters (no pair that could reach `MIN_LINK` is dropped; each
    drops pairs on its own, so their order only changes the work), cheapest first:

    * audience gate: both grade ranges known and disjoint → the gate caps the score at
      `GATE_CAP`;
    * place gate: both towns known, different (`keys.city_matches` per distinct pair of
      towns), no shared PLZ and the coordinates (if any) more than `NEAR_KM` apart → the
      place similarity is 0 and the gate caps the score;
    * provider gate: see `_provider_screen`;
    * title screen in C (``rapidfuzz.process.cpdist`` on both cores, once per distinct
      pair of titles): ``token_set_ratio`` of the title words or the character ratio of
      the words written together must reach what `name_similarity` needs for the title
      gate — the same two screens `title_candidates` uses.
    """
    n = len(prepared)
    title_ids, title_first = _name_ids([p.title_words for p in prepared])
    keep = (title_ids[left] >= 0) & (title_ids[right] >= 0)
    grades = [p.grades for p in prepared]
    low = np.fromiter((g[0] if g else -1 for g in grades), dtype=np.int64, count=n)
    high = np.fromiter((g[1] if g else -1 for g in grades), dtype=np.int64, count=n)
    known = (low[left] >= 0) & (low[right] >= 0)
    keep &= ~(known & ((low[left] > high[right]) | (low[right] > high[left])))
    left, right = _place_screen(prepared, left[keep], right[keep])
    left, right = _provider_screen(prepared, left, right)
    titles = [w for i in title_first if (w := prepared[i].title_words) is not None]
    words_gate, compact_gate = TITLE_GATE * 100.0, (0.5 + TITLE_GATE / 2.0) * 100.0
    cutoffs = (words_gate - 1e-6, compact_gate - 1e-6)
    _, _, tsr, ratio, differ, inverse = _name_pair_scores(titles, title_ids, left, right, cutoffs)
    passed = np.ones(len(left), dtype=bool)
    passed[differ] = ((tsr >= words_gate - 1e-3) | (ratio >= compact_gate - 1e-3))[inverse]
    return left[passed], right[passed]


#: Margin under `PROVIDER_GATE` (in percent) kept by the provider screen.
_PROVIDER_MARGIN = 5.0


def _provider_screen(
    prepared: Sequence[Prepared], left: np.ndarray, right: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Drop the pairs whose provider similarity is certainly below `PROVIDER_GATE`:
    both names known, neither ``token_set_ratio`` of the words nor the rescaled character
    ratio of the words written together reaches the gate (less a margin), and neither
    name is the other's acronym (all once per distinct pair of names)."""
    ids, first_of = _name_ids([p.provider_words for p in prepared])
    both = np.flatnonzero((ids[left] >= 0) & (ids[right] >= 0))
    if not len(both):
        return left, right
    owners = [prepared[i] for i in first_of]  # the name, its words and acronym by id
    names = [w for p in owners if (w := p.provider_words) is not None]
    cutoff = PROVIDER_GATE * 100.0 - _PROVIDER_MARGIN
    first, second, tsr, ratio, differ, inverse = _name_pair_scores(
        names, ids, left[both], right[both], (0.0, 0.0)
    )
    low = (tsr < cutoff) & ((ratio - 50.0) * 2.0 < cutoff)
    drop_distinct = np.zeros(len(first), dtype=bool)
    for k in np.flatnonzero(low).tolist():
        a, b = owners[first[k]], owners[second[k]]
        wa, wb = a.provider_words, b.provider_words
        assert wa is not None and wb is not None
        drop_distinct[k] = not (
            (a.provider_acronym and a.provider_acronym in wb.words)
            or (b.provider_acronym and b.provider_acronym in wa.words)
        )
    drop = np.zeros(len(left), dtype=bool)
    drop[both[differ]] = drop_distinct[inverse]
    return left[~drop], right[~drop]


def _place_screen(
    prepared: Sequence[Prepared], left: np.ndarray, right: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Drop the pairs whose place similarity is certainly 0 (see `screen_pairs`)."""
    n = len(prepared)
    towns: dict[str, int] = {"": -1}
    town = np.fromiter(
        (towns.setdefault(p.city, len(towns) - 1) for p in prepared), dtype=np.int64, count=n
    )
    plzs: dict[str | None, int] = {None: -1}
    plz = np.fromiter(
        (plzs.setdefault(p.plz, len(plzs) - 1) for p in prepared), dtype=np.int64, count=n
    )
    tl, tr = town[left], town[right]
    candidate = (tl >= 0) & (tr >= 0) & (tl != tr)
    candidate &= ~((plz[left] >= 0) & (plz[left] == plz[right]))
    if not candidate.any():
        return left, right
    # Coordinates within `NEAR_KM` make the place similarity 1 (haversine, as in
    # `scoring.distance_km`); NaN (no coordinates) compares False: kept as a candidate.
    lat = np.fromiter((np.nan if p.lat is None else p.lat for p in prepared), np.float64, n)
    lon = np.fromiter((np.nan if p.lon is None else p.lon for p in prepared), np.float64, n)
    which = np.flatnonzero(candidate)
    cl, cr = left[which], right[which]
    la1, la2 = np.radians(lat[cl]), np.radians(lat[cr])
    dl = np.radians(lon[cr] - lon[cl])
    h = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin(dl / 2) ** 2
    km = 2 * 6371.0 * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    which = which[~(km <= NEAR_KM + 0.01)]
    if not len(which):
        return left, right
    names = list(towns)[1:]  # by id
    width = len(names)
    codes = tl[which] * width + tr[which]
    unique, inverse = np.unique(codes, return_inverse=True)
    # Two different towns can only match (`keys.city_matches`: one is the other plus a
    # district) when their first words agree; ask it only about those pairs.
    firsts: dict[str, int] = {}
    first_word = np.fromiter(
        (firsts.setdefault((name.split() or [""])[0], len(firsts)) for name in names),
        dtype=np.int64,
        count=width,
    )
    ua, ub = unique // width, unique % width
    differ = first_word[ua] != first_word[ub]
    for k in np.flatnonzero(~differ).tolist():
        differ[k] = not city_matches(names[ua[k]], names[ub[k]])
    drop = np.zeros(len(left), dtype=bool)
    drop[which] = differ[inverse]
    return left[~drop], right[~drop]


def score_arrays(
    prepared: Sequence[Prepared], left: np.ndarray, right: np.ndarray
) -> list[tuple[float, int, int]]:
    """`score_pairs` for pairs given as index arrays: `screen_pairs` in bulk, then the
    exact title similarity and `quick_score` only for the survivors."""
    left, right = screen_pairs(prepared, left, right)
    scored: list[tuple[float, int, int]] = []
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        a, b = prepared[i], prepared[j]
        words = _words_similarity(a.title_words, b.title_words)
        if words is None or words < TITLE_GATE:
            continue
        score = quick_score(a, b, words)
        if score >= MIN_LINK:
            scored.append((score, i, j))
    return scored


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of small tuples are built (it
    would rescan them over and over: 3x slower at 30k offers); restore it afterwards.

    On the way out the objects the run left (the clusters and their merged fields) go
    straight to the oldest generation — ``gc.freeze()`` moves every tracked object to
    the permanent generation and ``gc.unfreeze()`` back into the oldest one, both without
    walking them — instead of being walked by the young-generation collection that would
    run next (about 1 s at 100k offers). Like any long-lived result they are then
    checked with the oldest generation. Skipped if the caller froze objects itself."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if not gc.get_freeze_count():
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def cluster_offers(
    offers: Sequence[OfferLike],
    *,
    previous: Mapping[tuple[str, str], str] | None = None,
    overrides: Overrides | None = None,
    priority: Sequence[str] = (),
    blocking: BlockingConfig | None = None,
    previous_clusters: Sequence[Cluster] | None = None,
    changed_keys: Collection[tuple[str, str]] | None = None,
    report: dict[str, int] | None = None,
) -> list[Cluster]:
    """Cluster offers that describe the same real-world offer (pure).

    *previous* maps ``(source_id, source_key)`` to the cluster id of an earlier run so
    ids stay stable; *overrides* are manual must/cannot-link corrections; *priority* lists
    source ids in order of preference for tie-breaking merged values. Every offer ends up
    in exactly one cluster; clusters come sorted by their smallest member key.

    Incremental run (a re-crawl of one source): pass the earlier run's clusters as
    *previous_clusters* and the keys of the offers whose content changed as
    *changed_keys* (offers not in *previous_clusters* count as changed; members that are
    gone mark their cluster). Only *dirty* records are re-clustered: the changed ones,
    every record that scores at least `MIN_LINK` with a dirty one, the records named
    with a dirty one in *overrides*, and all members of an earlier cluster that holds a
    dirty record (repeated until nothing is added). Every other earlier cluster is kept
    as it was — same id, members and merged fields, no pair of it compared (only its
    ``provider_id`` is looked up again). *report*, if given, receives the counts
    ``pairs_scored``, ``records_reclustered`` and ``clusters_kept``.
    """
    with _gc_paused():
        return _cluster_offers(
            offers,
            previous or {},
            overrides or Overrides(),
            priority,
            blocking,
            previous_clusters,
            changed_keys,
            report if report is not None else {},
        )


def _dirty_records(
    prepared: Sequence[Prepared],
    offers: Sequence[OfferLike],
    left: np.ndarray,
    right: np.ndarray,
    previous_clusters: Sequence[Cluster],
    changed_keys: Collection[tuple[str, str]],
    overrides: Overrides,
) -> tuple[np.ndarray, list[tuple[float, int, int]], int]:
    """Dirty mask, the scored pairs touching dirty records, and how many pairs were
    scored (see `cluster_offers`)."""
    n = len(offers)
    index = {(o.source_id, o.source_key): i for i, o in enumerate(offers)}
    groups: list[list[int]] = []
    group_of = np.full(n, -1, dtype=np.int64)
    dirty = np.zeros(n, dtype=bool)
    for cluster in previous_clusters:
        present = [index[m] for m in cluster.members if m in index]
        if len(present) < len(cluster.members):  # a member is gone
            dirty[present] = True
        group_of[present] = len(groups)
        groups.append(present)
    dirty[group_of < 0] = True  # new offers
    dirty[[index[k] for k in changed_keys if k in index]] = True
    by_member = {p.key: i for i, p in enumerate(prepared)}
    linked: dict[int, set[int]] = {}
    for a, b in overrides.must_pairs():
        if a in by_member and b in by_member:
            linked.setdefault(by_member[a], set()).add(by_member[b])
            linked.setdefault(by_member[b], set()).add(by_member[a])
    for a, partners in overrides.cannot_partners().items():
        for b in partners:
            if a in by_member and b in by_member:
                linked.setdefault(by_member[a], set()).add(by_member[b])
    scored: list[tuple[float, int, int]] = []
    done = np.zeros(len(left), dtype=bool)
    compared = 0
    while True:
        # Whole earlier clusters and override partners of dirty records become dirty.
        for g in set(group_of[dirty].tolist()) - {-1}:
            dirty[groups[g]] = True
        for i in np.flatnonzero(dirty).tolist():
            for j in linked.get(i, ()):
                dirty[j] = True
        for g in set(group_of[dirty].tolist()) - {-1}:
            dirty[groups[g]] = True
        todo = ~done & (dirty[left] | dirty[right])
        if not todo.any():
            return dirty, scored, compared
        done |= todo
        compared += int(todo.sum())
        found = score_arrays(prepared, left[todo], right[todo])
        scored.extend(found)
        for _, i, j in found:
            dirty[i] = dirty[j] = True


def _cluster_offers(
    offers: Sequence[OfferLike],
    previous: Mapping[tuple[str, str], str],
    overrides: Overrides,
    priority: Sequence[str],
    blocking: BlockingConfig | None,
    previous_clusters: Sequence[Cluster] | None,
    changed_keys: Collection[tuple[str, str]] | None,
    report: dict[str, int],
) -> list[Cluster]:
    # provider_ref resolution (dedupe.providers): compare with the resolved provider name.
    named = with_resolved_providers(offers)
    prepared = prepare_all(named)
    left, right = candidate_arrays(prepared, blocking)
    kept: list[Cluster] = []
    if previous_clusters is not None and changed_keys is not None:
        dirty, scored, compared = _dirty_records(
            prepared, offers, left, right, previous_clusters, changed_keys, overrides
        )
        clean_members = {
            (offers[i].source_id, offers[i].source_key) for i in np.flatnonzero(~dirty).tolist()
        }
        kept = [c for c in previous_clusters if c.members and set(c.members) <= clean_members]
        previous = dict(previous) or {m: c.id for c in previous_clusters for m in c.members}
        subset = np.flatnonzero(dirty).tolist()
    else:
        scored = score_arrays(prepared, left, right)
        compared = len(left)
        subset = list(range(len(offers)))
    report.update(pairs_scored=compared, records_reclustered=len(subset), clusters_kept=len(kept))
    if len(subset) == len(prepared):  # all of them: positions are the indices
        local, pairs = list(prepared), scored
    else:
        position = {i: n for n, i in enumerate(subset)}
        local = [prepared[i] for i in subset]
        pairs = [
            (score, position[gi], position[gj])
            for score, gi, gj in scored
            if gi in position and gj in position
        ]
    keys = [p.key for p in local]
    cache = {(i, j): score for score, i, j in pairs if score >= MIN_LINK}
    edges = [(score, i, j) for score, i, j in pairs if score >= MATCH_THRESHOLD]

    def pair_score(i: int, j: int) -> float:
        pair = (i, j) if i < j else (j, i)
        found = cache.get(pair)
        if found is None:
            found = quick_score(local[pair[0]], local[pair[1]])
            cache[pair] = found
        return found

    groups = cluster_indices(keys, edges, pair_score, overrides=overrides)
    member_lists = [
        [keys[group[0]]] if len(group) == 1 else sorted({keys[i] for i in group})
        for group in groups
    ]
    kept_ids = {c.id for c in kept}
    ids = assign_ids(
        member_lists, {m: cid for m, cid in previous.items() if cid not in kept_ids}, kept_ids
    )
    provider_ids = resolve_providers(named, refs_resolved=True)
    clusters: list[Cluster] = [
        Cluster(
            id=c.id,
            members=c.members,
            fields={**c.fields, "provider_id": _provider_field(c.members, provider_ids)},
        )
        for c in kept
    ]
    # The clusters are merged in the order of their first offer, which reads the offers
    # in memory order (in cluster order it is about 25% slower at 100k offers), and
    # listed in cluster order.
    first = [subset[group[0]] if len(group) == 1 else subset[min(group)] for group in groups]
    built: dict[int, Cluster] = {}
    for g in sorted(range(len(groups)), key=first.__getitem__):
        group = groups[g]
        if len(group) == 1:  # most clusters: no ordering, no vote on the provider
            offer = offers[first[g]]
            member = (offer.source_id, offer.source_key)
            fields = merge_single(offer)
            provider_id = provider_ids.get(member)
            fields["provider_id"] = MergedField(provider_id, {keys[group[0]]: provider_id}, False)
            built[g] = Cluster(ids[g], [member], fields)
            continue
        ordered = sorted((subset[i] for i in group), key=lambda i: (prepared[i].key, i))
        members = sorted({(offers[i].source_id, offers[i].source_key) for i in ordered})
        fields = merge_offers([offers[i] for i in ordered], priority)
        fields["provider_id"] = _provider_field(members, provider_ids)
        built[g] = Cluster(ids[g], members, fields)
    clusters.extend(built[g] for g in range(len(groups)))
    if kept:
        clusters.sort(key=lambda c: (min(f"{sid}:{skey}" for sid, skey in c.members), c.id))
    return clusters


def _provider_field(
    members: list[tuple[str, str]], provider_ids: Mapping[tuple[str, str], str]
) -> MergedField:
    """The provider entity of a cluster: the id most members have (ties: smallest id)."""
    sources = {f"{sid}:{skey}": provider_ids.get((sid, skey)) for sid, skey in members}
    given: dict[str, int] = {}
    for v in sources.values():
        if v is not None:
            given[v] = given.get(v, 0) + 1
    if len(given) > 1:
        value: str | None = min(given, key=lambda v: (-given[v], v))
    else:
        value = next(iter(given), None)
    return MergedField(value=value, sources=sources, conflict=len(given) > 1)
