"""Clustering without chaining, stable ids, overrides, merged fields, blocking."""

import hashlib
import random
from pathlib import Path

import pytest

from dedupe import (
    BlockingConfig,
    Overrides,
    OverridesError,
    blocking_stats,
    candidate_pairs,
    cluster_offers,
    load_overrides,
    member_key,
    parse_overrides,
    prepare,
)
from dedupe.clustering import assign_ids, fallback_id
from dedupe.merge import merge_offers
from dedupe.testing import SimpleOffer

KMM = "https://www.komm-mach-mint.de/schuelerinnen/mint-karte/projekte/"
ORTE = "http://leipzig-data.de/Data/MINT-2014/Schwerpunkt/"

# A~B and B~C, but A≁C: B (a sparse listing) matches both, A and C are in different towns.
FLL_LEIPZIG = SimpleOffer(
    "komm_mach_mint",
    KMM + "first-lego-league",
    "FIRST LEGO League",
    "HANDS on TECHNOLOGY e.V.",
    "Leipzig",
    "04179",
)
FLL_SPARSE = SimpleOffer("other_platform", "fll", "First LEGO League")
FLL_DRESDEN = SimpleOffer(
    "third_platform",
    "fll-dresden",
    "FIRST LEGO League",
    "HANDS on TECHNOLOGY e.V.",
    "Dresden",
    "01069",
)
INSPIRATA_ORTE = SimpleOffer(
    "leipzig_mint_orte",
    ORTE + "INSPIRATA.Naturwissenschaften",
    "INSPIRATA - Zentrum für mathematischnaturwissenschaftliche Bildung e.V.",
    "INSPIRATA - Zentrum für mathematischnaturwissenschaftliche Bildung e.V.",
    "Leipzig",
    "04103",
    subjects=["naturwissenschaften"],
)
INSPIRATA_KMM = SimpleOffer(
    "komm_mach_mint",
    KMM + "inspirata-mitmach-museum",
    "INSPIRATA Mitmach-Museum",
    "Max-Planck-Institut für Mathematik in den Naturwissenschaften",
    "Leipzig",
    subjects=["mathematik", "informatik", "naturwissenschaften", "technik"],
)


def _members(clusters: list) -> list[list[str]]:
    return [[f"{s}:{k}" for s, k in c.members] for c in clusters]


def test_no_chaining_through_a_sparse_record() -> None:
    clusters = cluster_offers([FLL_LEIPZIG, FLL_SPARSE, FLL_DRESDEN])
    assert len(clusters) == 2
    together = [c for c in clusters if len(c.members) == 2]
    assert len(together) == 1
    keys = {f"{s}:{k}" for s, k in together[0].members}
    assert member_key(FLL_SPARSE) in keys
    assert not {member_key(FLL_LEIPZIG), member_key(FLL_DRESDEN)} <= keys


def test_every_offer_in_exactly_one_cluster_and_output_is_deterministic() -> None:
    offers = [FLL_LEIPZIG, FLL_SPARSE, FLL_DRESDEN, INSPIRATA_ORTE, INSPIRATA_KMM]
    first = cluster_offers(offers)
    again = cluster_offers(list(reversed(offers)))
    assert [(c.id, c.members) for c in first] == [(c.id, c.members) for c in again]
    keys = [k for c in first for k in c.members]
    assert sorted(keys) == sorted((o.source_id, o.source_key) for o in offers)
    assert [min(c.members) for c in first] == sorted(min(c.members) for c in first)


def test_fallback_id_is_sha1_of_smallest_member_key() -> None:
    clusters = cluster_offers([INSPIRATA_KMM])
    key = member_key(INSPIRATA_KMM)
    assert clusters[0].id == "c" + hashlib.sha1(key.encode()).hexdigest()[:12]
    assert fallback_id([key, "zzz:1"]) == clusters[0].id


def test_ids_are_stable_when_a_member_is_added() -> None:
    first = cluster_offers([FLL_LEIPZIG, FLL_DRESDEN, INSPIRATA_KMM])
    previous = {m: c.id for c in first for m in c.members}
    newcomer = SimpleOffer(
        "leipzig_mint_orte",
        ORTE + "HandsOnTechnology",
        "First Lego League",
        "HANDS on TECHNOLOGY e. V.",
        "Leipzig",
        "04179",
    )
    second = cluster_offers([FLL_LEIPZIG, FLL_DRESDEN, INSPIRATA_KMM, newcomer], previous=previous)
    assert {c.id for c in second} == {c.id for c in first}
    grown = next(c for c in second if len(c.members) == 2)
    assert grown.id == previous[(FLL_LEIPZIG.source_id, FLL_LEIPZIG.source_key)]


def test_assign_ids_majority_ties_and_uniqueness() -> None:
    previous = {
        ("a", "1"): "c-old1",
        ("a", "2"): "c-old1",
        ("a", "3"): "c-old2",
        ("a", "4"): "c-old2",
    }
    # majority wins
    assert assign_ids([["a:1", "a:2", "a:3"]], previous) == ["c-old1"]
    # tie → smallest id
    assert assign_ids([["a:1", "a:3"]], previous) == ["c-old1"]
    # an old id goes to one new cluster only: the split-off member gets a fresh id
    ids = assign_ids([["a:1"], ["a:2", "a:9"]], previous)
    assert ids[0] == "c-old1"
    assert ids[1] == fallback_id(["a:2", "a:9"])
    assert len(set(ids)) == 2


def test_must_link_override_forces_a_cluster() -> None:
    offers = [INSPIRATA_ORTE, INSPIRATA_KMM]
    assert len(cluster_offers(offers)) == 2
    overrides = Overrides(
        must_link=frozenset({frozenset({member_key(INSPIRATA_ORTE), member_key(INSPIRATA_KMM)})})
    )
    clusters = cluster_offers(offers, overrides=overrides)
    assert len(clusters) == 1
    assert clusters[0].fields["platforms"].value == ["komm_mach_mint", "leipzig_mint_orte"]


def test_cannot_link_beats_score_and_must_link() -> None:
    newcomer = SimpleOffer(
        "leipzig_mint_orte",
        ORTE + "HandsOnTechnology",
        "First Lego League",
        "HANDS on TECHNOLOGY e. V.",
        "Leipzig",
        "04179",
    )
    pair = frozenset({member_key(FLL_LEIPZIG), member_key(newcomer)})
    assert len(cluster_offers([FLL_LEIPZIG, newcomer])) == 1
    cannot = Overrides(cannot_link=frozenset({pair}))
    assert len(cluster_offers([FLL_LEIPZIG, newcomer], overrides=cannot)) == 2
    both = Overrides(must_link=frozenset({pair}), cannot_link=frozenset({pair}))
    assert len(cluster_offers([FLL_LEIPZIG, newcomer], overrides=both)) == 2


def test_parse_and_load_overrides(tmp_path: Path) -> None:
    text = f"""
must_link:
  - ["{member_key(INSPIRATA_ORTE)}", "{member_key(INSPIRATA_KMM)}"]
cannot_link:
  - ["komm_mach_mint:{KMM}first-lego-league", "komm_mach_mint:{KMM}robocup-junior"]
"""
    overrides = parse_overrides(text)
    assert frozenset({member_key(INSPIRATA_ORTE), member_key(INSPIRATA_KMM)}) in (
        overrides.must_link
    )
    assert overrides.cannot(
        f"komm_mach_mint:{KMM}robocup-junior", f"komm_mach_mint:{KMM}first-lego-league"
    )
    path = tmp_path / "dedupe_overrides.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_overrides(path) == overrides
    assert load_overrides(tmp_path / "missing.yaml") == Overrides()
    assert parse_overrides("") == Overrides()


def test_parse_overrides_lists_every_problem() -> None:
    with pytest.raises(OverridesError) as info:
        parse_overrides("must_link:\n  - [a]\n  - ['no key', 'x:y']\nmust_lnk: []\n")
    problems = info.value.problems
    assert len(problems) == 3
    assert any("unknown key 'must_lnk'" in p for p in problems)
    assert any("at least two keys" in p for p in problems)
    assert any("'no key'" in p for p in problems)


def test_merge_prefers_frequent_then_priority_then_longest() -> None:
    a = SimpleOffer(
        "komm_mach_mint",
        "1",
        "Mathecamp",
        "LSGM",
        "Leipzig",
        subjects=["mathematik"],
        formats=["ferien"],
    )
    b = SimpleOffer(
        "leipzig_mint_orte",
        "2",
        "MATHECAMP",
        "Leipziger Schülergesellschaft",
        "Leipzig",
        "04109",
        51.34,
        12.38,
        subjects=["mathematik", "informatik"],
    )
    c = SimpleOffer("leipzig_angebote_2016", "3", "Mathe-Camp der LSGM", None, "Leipzig")
    fields = merge_offers([a, b, c])
    assert fields["title"].value == "Mathecamp"  # "Mathecamp"/"MATHECAMP" twice
    assert fields["title"].conflict
    assert fields["title"].sources == {
        "komm_mach_mint:1": "Mathecamp",
        "leipzig_mint_orte:2": "MATHECAMP",
        "leipzig_angebote_2016:3": "Mathe-Camp der LSGM",
    }
    assert fields["provider"].value == "Leipziger Schülergesellschaft"  # tie → longest
    prio = merge_offers([a, b, c], priority=["komm_mach_mint"])
    assert prio["provider"].value == "LSGM"  # tie → listed source first
    assert fields["city"].value == "Leipzig" and not fields["city"].conflict
    assert fields["plz"].value == "04109" and not fields["plz"].conflict
    assert (fields["lat"].value, fields["lon"].value) == (51.34, 12.38)
    assert fields["subjects"].value == ["informatik", "mathematik"]
    assert fields["subjects"].conflict
    assert fields["cost_kind"].value is None  # "unknown" counts as not given
    assert fields["platforms"].value == [
        "komm_mach_mint",
        "leipzig_angebote_2016",
        "leipzig_mint_orte",
    ]


def _synthetic(n: int, seed: int = 7) -> list[SimpleOffer]:
    rnd = random.Random(seed)
    words = [
        "".join(rnd.choice("abcdefghiklmnoprstuvw") for _ in range(rnd.randint(5, 10)))
        for _ in range(800)
    ]
    towns = [f"Ort{t}" for t in range(60)] + ["Berlin"] * 40
    offers = []
    for i in range(n):
        provider = " ".join(rnd.sample(words, 2)) + " e.V."
        title = " ".join(rnd.sample(words, rnd.randint(1, 4))) + rnd.choice(
            ["", " Workshop", " Ferienkurs", " Camp"]
        )
        offers.append(SimpleOffer("s", str(i), title, provider, rnd.choice(towns)))
    return offers


def test_blocking_grows_linearly_and_reports_stats() -> None:
    small, large = _synthetic(1000), _synthetic(4000)
    config = BlockingConfig()
    pairs_small = candidate_pairs([prepare(o) for o in small], config)
    pairs_large = candidate_pairs([prepare(o) for o in large], config)
    per_record_small = len(pairs_small) / 1000
    per_record_large = len(pairs_large) / 4000
    assert per_record_large < 2.5 * per_record_small + 5
    stats = blocking_stats(4000, pairs_large, true_pairs=[pairs_large[0], (0, 3999)])
    assert stats.reduction_ratio > 0.95
    assert stats.pair_completeness in (0.5, 1.0)
    assert all(i < j for i, j in pairs_large)


def test_blocking_finds_duplicates_in_a_big_town() -> None:
    offers = _synthetic(3000)
    twin = SimpleOffer(
        "t", "twin", offers[5].title.upper() + " (ausgebucht)", offers[5].provider, offers[5].city
    )
    offers.append(twin)
    clusters = cluster_offers(offers)
    together = next(c for c in clusters if ("t", "twin") in c.members)
    assert ("s", "5") in together.members


def test_merge_tie_prefers_a_title_not_in_capitals() -> None:
    """The MINT-Orte brochure prints titles in capitals; on a tie the other platform's
    spelling wins even when the capital one is longer."""
    kmm = SimpleOffer(
        "komm_mach_mint", "fll", "FIRST LEGO League", "HANDS on TECHNOLOGY", "Leipzig"
    )
    orte = SimpleOffer(
        "leipzig_mint_orte_angebote",
        "fll",
        "FIRST LEGO LEAGUE / NÄCHSTES SAISONMOTTO: WORLD CLASS",
        None,
        "Leipzig",
    )
    for members in ([kmm, orte], [orte, kmm]):
        fields = merge_offers(members)
        assert fields["title"].value == "FIRST LEGO League"
        assert fields["title"].conflict
    # a capitals-only title still wins when more members give it
    third = SimpleOffer(
        "leipzig_angebote_2016",
        "fll",
        "FIRST LEGO LEAGUE / NÄCHSTES SAISONMOTTO: WORLD CLASS",
        None,
        "Leipzig",
    )
    assert merge_offers([kmm, orte, third])["title"].value.startswith("FIRST LEGO LEAGUE /")
