"""The rules that tell one provider's offers apart: town, audience, subject, format."""

from dedupe import explain
from dedupe.testing import SimpleOffer

KMM = "https://www.komm-mach-mint.de/schuelerinnen/mint-karte/projekte/"
ORTE = "http://leipzig-data.de/Data/MINT-2014/Schwerpunkt/"


def _kmm(key: str, title: str, city: str | None, **kw) -> SimpleOffer:
    kw.setdefault("provider", "Jugendwerkstatt Felsberg e. V.")
    kw.setdefault("formats", ["studienorientierung"])
    return SimpleOffer("komm_mach_mint", KMM + key, title, city=city, **kw)


def test_same_programme_in_two_nearby_towns_is_two_offers() -> None:
    felsberg = _kmm("mint.fresh", "MINT.FResH", "Felsberg", lat=51.1376, lon=9.4214)
    gudensberg = _kmm("mint.fresh2", "MINT.FResH", "Gudensberg", lat=51.1771, lon=9.3675)
    result = explain(felsberg, gudensberg)
    assert result.similarities["place"] == 0.0
    assert "place" in result.gates and result.decision == "no_match"
    assert "different towns" in result.reason


def test_town_spelled_differently_is_still_one_place() -> None:
    a = _kmm("x", "MINT.FResH", "Halle (Saale)")
    b = _kmm("y", "MINT.FResH", "Halle/Saale")
    assert explain(a, b).similarities["place"] == 1.0
    assert explain(a, b).decision == "match"


def test_same_tour_for_different_audiences_is_two_offers() -> None:
    common = dict(provider="Gerhard Rösl GmbH", city="Jesewitz", plz="04838")
    pupils = SimpleOffer(
        "leipzig_mint_orte", ORTE + "R.Biologie1", "Biologie",
        audience_text="Schüler/-innen der Grundschule", groups=["grundschule", "schueler"],
        **common,
    )  # fmt: skip
    apprentices = SimpleOffer(
        "leipzig_mint_orte", ORTE + "R.Biologie2", "Biologie",
        audience_text="Lehrlinge Landschaftsgestaltung / Gartenbau", groups=["auszubildende"],
        **common,
    )  # fmt: skip
    clubs = SimpleOffer(
        "leipzig_mint_orte", ORTE + "R.Biologie3", "Biologie",
        audience_text="Kleingartenvereine", **common,
    )  # fmt: skip
    assert explain(pupils, apprentices).similarities["audience"] == 0.0
    for a, b in ((pupils, apprentices), (apprentices, clubs)):
        result = explain(a, b)
        assert "audience" in result.gates and result.decision == "no_match"


def test_disjoint_grades_are_two_offers_but_wording_across_platforms_is_not() -> None:
    common = dict(provider="Botanischer Garten", city="Großpösna")
    grade3 = SimpleOffer("leipzig_mint_orte", ORTE + "B.Energie", "Energieprojekt",
                         grade_min=3, grade_max=3, **common)  # fmt: skip
    grade4 = SimpleOffer("leipzig_mint_orte", ORTE + "B.Wald", "Energieprojekt",
                         grade_min=4, grade_max=4, **common)  # fmt: skip
    assert explain(grade3, grade4).decision == "no_match"
    # Two platforms word one audience differently: only the same platform's wording counts.
    a = SimpleOffer("leipzig_angebote_2016", "a", "Lehrerfortbildungen", city="Leipzig",
                    audience_text="Lehrer(innen), Erzieher(innen)")  # fmt: skip
    b = SimpleOffer("leipzig_mint_orte", "b", "Lehrerfortbildung", city="Leipzig",
                    audience_text="Kita- und Hort-Erzieher/-innen; Multiplikatoren")  # fmt: skip
    assert explain(a, b).similarities["audience"] is None
    assert explain(a, b).decision == "match"


def test_a_title_that_adds_a_subject_is_a_narrower_offer() -> None:
    common = dict(provider="Technische Universität Dortmund", city="Dortmund")
    general = _kmm("schnupperuni", "SchnupperUni", **common)
    informatik = _kmm("schnupperuni-informatik", "Schnupperuni Informatik für Schülerinnen",
                      **common)  # fmt: skip
    result = explain(general, informatik)
    assert "subject" in result.gates and result.decision == "no_match"
    assert "narrower" in result.reason


def test_one_platform_filing_two_listings_under_disjoint_formats() -> None:
    common = dict(provider="Hochschule Anhalt", city="Köthen (Anhalt)")
    initiative = _kmm("make-up-your-mint", "Make up your MINT",
                      formats=["information", "workshop"], **common)  # fmt: skip
    lab = _kmm("mint-lab", 'MINT-Lab der Initiative "Make up your MINT"',
               formats=["ferien", "studienorientierung"], **common)  # fmt: skip
    result = explain(initiative, lab)
    assert "formats" in result.gates and result.decision == "no_match"
    # Across platforms the format vocabularies differ, so disjoint formats say nothing.
    other = SimpleOffer("leipzig_mint_orte", "x", "Make up your MINT", formats=["ferien"],
                        **common)  # fmt: skip
    assert "formats" not in explain(initiative, other).gates
