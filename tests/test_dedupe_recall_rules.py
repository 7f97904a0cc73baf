"""Rules that find the same offer listed twice where the earlier rules missed it, each
with the hard negative it must keep apart. Modelled on pairs of the gold set
(``tests/data/dedupe/gold_pairs.csv``): the Leipzig MINT-Orte listing a place's
Schwerpunkte and the described Angebote of the same place."""

from dedupe import explain, prepare
from dedupe.scoring import audience_similarity, compound_match
from dedupe.testing import SimpleOffer

ORTE = "http://leipzig-data.de/Data/MINT-2014/Schwerpunkt/"
ANGEBOT = "http://leipzig-data.de/Data/MINT-2014/Angebot/"
A2016 = "http://leipzig-data.de/Data/Angebot/"
KMM = "https://www.komm-mach-mint.de/schuelerinnen/mint-karte/projekte/"


# --- audience groups across platforms -------------------------------------------------------

IHK = dict(provider="Industrie- und Handelskammer zu Leipzig", city="Leipzig")


def test_platforms_naming_different_groups_of_one_audience_still_match() -> None:
    """Each platform names some of the groups an offer is for (the brochure: pupils and
    parents; the 2016 list: pupils and teachers): across platforms the groups are
    compared by overlap with the shorter list, not by Jaccard (which was 1/3 here, under
    the audience gate)."""
    brochure = SimpleOffer(
        "leipzig_mint_orte_angebote", ANGEBOT + "IHK.TECNOPEDIA", "ONLINE-PLATTFORM „TECNOPEDIA“",
        groups=["schueler", "familien"], **IHK,
    )  # fmt: skip
    list2016 = SimpleOffer(
        "leipzig_angebote_2016", A2016 + "IHK.Technopedia", "Tecnopedia",
        groups=["schueler", "lehrkraefte"], **IHK,
    )  # fmt: skip
    result = explain(brochure, list2016)
    assert result.similarities["audience"] == 0.5
    assert "audience" not in result.gates and result.decision == "match"


def test_one_platform_naming_different_groups_stays_two_offers() -> None:
    """One platform describes one offer's audience the same way each time it lists it:
    within a platform the groups are still compared by Jaccard."""
    a = SimpleOffer("komm_mach_mint", KMM + "a", "Tecnopedia", groups=["schueler", "familien"],
                    **IHK)  # fmt: skip
    b = SimpleOffer("komm_mach_mint", KMM + "b", "Tecnopedia",
                    groups=["schueler", "lehrkraefte"], **IHK)  # fmt: skip
    result = explain(a, b)
    assert "audience" in result.gates and result.decision == "no_match"


def test_disjoint_groups_across_platforms_are_two_offers() -> None:
    pupils = prepare(SimpleOffer("leipzig_mint_orte", "a", "Biologie", groups=["grundschule"]))
    apprentices = prepare(
        SimpleOffer("leipzig_mint_orte_angebote", "b", "Biologie", groups=["auszubildende"])
    )
    subset = prepare(SimpleOffer("leipzig_angebote_2016", "c", "Biologie",
                                 groups=["grundschule", "kita", "kinder"]))  # fmt: skip
    assert audience_similarity(pupils, apprentices) == 0.0
    assert audience_similarity(pupils, subset) == 1.0


# --- subjects written in parentheses ---------------------------------------------------------

UFZ = dict(
    provider="Helmholtz-Zentrum für Umweltforschung GmbH - UFZ", city="Leipzig", plz="04318",
    website="http://www.ufz-schuelerlabor.de",
)  # fmt: skip


def test_subjects_in_parentheses_are_notes_not_a_narrower_offer() -> None:
    """The title "Erneuerbare Energie (Physik/Chemie/Biologie)" notes the school subjects
    the lab day serves; it is the brochure's "ERNEUERBARE ENERGIE", not a narrower offer."""
    focus = SimpleOffer("leipzig_mint_orte", ORTE + "UFZ.Energie",
                        "Erneuerbare Energie (Physik/Chemie/Biologie)", **UFZ)  # fmt: skip
    offer = SimpleOffer("leipzig_mint_orte_angebote", ANGEBOT + "UFZ.ErneuerbareEnergie",
                        "ERNEUERBARE ENERGIE", **UFZ)  # fmt: skip
    assert prepare(focus).title_notes == {"physik", "chemi", "biologi"}
    result = explain(focus, offer)
    assert "subject" not in result.gates and result.decision == "match"


def test_subject_outside_parentheses_is_still_a_narrower_offer() -> None:
    narrower = SimpleOffer("leipzig_mint_orte", ORTE + "UFZ.EnergiePhysik",
                           "Erneuerbare Energie Physik", **UFZ)  # fmt: skip
    offer = SimpleOffer("leipzig_mint_orte_angebote", ANGEBOT + "UFZ.ErneuerbareEnergie",
                        "ERNEUERBARE ENERGIE", **UFZ)  # fmt: skip
    result = explain(narrower, offer)
    assert "subject" in result.gates and result.decision == "no_match"


def test_one_subject_in_parentheses_is_still_a_narrower_offer() -> None:
    common = dict(provider="Technische Universität Dortmund", city="Dortmund")
    general = SimpleOffer("komm_mach_mint", KMM + "schnupperstudium", "Schnupperstudium",
                          **common)  # fmt: skip
    informatik = SimpleOffer("leipzig_mint_orte", ORTE + "TU.Schnupperstudium",
                             "Schnupperstudium (Informatik)", **common)  # fmt: skip
    assert prepare(informatik).title_notes == frozenset()
    result = explain(general, informatik)
    assert "subject" in result.gates and result.decision == "no_match"


def test_different_subject_notes_still_contrast() -> None:
    physik = SimpleOffer("leipzig_mint_orte", ORTE + "UFZ.E1", "Erneuerbare Energie (Physik)",
                         **UFZ)  # fmt: skip
    chemie = SimpleOffer("leipzig_mint_orte_angebote", ANGEBOT + "UFZ.E2",
                         "Erneuerbare Energie (Chemie)", **UFZ)  # fmt: skip
    result = explain(physik, chemie)
    assert "contrast" in result.gates and result.decision == "no_match"


# --- German compounds ------------------------------------------------------------------------

INSPIRATA = dict(
    provider="INSPIRATA - Zentrum für mathematisch-naturwissenschaftliche Bildung e.V.",
    city="Leipzig",
)


def test_a_compound_and_its_parts_are_the_same_words() -> None:
    """The title "Betreuter Ausstellungsbesuch" is "Betreute Besuche der Ausstellung":
    the words that differ are one compound and its two parts, not a contrast."""
    brochure = SimpleOffer("leipzig_mint_orte_angebote", ANGEBOT + "INSPIRATA.BetreuteBesuche",
                           "BETREUTE BESUCHE DER AUSSTELLUNG", **INSPIRATA)  # fmt: skip
    list2016 = SimpleOffer("leipzig_angebote_2016", A2016 + "Inspirata.Ausstellung",
                           "Betreuter Ausstellungsbesuch", **INSPIRATA)  # fmt: skip
    result = explain(brochure, list2016)
    assert "contrast" not in result.gates and result.decision == "match"


def test_a_compound_with_a_part_only_one_title_has_still_contrasts() -> None:
    """The compound "Waldwiese" is not "Wald": its other part is in neither title."""
    wald = SimpleOffer("leipzig_mint_orte", ORTE + "Wildpark.Wald", "Lebensraum Wald und Boden",
                       provider="Wildparkverein", city="Leipzig")  # fmt: skip
    wiese = SimpleOffer("leipzig_mint_orte", ORTE + "Wildpark.Wiese",
                        "Lebensraum Waldwiese und Boden", provider="Wildparkverein",
                        city="Leipzig")  # fmt: skip
    result = explain(wald, wiese)
    assert "contrast" in result.gates and result.decision == "no_match"


def test_compound_match() -> None:
    own = frozenset({"betreut", "besuch", "ausstellung"})
    other = frozenset({"betreuter", "ausstellungsbesuch"})
    assert compound_match("ausstellungsbesuch", other, own)
    assert compound_match("besuch", own, other)
    assert compound_match("ausstellung", own, other)
    # "Wirtschaftsinformatik" / "Informatik": the other part ("wirtschaft") is missing.
    assert not compound_match("informatik", frozenset({"informatik"}),
                              frozenset({"wirtschaftsinformatik"}))  # fmt: skip
    assert not compound_match("wirtschaftsinformatik", frozenset({"wirtschaftsinformatik"}),
                              frozenset({"informatik"}))  # fmt: skip


# --- a town name shared by two titles --------------------------------------------------------


def test_titles_sharing_only_the_town_name_are_two_offers() -> None:
    """The regional "MINT Paderborn" network and the "Goerdeler-Gymnasium Paderborn"
    (a gold negative; scored 0.78 before): the only specific word the titles share is the
    town they are both in."""
    network = SimpleOffer("komm_mach_mint", KMM + "mint-paderborn", "MINT Paderborn",
                          provider="zdi-Zentrum FIT.Paderborn", city="Paderborn",
                          lat=51.72956, lon=8.73724)  # fmt: skip
    school = SimpleOffer("mzs_schulen", "Goerdeler-Gymnasium Paderborn|33102",
                         "Goerdeler-Gymnasium Paderborn", city="Paderborn", plz="33102",
                         lat=51.7171, lon=8.7417, formats=["mint_schule"])  # fmt: skip
    result = explain(network, school)
    assert result.similarities["title"] is not None and result.similarities["title"] < 0.6
    assert result.decision == "no_match"


def test_titles_sharing_the_town_and_a_specific_word_still_match() -> None:
    common = dict(provider="Heinz Nixdorf MuseumsForum", city="Paderborn")
    a = SimpleOffer("komm_mach_mint", KMM + "a", "Roboterwerkstatt Paderborn", **common)
    b = SimpleOffer("leipzig_mint_orte", ORTE + "b", "Roboterwerkstatt", **common)
    c = SimpleOffer("leipzig_mint_orte", ORTE + "c", "Paderborn Roboterwerkstatt", **common)
    assert explain(a, b).decision == "match"
    assert explain(a, c).decision == "match"


def test_titles_sharing_the_town_still_differ_in_a_variant() -> None:
    common = dict(provider="Heinz Nixdorf MuseumsForum", city="Paderborn")
    a = SimpleOffer("komm_mach_mint", KMM + "a", "MINT-Labor Paderborn", **common)
    b = SimpleOffer("leipzig_mint_orte", ORTE + "b", "Paderborn MINT-Labor", **common)
    junior = SimpleOffer("leipzig_mint_orte", ORTE + "c", "Paderborn MINT-Labor Junior", **common)
    assert explain(a, b).decision == "match"
    result = explain(a, junior)
    assert "variant" in result.gates and result.decision == "no_match"
