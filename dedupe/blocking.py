"""Candidate pairs: only offers that share a block (or sit next to each other when sorted
by title) are ever scored, so the work grows about linearly with the number of offers.

Blocks, each capped at `BlockingConfig.max_block_size` members (bigger blocks are
skipped; the finer blocks below cover them):

* ``z:`` same PLZ, ``c:`` same town;
* ``t:`` one of the record's rarest title words, ``p:`` one of its rarest provider words
  (words found in more records than the cap are useless and skipped);
* ``ct:`` / ``cp:`` town plus a rare title / provider word, so that big towns, whose
  plain town block is too large, still pair their offers;
* a sorted-neighbourhood window over the title key, over provider + title key and over
  town + the title's words in sorted order (reordered titles).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from dedupe.model import Prepared

__all__ = [
    "BlockingConfig",
    "BlockingStats",
    "block_keys",
    "blocking_stats",
    "candidate_arrays",
    "candidate_pairs",
]


@dataclass(frozen=True, slots=True)
class BlockingConfig:
    """Knobs of `candidate_pairs`."""

    max_block_size: int = 40
    title_words: int = 3
    provider_words: int = 2
    window: int = 4
    min_word_length: int = 3


@dataclass(frozen=True, slots=True)
class BlockingStats:
    """How much blocking saved and (given the true pairs) how much it lost."""

    records: int
    candidate_pairs: int
    reduction_ratio: float
    pair_completeness: float | None


def _rarest(tokens: Iterable[str], df: Counter[str], k: int, min_len: int) -> list[str]:
    """The *k* rarest words that some other record shares (a word only this record has
    makes a block of one)."""
    usable = {t for t in tokens if (len(t) >= min_len or t.isdigit()) and df[t] > 1}
    return sorted(usable, key=lambda t: (df[t], t))[:k]


def block_keys(prepared: Sequence[Prepared], config: BlockingConfig) -> list[list[str]]:
    """The block keys of each record (see the module docstring)."""
    title_df: Counter[str] = Counter()
    provider_df: Counter[str] = Counter()
    for rec in prepared:
        title_df.update(set(rec.title_tokens))
        provider_df.update(set(rec.provider_tokens))
    keys: list[list[str]] = []
    for rec in prepared:
        own: list[str] = []
        if rec.plz:
            own.append("z:" + rec.plz)
        if rec.city:
            own.append("c:" + rec.city)
        title_words = _rarest(
            rec.title_tokens, title_df, config.title_words, config.min_word_length
        )
        provider_words = _rarest(
            rec.provider_tokens, provider_df, config.provider_words, config.min_word_length
        )
        own.extend("t:" + w for w in title_words)
        own.extend("p:" + w for w in provider_words)
        place = rec.city or rec.plz
        if place:
            own.extend(f"ct:{place}|{w}" for w in title_words)
            own.extend(f"cp:{place}|{w}" for w in provider_words)
        keys.append(own)
    return keys


def candidate_arrays(
    prepared: Sequence[Prepared], config: BlockingConfig | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """`candidate_pairs` as two index arrays ``(left, right)`` with ``left < right``, sorted
    by ``(left, right)``, without a Python object per pair.

    Blocks of one size are stacked into one matrix and all their pairs taken at once
    (``triu_indices``); the sorted-neighbourhood windows are shifted copies of the order.
    """
    config = config or BlockingConfig()
    blocks: dict[str, list[int]] = defaultdict(list)
    for index, own in enumerate(block_keys(prepared, config)):
        for key in own:
            blocks[key].append(index)
    by_size: dict[int, list[list[int]]] = defaultdict(list)
    for members in blocks.values():
        if 1 < len(members) <= config.max_block_size:
            by_size[len(members)].append(members)
    n = len(prepared)
    chunks: list[np.ndarray] = []
    for size, groups in by_size.items():
        matrix = np.asarray(groups, dtype=np.int64)  # members are in increasing order
        rows, cols = np.triu_indices(size, 1)
        chunks.append((matrix[:, rows] * n + matrix[:, cols]).ravel())
    # Ties are broken by member key, not position, so the pairs do not depend on input order.
    # The third order (town, title words sorted) catches reordered titles within a town.
    words = [" ".join(sorted(p.title_tokens)) for p in prepared]
    for sort_key in (
        lambda i: (prepared[i].title, prepared[i].key, i),
        lambda i: (prepared[i].provider, prepared[i].title, prepared[i].key, i),
        lambda i: (prepared[i].city, words[i], prepared[i].key, i),
    ):
        order = np.asarray(
            sorted((i for i in range(n) if prepared[i].title), key=sort_key), dtype=np.int64
        )
        for shift in range(1, config.window):
            a, b = order[:-shift], order[shift:]
            chunks.append(np.minimum(a, b) * n + np.maximum(a, b))
    if not chunks:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    codes = np.concatenate(chunks)
    codes.sort()  # sort + neighbour test: much faster than np.unique's hashing here
    if len(codes):
        codes = codes[np.concatenate(([True], codes[1:] != codes[:-1]))]
    return codes // n, codes % n


def candidate_pairs(
    prepared: Sequence[Prepared], config: BlockingConfig | None = None
) -> list[tuple[int, int]]:
    """Index pairs ``(i, j)`` with ``i < j`` worth scoring, sorted.

    At most ``max_block_size - 1`` partners per record and block, so the number of pairs
    is bounded by a constant times the number of records.
    """
    left, right = candidate_arrays(prepared, config)
    return list(zip(left.tolist(), right.tolist(), strict=True))


def blocking_stats(
    records: int,
    pairs: Iterable[tuple[int, int]],
    true_pairs: Iterable[tuple[int, int]] | None = None,
) -> BlockingStats:
    """Reduction ratio (share of all pairs not scored) and pair completeness (share of the
    true matching pairs that blocking kept; ``None`` without *true_pairs*)."""
    found = {(min(i, j), max(i, j)) for i, j in pairs}
    all_pairs = records * (records - 1) // 2
    reduction = 1.0 - len(found) / all_pairs if all_pairs else 0.0
    completeness: float | None = None
    if true_pairs is not None:
        truth = {(min(i, j), max(i, j)) for i, j in true_pairs}
        completeness = len(truth & found) / len(truth) if truth else 1.0
    return BlockingStats(records, len(found), reduction, completeness)
