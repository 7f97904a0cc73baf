"""The pure pipeline: prepare → block → score → cluster → merge, and `explain`."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from dedupe.blocking import BlockingConfig, candidate_arrays
from dedupe.clustering import MIN_LINK, assign_ids, cluster_indices
from dedupe.keys import city_matches
from dedupe.merge import MergedField, merge_offers
from dedupe.model import OfferLike, Prepared, prepare, prepare_all
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


def screen_pairs(
    prepared: Sequence[Prepared], left: np.ndarray, right: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The pairs that may score `MIN_LINK` or more, as index arrays.

    Vectorised, exact pre-filters (no pair that could reach `MIN_LINK` is dropped):

    * title screen in C over all pairs (``rapidfuzz.process.cpdist`` on both cores):
      ``token_set_ratio`` of the title words or the character ratio of the words written
      together must reach what `name_similarity` needs for the title gate — the same two
      screens `title_candidates` uses;
    * place gate: both towns known, different (`keys.city_matches` per distinct pair of
      towns), no shared PLZ and the coordinates (if any) more than `NEAR_KM` apart → the
      place similarity is 0 and the gate caps the score at `GATE_CAP`;
    * audience gate: both grade ranges known and disjoint → capped as well;
    * provider gate: see `_provider_screen`.
    """
    n = len(prepared)
    has_title = np.fromiter((p.title_words is not None for p in prepared), bool, n)
    keep = has_title[left] & has_title[right]
    grades = np.asarray([p.grades or (-1, -1) for p in prepared], dtype=np.int64)
    gl, gr = grades[left], grades[right]
    known = (gl[:, 0] >= 0) & (gr[:, 0] >= 0)
    keep &= ~(known & ((gl[:, 0] > gr[:, 1]) | (gr[:, 0] > gl[:, 1])))
    left, right = _place_screen(prepared, left[keep], right[keep])
    spaced = [p.title_words.spaced if p.title_words else "" for p in prepared]
    compact = [p.title_words.compact if p.title_words else "" for p in prepared]
    passed = np.zeros(len(left), dtype=bool)
    for lo in range(0, len(left), _BATCH):
        lb, rb = left[lo : lo + _BATCH].tolist(), right[lo : lo + _BATCH].tolist()
        hit = passed[lo : lo + _BATCH]
        for texts, scorer, cutoff in (
            (spaced, fuzz.token_set_ratio, TITLE_GATE),
            (compact, fuzz.ratio, 0.5 + TITLE_GATE / 2.0),
        ):
            scores = process.cpdist(
                [texts[i] for i in lb],
                [texts[j] for j in rb],
                scorer=scorer,
                processor=None,  # name words are normalised already
                score_cutoff=cutoff * 100.0 - 1e-6,
                dtype=np.float32,
                workers=-1,
            )
            hit |= scores.ravel() >= cutoff * 100.0 - 1e-3
    left, right = left[passed], right[passed]
    return _provider_screen(prepared, left, right)


#: Margin under `PROVIDER_GATE` (in percent) kept by the provider screen.
_PROVIDER_MARGIN = 5.0


def _provider_screen(
    prepared: Sequence[Prepared], left: np.ndarray, right: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Drop the pairs whose provider similarity is certainly below `PROVIDER_GATE`:
    both names known, neither ``token_set_ratio`` of the words nor the rescaled character
    ratio of the words written together reaches the gate (less a margin), and neither
    name is the other's acronym."""
    words = [p.provider_words for p in prepared]
    has = np.fromiter((w is not None for w in words), bool, len(prepared))
    both = np.flatnonzero(has[left] & has[right])
    if not len(both):
        return left, right
    lb, rb = left[both].tolist(), right[both].tolist()
    spaced = [w.spaced if w else "" for w in words]
    compact = [w.compact if w else "" for w in words]
    cutoff = PROVIDER_GATE * 100.0 - _PROVIDER_MARGIN
    tsr = process.cpdist(
        [spaced[i] for i in lb], [spaced[j] for j in rb],
        scorer=fuzz.token_set_ratio, processor=None, dtype=np.float32, workers=-1,
    )  # fmt: skip
    ratio = process.cpdist(
        [compact[i] for i in lb], [compact[j] for j in rb],
        scorer=fuzz.ratio, processor=None, dtype=np.float32, workers=-1,
    )  # fmt: skip
    low = (tsr.ravel() < cutoff) & ((ratio.ravel() - 50.0) * 2.0 < cutoff)
    drop = np.zeros(len(left), dtype=bool)
    for position in np.flatnonzero(low).tolist():
        a, b = prepared[lb[position]], prepared[rb[position]]
        wa, wb = a.provider_words, b.provider_words
        assert wa is not None and wb is not None
        if not (
            (a.provider_acronym and a.provider_acronym in wb.words)
            or (b.provider_acronym and b.provider_acronym in wa.words)
        ):
            drop[both[position]] = True
    return left[~drop], right[~drop]


def _place_screen(
    prepared: Sequence[Prepared], left: np.ndarray, right: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Drop the pairs whose place similarity is certainly 0 (see `screen_pairs`)."""
    towns: dict[str, int] = {"": -1}
    town = np.asarray([towns.setdefault(p.city, len(towns) - 1) for p in prepared])
    plzs: dict[str | None, int] = {None: -1}
    plz = np.asarray([plzs.setdefault(p.plz, len(plzs) - 1) for p in prepared])
    lat = np.asarray([np.nan if p.lat is None else p.lat for p in prepared], dtype=np.float64)
    lon = np.asarray([np.nan if p.lon is None else p.lon for p in prepared], dtype=np.float64)
    tl, tr = town[left], town[right]
    candidate = (tl >= 0) & (tr >= 0) & (tl != tr)
    candidate &= ~((plz[left] >= 0) & (plz[left] == plz[right]))
    la1, la2 = np.radians(lat[left]), np.radians(lat[right])
    dl = np.radians(lon[right] - lon[left])
    h = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin(dl / 2) ** 2
    km = 2 * 6371.0 * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    candidate &= ~(km <= NEAR_KM + 0.01)  # NaN (no coordinates) compares False: kept
    if not len(left) or not candidate.any():
        return left, right
    names = {v: k for k, v in towns.items()}
    width = len(towns)
    codes = tl[candidate] * width + tr[candidate]
    unique, inverse = np.unique(codes, return_inverse=True)
    differ = np.asarray(
        [not city_matches(names[int(c) // width], names[int(c) % width]) for c in unique],
        dtype=bool,
    )
    drop = np.zeros(len(left), dtype=bool)
    drop[np.flatnonzero(candidate)] = differ[inverse]
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
    would rescan them over and over: 3x slower at 30k offers); restore it afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
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
    prepared = prepare_all(with_resolved_providers(offers))
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
    position = {i: n for n, i in enumerate(subset)}
    local = [prepared[i] for i in subset]
    keys = [p.key for p in local]
    cache: dict[tuple[int, int], float] = {}
    edges: list[tuple[float, int, int]] = []
    for score, gi, gj in scored:
        if gi not in position or gj not in position:
            continue
        i, j = position[gi], position[gj]
        if score >= MIN_LINK:
            cache[(i, j)] = score
        if score >= MATCH_THRESHOLD:
            edges.append((score, i, j))

    def pair_score(i: int, j: int) -> float:
        pair = (i, j) if i < j else (j, i)
        found = cache.get(pair)
        if found is None:
            found = quick_score(local[pair[0]], local[pair[1]])
            cache[pair] = found
        return found

    groups = cluster_indices(keys, edges, pair_score, overrides=overrides)
    member_lists = [sorted({keys[i] for i in group}) for group in groups]
    kept_ids = {c.id for c in kept}
    ids = assign_ids(
        member_lists, {m: cid for m, cid in previous.items() if cid not in kept_ids}, kept_ids
    )
    provider_ids = resolve_providers(offers)
    clusters: list[Cluster] = [
        Cluster(
            id=c.id,
            members=c.members,
            fields={**c.fields, "provider_id": _provider_field(c.members, provider_ids)},
        )
        for c in kept
    ]
    for cid, group in zip(ids, groups, strict=True):
        ordered = sorted((subset[i] for i in group), key=lambda i: (prepared[i].key, i))
        members = sorted({(offers[i].source_id, offers[i].source_key) for i in ordered})
        fields = merge_offers([offers[i] for i in ordered], priority)
        fields["provider_id"] = _provider_field(members, provider_ids)
        clusters.append(Cluster(id=cid, members=members, fields=fields))
    if kept:
        clusters.sort(key=lambda c: (min(f"{sid}:{skey}" for sid, skey in c.members), c.id))
    return clusters


def _provider_field(
    members: list[tuple[str, str]], provider_ids: Mapping[tuple[str, str], str]
) -> MergedField:
    """The provider entity of a cluster: the id most members have (ties: smallest id)."""
    sources = {f"{sid}:{skey}": provider_ids.get((sid, skey)) for sid, skey in members}
    given = Counter(v for v in sources.values() if v is not None)
    value = min(given, key=lambda v: (-given[v], v)) if given else None
    return MergedField(value=value, sources=sources, conflict=len(given) > 1)
