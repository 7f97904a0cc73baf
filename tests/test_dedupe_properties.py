"""Properties of `cluster_offers` on random small inputs (hypothesis)."""

from itertools import combinations
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe import Overrides, cluster_offers, load_overrides, member_key, prepare
from dedupe.clustering import MIN_LINK
from dedupe.scoring import quick_score
from dedupe.testing import SimpleOffer

TITLES = [
    "Mathecamp",
    "MATHECAMP",
    "Mathe-Camp",
    "Schülerzirkel",
    "FIRST LEGO League",
    "FIRST LEGO League Junior",
    "Robotik-Workshop",
    "Chemie-Workshop",
    "",
    "Biologie",
]
PROVIDERS = [None, "LSGM", "HANDS on TECHNOLOGY e.V.", "HANDS on TECHNOLOGY e. V.", "GaraGe"]
TOWNS = [None, "Leipzig", "Halle (Saale)", "Halle", "Dresden"]

offer_specs = st.lists(
    st.tuples(st.sampled_from(TITLES), st.sampled_from(PROVIDERS), st.sampled_from(TOWNS)),
    min_size=1,
    max_size=12,
)


def _offers(specs: list[tuple[str, str | None, str | None]]) -> list[SimpleOffer]:
    return [SimpleOffer(f"s{i % 3}", f"k{i}", t, p, c) for i, (t, p, c) in enumerate(specs)]


@settings(max_examples=60, deadline=None)
@given(offer_specs, st.randoms(use_true_random=False))
def test_partition_deterministic_and_coherent(specs, rnd) -> None:
    offers = _offers(specs)
    clusters = cluster_offers(offers)
    members = [m for c in clusters for m in c.members]
    assert sorted(members) == sorted((o.source_id, o.source_key) for o in offers)
    assert len({c.id for c in clusters}) == len(clusters)
    shuffled = list(offers)
    rnd.shuffle(shuffled)
    again = cluster_offers(shuffled)
    assert [(c.id, c.members) for c in again] == [(c.id, c.members) for c in clusters]
    by_key = {(o.source_id, o.source_key): prepare(o) for o in offers}
    for cluster in clusters:
        for a, b in combinations(cluster.members, 2):
            assert quick_score(by_key[a], by_key[b]) >= MIN_LINK  # no chaining


@settings(max_examples=30, deadline=None)
@given(offer_specs)
def test_previous_ids_are_kept_on_a_rerun(specs) -> None:
    offers = _offers(specs)
    first = cluster_offers(offers)
    previous = {m: c.id for c in first for m in c.members}
    second = cluster_offers(offers, previous=previous)
    assert [(c.id, c.members) for c in second] == [(c.id, c.members) for c in first]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(TITLES), st.sampled_from(PROVIDERS), st.sampled_from(TOWNS)),
        min_size=2,
        max_size=10,
    ),
    st.data(),
)
def test_overrides_are_obeyed(specs, data) -> None:
    offers = _offers(specs)
    keys = [member_key(o) for o in offers]
    pair = st.lists(st.sampled_from(keys), min_size=2, max_size=2, unique=True).map(tuple)
    cannot = data.draw(st.lists(pair, max_size=3))
    must = data.draw(st.lists(pair, max_size=3))
    overrides = Overrides(
        must_link=frozenset(frozenset(p) for p in must),
        cannot_link=frozenset(frozenset(p) for p in cannot),
    )
    clusters = cluster_offers(offers, overrides=overrides)
    cluster_of = {f"{s}:{k}": c.id for c in clusters for s, k in c.members}
    for a, b in cannot:
        assert cluster_of[a] != cluster_of[b]
    if not cannot:
        for a, b in must:
            assert cluster_of[a] == cluster_of[b]


def test_repository_overrides_file_parses() -> None:
    path = Path(__file__).resolve().parents[1] / "dedupe_overrides.yaml"
    if path.exists():
        assert isinstance(load_overrides(path), Overrides)
