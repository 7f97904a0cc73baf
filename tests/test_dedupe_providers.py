"""Providers resolved across sources into one provider entity."""

from dedupe import cluster_offers, provider_key, resolve_providers
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
