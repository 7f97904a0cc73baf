"""The vectorised pre-filters drop only pairs that could not reach the linkage floor:
`score_arrays` equals `quick_score` over every candidate pair."""

from __future__ import annotations

from conftest import synthetic_offers

from dedupe.blocking import candidate_arrays, candidate_pairs
from dedupe.clustering import MIN_LINK
from dedupe.core import score_arrays, screen_pairs
from dedupe.model import prepare_all
from dedupe.scoring import quick_score


def test_screens_are_exact() -> None:
    offers, _ = synthetic_offers(1500, seed=11)
    prepared = prepare_all(offers)
    left, right = candidate_arrays(prepared)
    assert list(zip(left.tolist(), right.tolist(), strict=True)) == candidate_pairs(prepared)
    expected = set()
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        score = quick_score(prepared[i], prepared[j])
        if score >= MIN_LINK:
            expected.add((score, i, j))
    assert expected  # the data have matches to find
    assert set(score_arrays(prepared, left, right)) == expected
    kept, _ = screen_pairs(prepared, left, right)
    assert len(kept) < len(left) / 3  # and the screens do drop most pairs
