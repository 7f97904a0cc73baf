"""Scale: candidate pairs grow linearly and 100k offers cluster well under a minute; the
fast paths (integer block codes, per-string caches) give what the plain forms give.

The 100k run takes ~10-15 s on a 2-core machine and is opt-in:
``MINTSUCHE_PERF=1 .venv/bin/pytest tests/test_dedupe_perf.py``.
"""

import gc
import itertools
import os
import random
import time
from collections import defaultdict

import pytest

from dedupe import BlockingConfig, candidate_pairs, cluster_offers, prepare
from dedupe.blocking import block_keys
from dedupe.model import Prepared, prepare_all
from dedupe.testing import SimpleOffer

COMMON = [
    "Workshop",
    "Ferien",
    "Mathematik",
    "Informatik",
    "Robotik",
    "Camp",
    "für",
    "Schüler",
    "und",
    "Kinder",
    "Technik",
    "Forschen",
    "Labor",
    "Physik",
    "Chemie",
]


def synthetic_offers(n: int, seed: int = 1) -> list[SimpleOffer]:
    """Offers with Zipf-distributed towns, providers with several offers each, common
    title words, and ~10 % re-listings with noise (upper case, "(ausgebucht)", "e. V.")."""
    rnd = random.Random(seed)
    words = [
        "".join(rnd.choice("abcdefghijklmnoprstuvw") for _ in range(rnd.randint(4, 11)))
        for _ in range(4000)
    ]
    towns = [f"Ort {i}" for i in range(3000)]
    weights = [1.0 / (i + 1) ** 1.1 for i in range(len(towns))]
    providers = []
    for _ in range(max(1, n // 8)):
        town = rnd.choices(towns, weights)[0]
        name = " ".join(rnd.choice(words).capitalize() for _ in range(rnd.randint(1, 3)))
        providers.append((name + rnd.choice([" e.V.", " GmbH", "", " Universität"]), town))
    offers: list[SimpleOffer] = []
    for i in range(n):
        provider, town = rnd.choice(providers)
        title_words = rnd.sample(COMMON, rnd.randint(0, 3)) + [
            rnd.choice(words) for _ in range(rnd.randint(1, 4))
        ]
        rnd.shuffle(title_words)
        title = " ".join(title_words)
        offers.append(SimpleOffer(f"src{i % 4}", f"k{i}", title, provider, town))
        if rnd.random() < 0.1:
            offers.append(
                SimpleOffer(
                    "other",
                    f"d{i}",
                    title.upper() + " (ausgebucht)",
                    provider.replace(" e.V.", " e. V."),
                    town,
                )
            )
    return offers


def _string_block_pairs(prepared: list[Prepared], config: BlockingConfig) -> list[tuple[int, int]]:
    """The candidate pairs as the blocking docstring states them, with string block keys
    (`block_keys`) and Python sorts for the sorted-neighbourhood windows."""
    blocks: dict[str, list[int]] = defaultdict(list)
    for index, own in enumerate(block_keys(prepared, config)):
        for key in own:
            blocks[key].append(index)
    pairs: set[tuple[int, int]] = set()
    for members in blocks.values():
        if 1 < len(members) <= config.max_block_size:
            pairs.update(itertools.combinations(members, 2))
    words = [" ".join(sorted(p.title_tokens)) for p in prepared]
    for sort_key in (
        lambda i: (prepared[i].title, prepared[i].key, i),
        lambda i: (prepared[i].provider, prepared[i].title, prepared[i].key, i),
        lambda i: (prepared[i].city, words[i], prepared[i].key, i),
    ):
        order = sorted((i for i in range(len(prepared)) if prepared[i].title), key=sort_key)
        for shift in range(1, config.window):
            pairs.update(
                (min(a, b), max(a, b)) for a, b in zip(order[:-shift], order[shift:], strict=True)
            )
    return sorted(pairs)


@pytest.mark.parametrize(
    "config", [BlockingConfig(), BlockingConfig(max_block_size=6, window=3, title_words=1)]
)
def test_candidate_pairs_are_the_string_blocks(config: BlockingConfig) -> None:
    offers = synthetic_offers(2500, seed=5)
    offers += [SimpleOffer("x", f"e{i}", "", None, "Ort 1") for i in range(3)]  # no title
    prepared = prepare_all(offers)
    expected = _string_block_pairs(prepared, config)
    assert len(expected) > len(offers)
    assert candidate_pairs(prepared, config) == expected


def test_prepare_all_is_prepare_per_offer() -> None:
    offers = synthetic_offers(1500, seed=9)
    assert prepare_all(offers) == [prepare(o) for o in offers]


def test_clustering_leaves_the_garbage_collector_as_it_was() -> None:
    offers = synthetic_offers(300, seed=2)
    assert gc.isenabled()
    cluster_offers(offers)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    gc.disable()
    try:
        cluster_offers(offers)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_pairs_per_record_stay_bounded() -> None:
    small = [prepare(o) for o in synthetic_offers(2000)]
    large = [prepare(o) for o in synthetic_offers(10000)]
    per_small = len(candidate_pairs(small)) / len(small)
    per_large = len(candidate_pairs(large)) / len(large)
    assert per_large < 2 * per_small + 10


def test_relistings_are_found() -> None:
    offers = synthetic_offers(3000, seed=3)
    clusters = cluster_offers(offers)
    cluster_of = {m: c.id for c in clusters for m in c.members}
    relisted = [o for o in offers if o.source_id == "other"]
    found = sum(
        cluster_of[("other", o.source_key)]
        == cluster_of[(f"src{int(o.source_key[1:]) % 4}", "k" + o.source_key[1:])]
        for o in relisted
    )
    assert found / len(relisted) >= 0.95


@pytest.mark.skipif(not os.environ.get("MINTSUCHE_PERF"), reason="set MINTSUCHE_PERF=1")
def test_100k_offers_under_a_minute() -> None:
    offers = synthetic_offers(100_000)
    started = time.perf_counter()
    clusters = cluster_offers(offers)
    elapsed = time.perf_counter() - started
    assert sum(len(c.members) for c in clusters) == len(offers)
    assert elapsed < 60, elapsed
