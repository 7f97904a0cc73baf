"""From scored pairs to clusters, without chaining, and stable cluster ids.

Matched pairs are taken strongest first. Two clusters are merged only if the link
between *all* their members holds up: the average pair score must reach the match
threshold and no pair may fall below `MIN_LINK` (which lies above the gate cap, so a
pair that a gate ruled out always blocks the merge). So A~B and B~C with A≁C leave C
out of {A, B} instead of chaining all three together. Pair scores that blocking did not
produce are computed on demand.

Must-link groups are merged first, regardless of score; cannot-link pairs block every
merge that would put them together (also must-link ones).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence

from dedupe.overrides import Overrides
from dedupe.scoring import MATCH_THRESHOLD

__all__ = ["MIN_LINK", "assign_ids", "cluster_indices", "fallback_id"]

#: No two members of a cluster may score below this (above `scoring.GATE_CAP`).
MIN_LINK = 0.65


class _Clusters:
    """Disjoint clusters of record indices with coherent (average + minimum) linkage."""

    def __init__(
        self,
        keys: Sequence[str],
        score: Callable[[int, int], float],
        overrides: Overrides,
        threshold: float,
        min_link: float,
    ) -> None:
        self.keys = keys
        self.score = score
        self.threshold = threshold
        self.min_link = min_link
        self.of = list(range(len(keys)))
        self.members: dict[int, list[int]] = {i: [i] for i in range(len(keys))}
        index = {k: i for i, k in enumerate(keys)}
        self.cannot: dict[int, set[int]] = {}
        for key, partners in overrides.cannot_partners().items():
            if key in index:
                self.cannot[index[key]] = {index[p] for p in partners if p in index}

    def blocked(self, a: list[int], b: list[int]) -> bool:
        """Whether a cannot-link pair would end up inside one cluster."""
        if not self.cannot:
            return False
        bset = set(b)
        return any(self.cannot.get(x, set()) & bset for x in a)

    def coherent(self, a: list[int], b: list[int]) -> bool:
        """Average linkage ≥ threshold and every pair ≥ min_link."""
        total = 0.0
        for x in a:
            for y in b:
                s = self.score(x, y)
                if s < self.min_link:
                    return False
                total += s
        return total / (len(a) * len(b)) >= self.threshold

    def merge(self, i: int, j: int, *, forced: bool = False) -> bool:
        """Merge the clusters of *i* and *j* if allowed; return whether they are one now."""
        ci, cj = self.of[i], self.of[j]
        if ci == cj:
            return True
        a, b = self.members[ci], self.members[cj]
        if self.blocked(a, b):
            return False
        if not forced and not self.coherent(a, b):
            return False
        if len(a) < len(b):
            ci, cj, a, b = cj, ci, b, a
        a.extend(b)
        for x in b:
            self.of[x] = ci
        del self.members[cj]
        return True


def cluster_indices(
    keys: Sequence[str],
    edges: Sequence[tuple[float, int, int]],
    score: Callable[[int, int], float],
    *,
    overrides: Overrides | None = None,
    threshold: float = MATCH_THRESHOLD,
    min_link: float = MIN_LINK,
) -> list[list[int]]:
    """Group records into clusters.

    *keys* are the member keys (``"source_id:source_key"``) by index, *edges* the matched
    pairs as ``(score, i, j)``, *score(i, j)* the pair score for any two indices (used for
    linkage between members that were not paired by blocking). Records with the same key
    are always put together. Returns clusters as sorted index lists, sorted by their
    smallest member key; every index is in exactly one cluster.
    """
    overrides = overrides or Overrides()
    state = _Clusters(keys, score, overrides, threshold, min_link)
    first: dict[str, int] = {}
    for i, key in enumerate(keys):
        if key in first:
            state.merge(first[key], i, forced=True)
        else:
            first[key] = i
    for a, b in overrides.must_pairs():
        if a in first and b in first:
            state.merge(first[a], first[b], forced=True)

    def edge_order(edge: tuple[float, int, int]) -> tuple[float, str, str, int, int]:
        score, i, j = edge
        a, b = sorted((keys[i], keys[j]))
        return (-score, a, b, min(i, j), max(i, j))

    for _, i, j in sorted(edges, key=edge_order):  # strongest first, ties by member key
        state.merge(i, j)
    clusters = [m if len(m) == 1 else sorted(m) for m in state.members.values()]
    clusters.sort(key=lambda m: (keys[m[0]] if len(m) == 1 else min(keys[i] for i in m), m[0]))
    return clusters


def fallback_id(member_keys: Sequence[str]) -> str:
    """``"c"`` + the first 12 hex digits of sha1 of the smallest member key."""
    return "c" + hashlib.sha1(min(member_keys).encode("utf-8")).hexdigest()[:12]


def assign_ids(
    clusters: Sequence[Sequence[str]],
    previous: Mapping[tuple[str, str], str],
    reserved: Collection[str] = (),
) -> list[str]:
    """Stable ids for clusters given as lists of member keys ``"source_id:source_key"``.

    A cluster reuses the previous id that most of its members had (ties → the smallest
    id); each previous id goes to one cluster only — the one where most members had it
    (ties → the cluster with the smallest member key); a cluster left without one gets
    `fallback_id`. Ids in *reserved* (held by clusters kept from an earlier run) are
    never given out.
    """
    prev: dict[str, str] = {f"{sid}:{skey}": cid for (sid, skey), cid in previous.items()}
    claims: list[tuple[int, str, str, int]] = []
    for n, members in enumerate(clusters) if prev else ():
        counts = Counter(prev[k] for k in members if k in prev)
        smallest = min(members)
        claims.extend((-count, old, smallest, n) for old, count in counts.items())
    ids: list[str | None] = [None] * len(clusters)
    used: set[str] = set(reserved)
    # Strongest claims first; within a cluster the smallest id among equally strong ones.
    for _, old, _, n in sorted(claims, key=lambda c: (c[0], c[2], c[1])):
        if ids[n] is None and old not in used:
            ids[n] = old
            used.add(old)
    result: list[str] = []
    for n, members in enumerate(clusters):
        cid = ids[n]
        if cid is None:
            cid = fallback_id(members)
            salt = 0
            while cid in used:
                salt += 1
                cid = (
                    "c"
                    + hashlib.sha1(
                        ("\n".join(sorted(members)) + f"#{salt}").encode("utf-8")
                    ).hexdigest()[:12]
                )
        used.add(cid)
        result.append(cid)
    return result
