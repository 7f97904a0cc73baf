"""normalize_record: whole raw records (values from the samples) -> NormalizedOffer."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from crawlers.records import RawRecord
from normalize import NormalizedOffer, NormalizeError, load_gazetteer, normalize_record

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _record(source_id: str, fields: dict, key: str = "k") -> RawRecord:
    return RawRecord.make(source_id, key, "https://example.org/list", NOW, fields)


def _norm(source_id: str, fields: dict) -> NormalizedOffer:
    return normalize_record(_record(source_id, fields), gazetteer=load_gazetteer(), now=NOW)


def test_model_has_exactly_the_design_fields() -> None:
    assert list(NormalizedOffer.model_fields) == [
        "source_id", "source_key", "url", "title", "description", "provider", "provider_ref",
        "website",
        "street", "plz", "city", "district", "bundesland", "landkreis", "lat", "lon",
        "subjects", "formats", "unmapped", "audience_text", "age_min", "age_max",
        "grade_min", "grade_max", "groups", "girls", "costs_text", "cost_kind", "price_eur",
        "dates_text", "start", "end",
    ]  # fmt: skip


def test_mzs_school_with_lost_leading_zero() -> None:
    # MINTSchulen-Sachsen.csv, first row
    offer = _norm(
        "mzs_schulen",
        {
            "title": "Geschwister-Scholl-Gymnasium Löbau",
            "street": "Pestalozzistraße 21",
            "plz": "2708",
            "city": "Löbau",
            "bundesland": "SN",
            "country": "Deutschland",
            "school_type": "Gymnasium",
            "formats": [
                "MINT-freundliche Schule oder Digitale Schule (MINT Zukunft schaffen 2020)"
            ],
        },
    )
    assert (offer.plz, offer.city, offer.bundesland) == ("02708", "Löbau", "Sachsen")
    assert offer.landkreis == "Landkreis Görlitz"
    assert offer.street == "Pestalozzistraße 21"
    assert offer.lat == pytest.approx(51.07, abs=0.05)
    assert offer.lon == pytest.approx(14.65, abs=0.05)
    assert offer.formats == ["mint_schule"]
    assert offer.subjects == []
    assert offer.unmapped == {}
    assert offer.url is None  # RawRecord.url is the CSV file shared by all rows


def test_mzs_school_abroad_gets_no_german_place() -> None:
    # AlleAusgezeichnetenSchulen-2020.csv: Zagreb, Bundesland "1"
    offer = _norm(
        "mzs_schulen",
        {
            "title": "Deutsche Internationale Schule Zagreb",
            "street": "Fratrovac ul. 36",
            "plz": "10000",
            "city": "Zagreb",
            "bundesland": "1",
            "country": "Kroatien",
        },
    )
    assert (offer.plz, offer.bundesland, offer.lat, offer.lon) == (None, None, None, None)
    assert offer.city == "Zagreb"


def test_komm_mach_mint_row() -> None:
    # KommMachMINT-Tabelle.xml, first row, as the html spider extracts it
    offer = _norm(
        "komm_mach_mint",
        {
            "title": "#FitB - Frauen in technischen Berufen",
            "provider": "RBZ Eckener-Schule Flensburg AöR",
            "city": "Flensburg",
            "formats": ["Berufsorientierung", "Netzwerke"],
            "audience": ["Auszubildende", "Schüler/innen"],
            "subjects": ["Informatik", "Technik"],
            "url": "https://www.komm-mach-mint.de/schuelerinnen/mint-karte/projekte/"
            "fitb-frauen-in-technischen-berufen",
        },
    )
    assert offer.subjects == ["informatik", "technik"]
    assert offer.formats == ["studienorientierung", "netzwerk"]
    assert sorted(offer.groups) == ["auszubildende", "schueler"]
    assert offer.audience_text == "Auszubildende, Schüler/innen"
    assert offer.bundesland == "Schleswig-Holstein"
    assert offer.lat == pytest.approx(54.78, abs=0.1)
    assert offer.url.endswith("fitb-frauen-in-technischen-berufen")
    assert offer.unmapped == {}


def test_leipzig_schwerpunkt() -> None:
    # MINTBroschuere2014.ttl: ADFC.RadtourenBegleitet with its place
    offer = _norm(
        "leipzig_mint_orte",
        {
            "title": "vom ADFC begleitete Radtouren",
            "provider": "Allgemeiner Deutscher Fahrrad-Club KV Leipzig e. V. (ADFC)",
            "description": "Der ADFC ist verkehrspolitischer Verein, Verkehrsclub und "
            "Verbraucherschutzorganisation.",
            "audience": "Schülergruppen ab Klasse 5, Erwachsenengruppen",
            "costs": "2 Euro, mind. jedoch 100 Euro",
            "gta": "nein",
            "website": "www.adfc-leipzig.de",
            "opening_hours": "Dienstag bis Donnerstag 14:00 - 18:00 Uhr",
            "tags": ["Umweltbildung", "Technik"],
            "plz": "04109",
            "city": "Leipzig",
            "lat": "51.3387",
            "lon": "12.3735",
        },
    )
    assert (offer.lat, offer.lon) == (51.3387, 12.3735)  # explicit coordinates win
    assert offer.subjects == ["umwelt", "technik"]
    assert offer.grade_min == 5 and offer.grade_max is None
    assert sorted(offer.groups) == ["erwachsene", "schueler"]
    assert (offer.cost_kind, offer.price_eur) == ("paid", 2.0)
    assert offer.website == "http://www.adfc-leipzig.de"
    assert offer.landkreis == "Kreisfreie Stadt Leipzig"


def test_angebot_2016_with_constants_and_unmapped_tags() -> None:
    # Angebote-2016.ttl: ASG.Schuelerakademie (city/bundesland are source constants)
    offer = _norm(
        "leipzig_angebote_2016",
        {
            "title": "Leipziger Schülerakademie",
            "formats": ["Veranstaltungsreihe (Vorträge und Experimente)"],
            "audience": "Schülerinnen und Schüler der Klassen 9. bis 12.",
            "costs": "nein",
            "tags": ["MINT", "HalbeHalbe.2020"],
            "city": "Leipzig",
            "bundesland": "Sachsen",
        },
    )
    assert offer.formats == ["veranstaltung"]
    assert (offer.grade_min, offer.grade_max, offer.girls) == (9, 12, False)
    assert (offer.cost_kind, offer.price_eur) == ("free", 0.0)
    assert offer.unmapped == {"tags": ["MINT", "HalbeHalbe.2020"]}
    assert offer.bundesland == "Sachsen" and offer.lat is not None  # city geocoded
    assert offer.subjects == []  # no subject labels, none in title/description


def test_unmapped_labels_audience_and_costs_are_kept() -> None:
    offer = _norm(
        "x",
        {
            "title": "Angebot",
            "formats": ["Wiedereinstiegsangebote", "Wettbewerbe"],
            "subjects": ["Kunst"],
            "audience": ["Engagierte", "Lehrkräfte"],
            "costs": "siehe Website",
        },
    )
    assert offer.formats == ["wettbewerb"]
    assert offer.unmapped == {
        "subjects": ["Kunst"],
        "formats": ["Wiedereinstiegsangebote"],
        "audience": ["Engagierte"],
        "costs": ["siehe Website"],
    }


def test_keyword_fallback_only_without_labels() -> None:
    offer = _norm("x", {"title": "Robotik-AG", "description": "<p>Wir bauen Roboter.</p>"})
    assert offer.subjects == ["informatik", "technik"]
    assert offer.formats == ["ag"]
    labelled = _norm("x", {"title": "Robotik-AG", "subjects": ["Mathematik"]})
    assert labelled.subjects == ["mathematik"]


def test_title_falls_back_to_provider_and_is_required() -> None:
    assert _norm("x", {"provider": "Inspirata e. V."}).title == "Inspirata e. V."
    with pytest.raises(NormalizeError, match="no title"):
        _norm("x", {"description": "nur Text"})
    with pytest.raises(NormalizeError):
        _norm("x", {"title": "  <br> "})


def test_lists_where_strings_expected_and_html() -> None:
    offer = _norm(
        "x",
        {
            "title": ["Ferien", "Camp"],
            "description": "<p>MÃ¤dchen &amp; Technik</p><p>Zweiter Absatz</p>",
            "costs": ["3 Euro", "1 Euro (ermäßigt)"],
            "dates": "Mi | 28.01.2026 - So | 15.03.2026",
        },
    )
    assert offer.title == "Ferien, Camp"
    assert offer.description == "Mädchen & Technik\nZweiter Absatz"
    assert offer.price_eur == 3.0
    assert (offer.start, offer.end) == (date(2026, 1, 28), date(2026, 3, 15))


@pytest.mark.parametrize(
    "fields,expected",
    [
        ({"wkt": "Point(12.37 51.34)", "plz": "99084"}, (51.34, 12.37)),
        ({"plz": "99084"}, (50.9746, 11.0297)),
        ({"city": "Leipzig"}, (51.3545, 12.3692)),
        ({"lat": "51,34", "lon": "12,37"}, (51.34, 12.37)),
        ({"lat": "12.37", "lon": "51.34"}, (51.34, 12.37)),  # swapped for Germany
        ({"lat": "abc", "lon": "12.37", "city": "Leipzig"}, (51.3545, 12.3692)),
        ({"address": "Peterssteinweg 18, 04107 Leipzig"}, (51.3667, 12.3833)),  # CSV row
        ({}, (None, None)),
    ],
)
def test_coordinate_precedence(fields: dict, expected: tuple) -> None:
    offer = _norm("x", {"title": "T", **fields})
    if expected[0] is None:
        assert (offer.lat, offer.lon) == expected
    else:
        assert offer.lat == pytest.approx(expected[0], abs=1e-3)
        assert offer.lon == pytest.approx(expected[1], abs=1e-3)


def test_address_fills_missing_parts() -> None:
    offer = _norm("x", {"title": "T", "address": "Leipzig, Peterssteinweg 18"})
    assert (offer.street, offer.city, offer.bundesland) == (
        "Peterssteinweg 18",
        "Leipzig",
        "Sachsen",
    )


# fields of the leipzig_mint_orte snapshot (ADFC.Kurse) that normalize has no place for
_UNREAD = {
    "participants": "mind. 10 max. 30",
    "opening_hours": "Dienstag bis Donnerstag 14:00 - 18:00 Uhr",
    "school_type": "Gymnasium",
    "venue": "Peterssteinweg 18",
}
_READ_ONE_BY_ONE = {
    "title": "Radfahrschule",
    "description": "Kurse für Kinder",
    "provider": "ADFC Leipzig",
    "url": "https://example.org/kurs",
    "website": "www.adfc-leipzig.de",
    "street": "Peterssteinweg",
    "house_number": "18",
    "plz": "04107",
    "city": "Leipzig",
    "district": "Zentrum-Süd",
    "address": "Leipzig, Peterssteinweg 18",
    "country": "Kroatien",
    "bundesland": "Sachsen",
    "lat": "51.33",
    "lon": "12.37",
    "wkt": "Point(12.37 51.34)",
    "subjects": ["Chemie"],
    "formats": ["Schülerlabor"],
    "tags": ["Technik"],
    "gta": "ja",
    "audience": "ab 10 Jahre",
    "costs": "kostenlos",
    "dates": "11.04.2018",
}


def test_raw_fields_read_is_what_normalize_reads() -> None:
    from normalize.record import RAW_FIELDS_READ

    assert set(_READ_ONE_BY_ONE) == RAW_FIELDS_READ
    base = {"title": "Kurs"}
    plain = _norm("leipzig_mint_orte", base)
    # every listed field changes the offer (country only with a PLZ, a house number only
    # with a street, a latitude only with a longitude and vice versa)
    context = {
        "country": {"plz": "04107"},
        "house_number": {"street": "Peterssteinweg"},
        "lat": {"lon": "12.37"},
        "lon": {"lat": "51.33"},
    }
    for name, value in _READ_ONE_BY_ONE.items():
        without = {**base, **context.get(name, {})}
        with_it = _norm("leipzig_mint_orte", {**without, name: value})
        assert with_it != _norm("leipzig_mint_orte", without), name
    # the fields outside it change nothing: they stay in the raw store (coverage report)
    assert not set(_UNREAD) & RAW_FIELDS_READ
    assert _norm("leipzig_mint_orte", {**base, **_UNREAD}) == plain


def test_gta_adds_ag_to_the_formats_from_text() -> None:
    from normalize.vocab import FORMAT_LABELS

    # Auwaldstation.Anderes (leipzig_mint_orte): tags give a subject but no format, so the
    # formats come from the text; GTA "ja" adds ag to them
    fields = {
        "title": "Projekttage, Praktika, Exkursionen",
        "tags": ["BehiGe", "GTA", "Umweltbildung"],
        "gta": "ja",
    }
    offer = _norm("leipzig_mint_orte", fields)
    without = _norm("leipzig_mint_orte", {**fields, "gta": "nein"})
    assert "ag" not in without.formats and without.formats
    expected = {*without.formats, "ag"}
    assert offer.formats == [f for f in FORMAT_LABELS if f in expected]  # vocabulary order
    assert offer.unmapped == {"tags": ["BehiGe", "GTA"]}
    odd = _norm("leipzig_mint_orte", {**fields, "gta": "zur eigenen Gestaltung"})
    assert odd.formats == without.formats
    assert odd.unmapped["gta"] == ["zur eigenen Gestaltung"]
