"""The pure pipeline: prepare → block → score → cluster → merge, and `explain`."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter

from dedupe.blocking import BlockingConfig, candidate_pairs
from dedupe.clustering import MIN_LINK, assign_ids, cluster_indices
from dedupe.merge import MergedField, merge_offers
from dedupe.model import OfferLike, Prepared, prepare, prepare_all
from dedupe.overrides import Overrides
from dedupe.providers import resolve_providers
from dedupe.scoring import (
    GATE_CAP,
    MATCH_THRESHOLD,
    PROVIDER_GATE,
    TITLE_GATE,
    WEIGHTS,
    Decision,
    compare,
    quick_score,
    title_candidates,
)

__all__ = ["Cluster", "Explanation", "cluster_offers", "explain", "score_pairs"]


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
    score at most `GATE_CAP`, below every clustering threshold.

    Titles are screened in batches (rapidfuzz ``process.extract`` per left record, with the
    gate as score cutoff), and only the survivors are compared field by field.
    """
    scored: list[tuple[float, int, int]] = []
    for i, group in groupby(sorted(pairs), key=itemgetter(0)):
        a = prepared[i]
        if a.title_words is None:
            continue
        partners = [j for _, j in group]
        for position in title_candidates(
            a.title_words, [prepared[j].title_words for j in partners]
        ):
            j = partners[position]
            score = quick_score(a, prepared[j])
            if score > 0.0:
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
) -> list[Cluster]:
    """Cluster offers that describe the same real-world offer (pure).

    *previous* maps ``(source_id, source_key)`` to the cluster id of an earlier run so
    ids stay stable; *overrides* are manual must/cannot-link corrections; *priority* lists
    source ids in order of preference for tie-breaking merged values. Every offer ends up
    in exactly one cluster; clusters come sorted by their smallest member key.
    """
    with _gc_paused():
        return _cluster_offers(offers, previous or {}, overrides, priority, blocking)


def _cluster_offers(
    offers: Sequence[OfferLike],
    previous: Mapping[tuple[str, str], str],
    overrides: Overrides | None,
    priority: Sequence[str],
    blocking: BlockingConfig | None,
) -> list[Cluster]:
    prepared = prepare_all(offers)
    keys = [p.key for p in prepared]
    pairs = candidate_pairs(prepared, blocking)
    cache: dict[tuple[int, int], float] = {}
    edges: list[tuple[float, int, int]] = []
    for score, i, j in score_pairs(prepared, pairs):
        if score >= MIN_LINK:
            cache[(i, j)] = score
        if score >= MATCH_THRESHOLD:
            edges.append((score, i, j))

    def pair_score(i: int, j: int) -> float:
        pair = (i, j) if i < j else (j, i)
        found = cache.get(pair)
        if found is None:
            found = quick_score(prepared[pair[0]], prepared[pair[1]])
            cache[pair] = found
        return found

    groups = cluster_indices(keys, edges, pair_score, overrides=overrides)
    member_lists: list[list[str]] = []
    for group in groups:
        ordered = sorted(group, key=lambda i: (keys[i], i))
        member_lists.append(sorted({keys[i] for i in ordered}))
    ids = assign_ids(member_lists, previous)
    provider_ids = resolve_providers(offers)
    clusters: list[Cluster] = []
    for cid, group in zip(ids, groups, strict=True):
        ordered = sorted(group, key=lambda i: (keys[i], i))
        members = sorted({(offers[i].source_id, offers[i].source_key) for i in ordered})
        fields = merge_offers([offers[i] for i in ordered], priority)
        fields["provider_id"] = _provider_field(members, provider_ids)
        clusters.append(Cluster(id=cid, members=members, fields=fields))
    return clusters


def _provider_field(
    members: list[tuple[str, str]], provider_ids: Mapping[tuple[str, str], str]
) -> MergedField:
    """The provider entity of a cluster: the id most members have (ties: smallest id)."""
    sources = {f"{sid}:{skey}": provider_ids.get((sid, skey)) for sid, skey in members}
    given = Counter(v for v in sources.values() if v is not None)
    value = min(given, key=lambda v: (-given[v], v)) if given else None
    return MergedField(value=value, sources=sources, conflict=len(given) > 1)
