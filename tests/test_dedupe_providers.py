"""Providers resolved across sources into one provider entity."""

from dedupe import cluster_offers, provider_key, resolve_providers
from dedupe.providers import resolve_provider_refs, with_resolved_providers
from dedupe.testing import SimpleOffer


def _offer(sid: str, key: str, provider: str | None, city: str | None) -> SimpleOffer:
    return SimpleOffer(sid, key, f"Angebot {key}", provider, city)


def test_spellings_of_one_provider_are_one_entity() -> None:
    offers = [
        _offer("leipzig_mint_orte", "a", "HANDS on TECHNOLOGY e. V.", "Leipzig"),
        _offer("komm_mach_mint", "b", "HANDS on TECHNOLOGY e.V.", "Leipzig"),
        _offer("komm_mach_mint", "c", "Technische Universität Dresden", "Dresden"),
        _offer("x", "d", "TU Dresden", "Dresden"),
        _offer("komm_mach_mint", "e", "Hochschule für Technik, Wirtschaft und Kultur", "Leipzig"),
        _offer("x", "f", "HTWK", "Leipzig"),
        _offer(
            "komm_mach_mint", "g", "Martin-Luther-Universität Halle-Wittenberg", "Halle (Saale)"
        ),
        _offer("kmm", "h", "Martin-Luther-Universität Halle-Wittenberg", "Halle"),
    ]
    ids = resolve_providers(offers)
    for first, second in (("a", "b"), ("c", "d"), ("e", "f"), ("g", "h")):
        sid1 = next(o.source_id for o in offers if o.source_key == first)
        sid2 = next(o.source_id for o in offers if o.source_key == second)
        assert ids[(sid1, first)] == ids[(sid2, second)], (first, second)
    assert len(set(ids.values())) == 4


def test_different_providers_stay_apart() -> None:
    offers = [
        _offer("s", "a", "Universität Leipzig", "Leipzig"),
        _offer("s", "b", "Universität Halle", "Halle"),
        _offer("s", "c", "Volkshochschule", "Leipzig"),
        _offer("s", "d", "Volkshochschule", "Dresden"),
        _offer("s", "e", "Ingenieurkammer Sachsen", None),
        _offer("s", "f", "Hamburgische Ingenieurkammer - Bau", None),
        _offer("s", "g", None, "Leipzig"),
    ]
    ids = resolve_providers(offers)
    assert ("s", "g") not in ids
    assert len(set(ids.values())) == 6
    assert provider_key("Volkshochschule", "Leipzig") == "volkshochschul @leipzig"


def test_clusters_carry_the_provider_entity() -> None:
    a = SimpleOffer("p1", "a", "Mathecamp", "Leipziger Schülergesellschaft für Mathematik e.V.",
                    "Leipzig")  # fmt: skip
    b = SimpleOffer("p2", "b", "MATHECAMP", "Leipziger Schülergesellschaft für Mathematik",
                    "Leipzig")  # fmt: skip
    (cluster,) = cluster_offers([a, b])
    merged = cluster.fields["provider_id"]
    assert merged.value is not None and merged.value.startswith("p")
    assert set(merged.sources.values()) == {merged.value}
    assert not merged.conflict


_ORT = "http://leipzig-data.de/Data/Ort/"


def _ref_offer(sid: str, key: str, title: str, provider: str | None, ref: str) -> SimpleOffer:
    return SimpleOffer(sid, key, title, provider, "Leipzig", provider_ref=_ORT + ref)


def test_provider_ref_resolves_to_the_name_other_records_give_it() -> None:
    offers = [
        _ref_offer("leipzig_angebote_2016", "a", "MINT-Individual", None, "ciT"),
        _ref_offer("leipzig_mint_orte", "b", "MINT", "ciT Consulting Innovation Training", "ciT"),
        _ref_offer("leipzig_angebote_2016", "c", "Workshops", None, "Unbekannt"),
        # two names behind one place URI: the one most records give wins
        _ref_offer("leipzig_mint_orte", "d", "Ausstellungen", "Umweltinformationszentrum", "UIZ"),
        _ref_offer("leipzig_mint_orte", "e", "Verleih", "Umweltinformationszentrum", "UIZ"),
        _ref_offer("leipzig_mint_orte", "f", "Angebote", "Förderverein UiZ e.V.", "UIZ"),
        _ref_offer("leipzig_angebote_2016", "g", "GTA-Angebote", None, "UIZ"),
    ]
    resolved = resolve_provider_refs(offers)
    assert resolved == {
        ("leipzig_angebote_2016", "a"): "ciT Consulting Innovation Training",
        ("leipzig_angebote_2016", "g"): "Umweltinformationszentrum",
    }
    compared = with_resolved_providers(offers)
    assert [o.source_key for o in compared] == list("abcdefg")
    assert compared[0].provider == "ciT Consulting Innovation Training"
    assert compared[0].title == "MINT-Individual" and compared[0].city == "Leipzig"
    assert compared[2] is offers[2] and offers[0].provider is None
    ids = resolve_providers(offers)
    assert ids[("leipzig_angebote_2016", "a")] == ids[("leipzig_mint_orte", "b")]
    assert ids[("leipzig_angebote_2016", "g")] == ids[("leipzig_mint_orte", "d")]
    # a place URI shared by two named organisations does not make them one provider
    assert ids[("leipzig_mint_orte", "f")] != ids[("leipzig_mint_orte", "d")]
    assert ("leipzig_angebote_2016", "c") not in ids


def test_clustering_compares_the_resolved_provider_but_keeps_what_each_platform_said() -> None:
    lsgm = "Leipziger Schülergesellschaft für Mathematik"
    a = _ref_offer("leipzig_angebote_2016", "a", "Mathecamp", None, "LSGM")
    b = _ref_offer("leipzig_mint_orte", "b", "Mathematik", lsgm, "LSGM")
    d = SimpleOffer("x", "d", "Mathecamp", "Jugendverein Sonnenschein", "Leipzig")
    cluster_of = {m: c for c in cluster_offers([a, b, d]) for m in c.members}
    # Unresolved, "a" has no provider and would match "d" on title and town alone; resolved
    # to the LSGM, the provider gate keeps the two apart.
    assert cluster_of[("leipzig_angebote_2016", "a")] is not cluster_of[("x", "d")]
    fields = cluster_of[("leipzig_angebote_2016", "a")].fields
    assert fields["provider"].sources["leipzig_angebote_2016:a"] is None
    ids = resolve_providers([a, b, d])
    assert fields["provider_id"].value == ids[("leipzig_mint_orte", "b")]
