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

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain

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


def _rarest_per_record(
    token_tuples: Sequence[tuple[str, ...]], k: int, min_len: int
) -> list[tuple[str, ...]]:
    """`_rarest` for every record, computed once per distinct token tuple (titles and
    provider names repeat a lot)."""
    counts = Counter(token_tuples)
    df: Counter[str] = Counter()
    for tokens, count in counts.items():
        for token in set(tokens):
            df[token] += count
    rarest = {tokens: tuple(_rarest(tokens, df, k, min_len)) for tokens in counts}
    return [rarest[tokens] for tokens in token_tuples]


def _ranks(strings: Sequence[str]) -> np.ndarray:
    """Position of each string in the sorted distinct strings (for `np.lexsort`)."""
    rank = {text: n for n, text in enumerate(sorted(set(strings)))}
    return np.fromiter(map(rank.__getitem__, strings), dtype=np.int64, count=len(strings))


# Kinds of block: their codes never collide (see `candidate_arrays`).
_PLZ, _TOWN, _TITLE_WORD, _PROVIDER_WORD, _TOWN_TITLE, _TOWN_PROVIDER = range(1, 7)


def candidate_arrays(
    prepared: Sequence[Prepared], config: BlockingConfig | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """`candidate_pairs` as two index arrays ``(left, right)`` with ``left < right``, sorted
    by ``(left, right)``, without a Python object per pair.

    The blocks of `block_keys`, as integer codes (kind, place, word) instead of strings:
    the memberships are sorted by code, blocks of one size are stacked into one matrix
    and all their pairs taken at once (``triu_indices``); the sorted-neighbourhood
    windows are shifted copies of the orders (``np.lexsort`` of string ranks).
    """
    config = config or BlockingConfig()
    n = len(prepared)
    title_tokens = [p.title_tokens for p in prepared]
    title_words = _rarest_per_record(title_tokens, config.title_words, config.min_word_length)
    provider_words = _rarest_per_record(
        [p.provider_tokens for p in prepared], config.provider_words, config.min_word_length
    )
    # One id per distinct string; the kind of block keeps the namespaces apart.
    ids: dict[str | None, int] = {}

    def intern(values: Iterable[str | None]) -> Iterator[int]:
        """Ids of *values* (-1 for an empty one), numbering new strings as they come."""
        values = list(values)
        for value in dict.fromkeys(values):
            ids.setdefault(value, len(ids) if value else -1)
        return map(ids.__getitem__, values)

    def id_array(values: Sequence[str | None]) -> np.ndarray:
        return np.fromiter(intern(values), dtype=np.int64, count=n)

    plz = id_array([p.plz for p in prepared])
    town = id_array([p.city for p in prepared])
    place = id_array([p.city or p.plz for p in prepared])

    def flat(words: list[tuple[str, ...]]) -> tuple[np.ndarray, np.ndarray]:
        """(record, word id) of every listed word."""
        lengths = np.fromiter(map(len, words), dtype=np.int64, count=n)
        word = np.fromiter(
            intern(chain.from_iterable(words)), dtype=np.int64, count=int(lengths.sum())
        )
        return np.repeat(np.arange(n, dtype=np.int64), lengths), word

    title_rec, title_word = flat(title_words)
    provider_rec, provider_word = flat(provider_words)
    size = len(ids) + 1
    records: list[np.ndarray] = []
    codes: list[np.ndarray] = []

    def add(kind: int, rec: np.ndarray, a: np.ndarray, b: np.ndarray | int = 0) -> None:
        records.append(rec)
        codes.append((kind * size + a) * size + b)

    everyone = np.arange(n, dtype=np.int64)
    add(_PLZ, everyone[plz >= 0], plz[plz >= 0])
    add(_TOWN, everyone[town >= 0], town[town >= 0])
    add(_TITLE_WORD, title_rec, title_word)
    add(_PROVIDER_WORD, provider_rec, provider_word)
    for kind, rec, word in (
        (_TOWN_TITLE, title_rec, title_word),
        (_TOWN_PROVIDER, provider_rec, provider_word),
    ):
        known = place[rec] >= 0
        add(kind, rec[known], place[rec][known], word[known])
    rec = np.concatenate(records)
    code = np.concatenate(codes)
    order = np.lexsort((rec, code))  # by block, members in increasing order
    rec, code = rec[order], code[order]
    starts = np.flatnonzero(np.concatenate(([True], code[1:] != code[:-1])))
    sizes = np.diff(np.append(starts, len(code)))
    chunks: list[np.ndarray] = []
    for block_size in np.unique(sizes[(sizes > 1) & (sizes <= config.max_block_size)]).tolist():
        first = starts[sizes == block_size]
        matrix = rec[first[:, None] + np.arange(block_size)]
        rows, cols = np.triu_indices(block_size, 1)
        chunks.append((matrix[:, rows] * n + matrix[:, cols]).ravel())
    # Ties are broken by member key, not position, so the pairs do not depend on input order.
    # The third order (town, title words sorted) catches reordered titles within a town.
    titled = np.flatnonzero(np.fromiter((bool(p.title) for p in prepared), dtype=bool, count=n))
    sorted_words = {tokens: " ".join(sorted(tokens)) for tokens in set(title_tokens)}
    key = _ranks([p.key for p in prepared])
    title = _ranks([p.title for p in prepared])
    for primary in (
        (title,),
        (_ranks([p.provider for p in prepared]), title),
        (_ranks([p.city for p in prepared]), _ranks([sorted_words[t] for t in title_tokens])),
    ):
        columns = [titled, key[titled], *(column[titled] for column in reversed(primary))]
        order = titled[np.lexsort(columns)]
        for shift in range(1, config.window):
            a, b = order[:-shift], order[shift:]
            chunks.append(np.minimum(a, b) * n + np.maximum(a, b))
    if not chunks:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    pairs = np.concatenate(chunks)
    pairs.sort()  # sort + neighbour test: much faster than np.unique's hashing here
    if len(pairs):
        pairs = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))]
    return pairs // n, pairs % n


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
