"""The vectorised pre-filters drop only pairs that could not reach the linkage floor:
`score_arrays` equals `quick_score` over every candidate pair."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from dedupe.blocking import candidate_arrays, candidate_pairs
from dedupe.clustering import MIN_LINK
from dedupe.core import score_arrays, screen_pairs
from dedupe.model import prepare_all
from dedupe.scoring import quick_score

_SYNTH = Path(__file__).resolve().parent.parent / "bench" / "synth_offers.py"


def _generate(n: int, seed: int):  # noqa: ANN202 - SynthOffer list and truth
    spec = importlib.util.spec_from_file_location("synth_offers_for_screens", _SYNTH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.generate(n, seed)


def test_screens_are_exact() -> None:
    offers, _ = _generate(1500, seed=11)
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
