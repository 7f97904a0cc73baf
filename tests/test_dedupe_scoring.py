"""Pair scoring and `explain`, on hand-made pairs modelled on real sample records."""

from datetime import date

from dedupe import MATCH_THRESHOLD, decide, explain, prepare
from dedupe.scoring import compare, distance_km, name_similarity, quick_score
from dedupe.testing import SimpleOffer

KMM = "https://www.komm-mach-mint.de/schuelerinnen/mint-karte/projekte/"
ORTE = "http://leipzig-data.de/Data/MINT-2014/Schwerpunkt/"
ORTE_ANGEBOT = "http://leipzig-data.de/Data/MINT-2014/Angebot/"

SUMMERBYTE = SimpleOffer(
    "komm_mach_mint",
    KMM + "summerbyte-schnupperwoche-fuer-neugierige-schuelerinnen-und-schueler",
    "SUMMERBYTE - Schnupperwoche für neugierige Schülerinnen und Schüler",
    "Martin-Luther-Universität Halle-Wittenberg",
    "Halle (Saale)",
    subjects=["informatik"],
    formats=["ferien", "studienorientierung", "workshop"],
)
SUMMERBYTE_BIOBYTE = SimpleOffer(
    "komm_mach_mint",
    KMM + "summerbyte-biobyte",
    "SummerBYTE & BioBYTE",
    "Martin-Luther-Universität Halle-Wittenberg, Institut für Informatik",
    "Halle",
    subjects=["informatik"],
    formats=["ferien"],
)
LSGM = "Leipziger Schülergesellschaft für Mathematik"
MATHECAMP = SimpleOffer(
    "leipzig_mint_orte",
    ORTE_ANGEBOT + "SchuelergesellschaftMathematik.Mathecamp",
    "MATHECAMP",
    LSGM,
    "Leipzig",
    "04109",
)
SCHUELERZIRKEL = SimpleOffer(
    "leipzig_mint_orte",
    ORTE_ANGEBOT + "SchuelergesellschaftMathematik.Schuelerzirkel",
    "Schülerzirkel",
    LSGM,
    "Leipzig",
    "04109",
)
FLL = SimpleOffer(
    "komm_mach_mint",
    KMM + "first-lego-league",
    "FIRST LEGO League",
    "HANDS on TECHNOLOGY e.V.",
    "Leipzig",
)
FLL_JUNIOR = SimpleOffer(
    "komm_mach_mint",
    KMM + "first-lego-league-junior-forschungs-und-roboterprogramm-fuer-grundschueler-innen",
    "FIRST LEGO League Junior - Forschungs- und Roboterprogramm für Grundschüler/innen",
    "HANDS on TECHNOLOGY e.V.",
    "Leipzig",
)


def test_same_provider_similar_title_same_place_matches() -> None:
    """Foundation rule (HANDS on TECHNOLOGY spelled "e.V." and "e. V.")."""
    orte = SimpleOffer(
        "leipzig_mint_orte",
        ORTE + "HandsOnTechnology",
        "First Lego League",
        "HANDS on TECHNOLOGY e. V.",
        "Leipzig",
        "04179",
    )
    result = explain(FLL, orte)
    assert result.decision == "match"
    assert result.similarities["provider"] == 1.0
    assert result.reason.startswith("match: score")


def test_summerbyte_listings_share_place_and_provider_but_not_the_offer() -> None:
    """ "Halle (Saale)" = "Halle" and the institute belongs to the university, but the
    second listing covers SummerBYTE *and* BioBYTE: each title has a word the other
    lacks, so the two stay apart (an editor can must-link them)."""
    result = explain(SUMMERBYTE, SUMMERBYTE_BIOBYTE)
    assert result.similarities["place"] == 1.0
    assert result.similarities["provider"] == 1.0
    assert result.decision == "no_match"
    assert "contrast" in result.gates
    assert "each title has a word the other lacks" in result.reason


def test_editions_and_campuses_are_different_offers() -> None:
    whz = "Westsächsische Hochschule Zwickau"
    autumn = SimpleOffer(
        "komm_mach_mint", KMM + "whz-ferienuni-herbst", "WHZ FerienUni-Herbst", whz, "Zwickau"
    )
    summer = SimpleOffer(
        "komm_mach_mint", KMM + "whz-ferienuni-sommer", "WHZ FerienUni-Sommer", whz, "Zwickau"
    )
    assert explain(autumn, summer).decision == "no_match"
    jade = "Jade Hochschule Wilhelmshaven Oldenburg Elsfleth"
    elsfleth = SimpleOffer(
        "komm_mach_mint", "e", "Studentin auf Probe am Standort Elsfleth", jade, "Oldenburg"
    )
    oldenburg = SimpleOffer(
        "komm_mach_mint", "o", "Studentin auf Probe am Standort Oldenburg", jade, "Oldenburg"
    )
    assert explain(elsfleth, oldenburg).decision == "no_match"


def test_provider_acronym_and_generic_extra_words_still_match() -> None:
    kmm = SimpleOffer(
        "komm_mach_mint",
        KMM + "ferienhochschule.-schnupperstudium-in-den-ferien",
        "Ferienhochschule. Schnupperstudium in den Ferien",
        "Hochschule für Technik, Wirtschaft und Kultur",
        "Leipzig",
    )
    angebot = SimpleOffer(
        "leipzig_angebote_2016",
        "http://leipzig-data.de/Data/Angebot/HTWK.FerienHochschule",
        "Ferienhochschule der HTWK",
        city="Leipzig",
    )
    result = explain(kmm, angebot)
    assert result.decision == "match", result.reason


def test_same_title_different_institutions_in_one_town_do_not_match() -> None:
    rwth = SimpleOffer(
        "komm_mach_mint",
        KMM + "guter-studienstart",
        "Guter Studienstart",
        "Rheinisch-Westfälische Technische Hochschule - RWTH Aachen",
        "Aachen",
    )
    fh = SimpleOffer(
        "komm_mach_mint", KMM + "guter-studienstart2", "Guter Studienstart", "FH Aachen", "Aachen"
    )
    result = explain(rwth, fh)
    assert result.decision == "no_match"
    assert "provider" in result.gates


def test_same_provider_same_town_different_titles_do_not_match() -> None:
    result = explain(MATHECAMP, SCHUELERZIRKEL)
    assert result.decision == "no_match"
    assert "title" in result.gates
    assert result.score < MATCH_THRESHOLD
    assert "title similarity below" in result.reason


def test_variant_marker_keeps_junior_apart() -> None:
    result = explain(FLL, FLL_JUNIOR)
    assert result.decision == "no_match"
    assert "variant" in result.gates
    assert "variant marker" in result.reason


def test_same_generic_title_different_providers_do_not_match() -> None:
    # Leipziger MINT-Orte: Schwerpunkt "Biologie" at Naturkundemuseum and at Zooschule
    museum = SimpleOffer(
        "leipzig_mint_orte",
        ORTE + "Naturkundemuseum.Biologie",
        "Biologie",
        "Naturkundemuseum Leipzig",
        "Leipzig",
        "04105",
    )
    zoo = SimpleOffer(
        "leipzig_mint_orte",
        ORTE + "Zooschule.Biologie",
        "Biologie",
        "Zooschule im Zoo Leipzig",
        "Leipzig",
        "04105",
    )
    result = explain(museum, zoo)
    assert result.similarities["title"] == 1.0
    assert result.decision == "no_match"
    assert "provider" in result.gates


def test_one_provider_different_schwerpunkte_do_not_match() -> None:
    a = SimpleOffer(
        "leipzig_mint_orte",
        ORTE + "INSPIRATA.Mathematik",
        "Mathematik",
        "INSPIRATA - Zentrum für mathematischnaturwissenschaftliche Bildung e.V.",
        "Leipzig",
        "04103",
    )
    b = SimpleOffer(
        "leipzig_mint_orte",
        ORTE + "INSPIRATA.Technik",
        "Technik",
        "INSPIRATA - Zentrum für mathematischnaturwissenschaftliche Bildung e.V.",
        "Leipzig",
        "04103",
    )
    assert explain(a, b).decision == "no_match"


def test_generic_shared_word_is_not_enough() -> None:
    a = SimpleOffer("x", "1", "Robotik-Workshop", "GaraGe", "Leipzig")
    b = SimpleOffer("x", "2", "Chemie-Workshop", "GaraGe", "Leipzig")
    assert explain(a, b).decision == "no_match"


def test_inspirata_place_vs_museum_listing_is_not_an_automatic_match() -> None:
    """Different provider given (INSPIRATA e.V. vs MPI MiS) and only the brand shared:
    left to a must-link override (see test_dedupe_clustering)."""
    orte = SimpleOffer(
        "leipzig_mint_orte",
        ORTE + "INSPIRATA.Naturwissenschaften",
        "INSPIRATA - Zentrum für mathematischnaturwissenschaftliche Bildung e.V.",
        "INSPIRATA - Zentrum für mathematischnaturwissenschaftliche Bildung e.V.",
        "Leipzig",
        "04103",
    )
    kmm = SimpleOffer(
        "komm_mach_mint",
        KMM + "inspirata-mitmach-museum",
        "INSPIRATA Mitmach-Museum",
        "Max-Planck-Institut für Mathematik in den Naturwissenschaften",
        "Leipzig",
    )
    assert explain(orte, kmm).decision == "no_match"


def test_same_title_far_apart_does_not_match() -> None:
    a = SimpleOffer(
        "x",
        "1",
        "Science Camps",
        "Martin-Luther-Universität Halle-Wittenberg",
        "Halle (Saale)",
        lat=51.48,
        lon=11.97,
    )
    b = SimpleOffer(
        "y",
        "2",
        "Science Camps",
        "Martin-Luther-Universität Halle-Wittenberg",
        "Leipzig",
        lat=51.34,
        lon=12.37,
    )
    result = explain(a, b)
    assert result.decision == "no_match"
    assert "place" in result.gates


def test_coordinates_count_when_town_names_differ() -> None:
    # Großpösna is next to Leipzig; 1 km apart counts as the same place
    a = SimpleOffer(
        "x",
        "1",
        "Bergbau-Technik-Park",
        "Bergbau-Technik-Park e.V.",
        "Großpösna",
        lat=51.2700,
        lon=12.4930,
    )
    b = SimpleOffer(
        "y",
        "2",
        "Bergbau Technik Park",
        "Bergbau-Technik-Park",
        "Leipzig",
        lat=51.2750,
        lon=12.4960,
    )
    result = explain(a, b)
    assert result.similarities["place"] == 1.0
    assert result.decision == "match"


def test_missing_fields_are_not_counted() -> None:
    a = SimpleOffer("x", "1", "Code Girls")
    b = SimpleOffer("y", "2", "Code Girls", "Code Girls", "Leipzig")
    result = explain(a, b)
    assert result.similarities["provider"] is None
    assert result.similarities["place"] is None
    assert result.score == 1.0


def test_urls_websites_dates_subjects() -> None:
    a = SimpleOffer(
        "x",
        "1",
        "Mathecamp",
        "LSGM",
        url="https://www.lsgm.de/mathecamp/",
        website="http://www.lsgm.de",
        subjects=["mathematik"],
        start=date(2024, 7, 1),
        end=date(2024, 7, 5),
    )
    b = SimpleOffer(
        "y",
        "2",
        "Mathe-Camp",
        "LSGM",
        url="http://lsgm.de/mathecamp",
        website="lsgm.de/kontakt",
        subjects=["mathematik", "informatik"],
        start=date(2024, 7, 3),
    )
    sims = explain(a, b).similarities
    assert sims["url"] == 1.0
    assert sims["website"] == 0.8
    assert sims["dates"] == 1.0
    assert sims["subjects"] == 0.5
    assert sims["title"] is not None and sims["title"] > 0.9


def test_name_similarity_cases() -> None:
    assert name_similarity(("mathematik",), ("informatik",)) == 0.0
    assert name_similarity(("mathecamp",), ("mathe", "camp")) == 1.0
    assert name_similarity((), ("x",)) is None
    assert name_similarity(("robotik", "workshop"), ("chemie", "workshop")) < 0.6


def test_decide_and_quick_score_agree_with_compare() -> None:
    assert decide(MATCH_THRESHOLD) == "match"
    assert decide(MATCH_THRESHOLD - 0.01) == "no_match"
    for a, b in [(SUMMERBYTE, SUMMERBYTE_BIOBYTE), (FLL, FLL_JUNIOR), (MATHECAMP, SCHUELERZIRKEL)]:
        pa, pb = prepare(a), prepare(b)
        full = compare(pa, pb).score
        quick = quick_score(pa, pb)
        assert quick == full or (quick == 0.0 and full < MATCH_THRESHOLD)


def test_distance_km() -> None:
    # Leipzig Hbf to Halle Hbf, about 32 km
    assert 28 < distance_km(51.345, 12.382, 51.477, 11.987) < 32


def test_explain_is_symmetric() -> None:
    assert (
        explain(SUMMERBYTE, SUMMERBYTE_BIOBYTE).score
        == explain(SUMMERBYTE_BIOBYTE, SUMMERBYTE).score
    )


def test_provider_acronym_counts_as_the_same_provider() -> None:
    a = SimpleOffer("x", "1", "Ferienhochschule", "HTWK", "Leipzig")
    b = SimpleOffer(
        "y", "2", "Ferienhochschule", "Hochschule für Technik, Wirtschaft und Kultur", "Leipzig"
    )
    result = explain(a, b)
    assert result.similarities["provider"] == 1.0
    assert result.decision == "match"
