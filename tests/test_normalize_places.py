"""normalize.places: gazetteer, PLZ repair, city geocoding, WKT, addresses, Bundesland."""

from __future__ import annotations

import pytest

from normalize.places import (
    BUNDESLAENDER,
    GAZETTEER_ATTRIBUTION,
    Address,
    Gazetteer,
    haversine_km,
    load_gazetteer,
    normalize_bundesland,
    parse_wkt_point,
    repair_plz,
    split_address,
)


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return load_gazetteer()


def test_gazetteer_is_cached_and_complete(gaz: Gazetteer) -> None:
    assert load_gazetteer() is gaz
    assert len(gaz) == 10814  # distinct PLZ in the GeoNames table (data/PROVENANCE.md)
    assert "GeoNames" in GAZETTEER_ATTRIBUTION and "CC BY 4.0" in GAZETTEER_ATTRIBUTION


def test_plz_lookup_single_place(gaz: Gazetteer) -> None:
    info = gaz.lookup("04103")
    assert info is not None
    assert (info.lat, info.lon) == (51.3405, 12.3827)
    assert info.places == ("Leipzig",)
    assert info.bundesland == "Sachsen"
    assert info.landkreis == "Kreisfreie Stadt Leipzig"


def test_plz_lookup_averages_several_places(gaz: Gazetteer) -> None:
    info = gaz.lookup("02708")
    assert info is not None
    assert "Löbau" in info.places and len(info.places) == 9
    # mean of the nine rows, checked by hand from the CSV
    assert info.lat == pytest.approx(51.0747, abs=1e-3)
    assert info.lon == pytest.approx(14.6470, abs=1e-3)
    assert info.landkreis == "Landkreis Görlitz"


def test_state_names_are_german(gaz: Gazetteer) -> None:
    assert {gaz.lookup(p).bundesland for p in ("80331", "01067", "99084")} == {
        "Bayern",
        "Sachsen",
        "Thüringen",
    }
    assert gaz.lookup("99999") is None
    assert gaz.lookup("") is None


# Every PLZ of the MINT Zukunft schaffen lists that is not five digits, with its city
# (shared/samples/mint-zukunft-schaffen/*.csv); expected values checked by hand against the
# GeoNames table.
MZS_PLZ = [
    ("3253", "Doberlug-Kirchhain", "03253"),
    ("3130", "Spremberg", "03130"),
    ("D-76133", "Karlsruhe", "76133"),
    ("1127", "Dresden", "01127"),
    ("8451", "Crimmitschau", "08451"),
    ("1809", "Heidenau", "01809"),
    ("4205", "Leipzig", "04205"),
    ("4177", "Leipzig", "04177"),
    ("6124", "Halle (Saale)", "06124"),
    ("6130", "Halle/Saale", "06130"),
    ("6917", "Jessen", "06917"),
    ("6118", "Halle (Saale)", "06118"),
    ("7570", "Weida", "07570"),
    ("6571", "Roßleben", "06571"),
    ("7318", "Saalfeld", "07318"),
    ("6567", "Bad Frankenhausen", "06567"),
    ("2708", "Löbau", "02708"),
    ("2906", "Niesky", "02906"),
    ("1877", "Bischofswerda", "01877"),
    ("9322", "Penig", "09322"),
    ("4275", "Leipzig", "04275"),
    ("2977", "Hoyerswerda", "02977"),
    ("1324", "Dresden", "01324"),
    ("1662", "Meißen", "01662"),
    ("1855", "Sebnitz", "01855"),
    ("8412", "Werdau", "08412"),
    ("4552", "Borna", "04552"),
    ("4463", "Großpösna", "04463"),
    ("1159", "dresden", "01159"),
    ("9514", "Pockau-Lengefeld", "09514"),
    ("4159", "Leipzig", "04159"),
    ("1217", "Dresden", "01217"),
    ("1099", "Dresden", "01099"),
    ("4319", "Leipzig", "04319"),
    ("9217", "Burgstädt", "09217"),
    ("4329", "Leipzig", "04329"),
    ("4299", "Leipzig", "04299"),
    ("4105", "Leipzig", "04105"),
    ("4862", "Mockrehna", "04862"),
    ("9112", "Chemnitz", "09112"),
    ("8107", "Kirchberg", "08107"),
    ("4103", "Leipzig", "04103"),
    ("4720", "Döbeln", "04720"),
    # foreign schools in the same lists
    ("1939613663", "Teheran", None),
    ("04784-010", "São Paulo", None),
    ("10000", "Zagreb", None),
]


@pytest.mark.parametrize("raw,city,expected", MZS_PLZ, ids=[f"{r}-{c}" for r, c, _ in MZS_PLZ])
def test_repair_plz_real(gaz: Gazetteer, raw: str, city: str, expected: str | None) -> None:
    assert repair_plz(raw, city, gaz) == expected


@pytest.mark.parametrize(
    "raw,city,expected",
    [
        ("2708", "Dresden", None),  # 02708 exists but is not Dresden
        ("2708", None, "02708"),
        ("0000", None, None),
        (" 04103 ", None, "04103"),
        ("04103 Leipzig", None, "04103"),
        ("DE-04103", None, "04103"),
        ("99999", None, None),
        ("abc", None, None),
        ("", None, None),
        (None, None, None),
        ("123", None, None),
    ],
)
def test_repair_plz_edge_cases(gaz: Gazetteer, raw, city, expected) -> None:
    assert repair_plz(raw, city, gaz) == expected


def test_repair_plz_without_gazetteer() -> None:
    assert repair_plz("2708") == "02708"
    assert repair_plz("99999") == "99999"
    assert repair_plz("1939613663") is None


@pytest.mark.parametrize(
    "city,bundesland,name,state",
    [
        ("Leipzig", None, "Leipzig", "Sachsen"),
        ("Halle (Saale)", None, "Halle", "Sachsen-Anhalt"),
        ("Halle/Saale", None, "Halle", "Sachsen-Anhalt"),
        ("Halle", None, "Halle", "Sachsen-Anhalt"),
        ("Halle (Westf.)", None, "Halle", "Nordrhein-Westfalen"),
        ("Frankfurt am Main", None, "Frankfurt am Main", "Hessen"),
        ("Frankfurt", None, "Frankfurt am Main", "Hessen"),
        ("Frankfurt (Oder)", None, "Frankfurt (Oder)", "Brandenburg"),
        ("Frankfurt/Oder", None, "Frankfurt (Oder)", "Brandenburg"),
        ("Berlin", None, "Berlin", "Berlin"),
        ("Hamburg", None, "Hamburg", "Hamburg"),
        ("München", None, "München", "Bayern"),
        ("Leipzig-Grünau", None, "Leipzig", "Sachsen"),
        ("flensburg", None, "Flensburg", "Schleswig-Holstein"),
        ("Nauen", "Brandenburg", "Nauen", "Brandenburg"),
        # komm-mach-mint cities with namesakes: equal PLZ counts, the Kreis seat wins
        ("Amberg", None, "Amberg", "Bayern"),
        ("Borken", None, "Borken", "Nordrhein-Westfalen"),
        ("Kleve", None, "Kleve", "Nordrhein-Westfalen"),
        ("Weiden in der Oberpfalz", None, "Weiden", "Bayern"),
        ("St. Ingbert", None, "Sankt Ingbert", "Saarland"),
        ("Borken", "Hessen", "Borken", "Hessen"),
        # the qualifier is a place: Ostenfeld in Nordfriesland (Husum's Kreis), not the one
        # in Rendsburg-Eckernförde
        ("Ostenfeld (Husum)", None, "Ostenfeld", "Schleswig-Holstein"),
    ],
)
def test_geocode_city(gaz: Gazetteer, city, bundesland, name, state) -> None:
    match = gaz.geocode_city(city, bundesland)
    assert match is not None
    assert (match.name, match.bundesland) == (name, state)


def test_geocode_city_coordinates_are_plausible(gaz: Gazetteer) -> None:
    berlin = gaz.geocode_city("Berlin")
    assert berlin is not None and berlin.plz_count > 100
    # Brandenburger Tor 52.5163, 13.3777: the city mean lies within 10 km
    assert haversine_km(berlin.lat, berlin.lon, 52.5163, 13.3777) < 10


@pytest.mark.parametrize(
    "city",
    [
        "Zagreb",
        "Teheran",
        "",
        None,
        "Nirgendwo an der Nirgend",
        # real komm-mach-mint cities that stay ambiguous (equal namesakes, no Kreis seat)
        "Garching",
        "Seefeld",
        "Ostenfeld",
        "Seefeld (Tirol)",
        "Deutschland, alle Bundesländer",
    ],
)
def test_geocode_city_unknown(gaz: Gazetteer, city) -> None:
    assert gaz.geocode_city(city) is None


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Point(12.37 51.34)", (51.34, 12.37)),
        ("POINT (12.3827 51.3405)", (51.3405, 12.3827)),
        ("point(-0.1 51.5)", (51.5, -0.1)),
        ("SRID=4326;POINT(13.4 52.5)", (52.5, 13.4)),
        ("Point(12.37, 51.34)", None),
        ("Point(200 51)", None),
        ("Point(12 95)", None),
        ("LINESTRING(1 2, 3 4)", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_wkt_point(text, expected) -> None:
    assert parse_wkt_point(text) == expected


def test_haversine() -> None:
    assert haversine_km(51.34, 12.37, 51.34, 12.37) == 0
    # Leipzig -> Berlin is about 149 km
    assert haversine_km(51.3405, 12.3827, 52.5163, 13.3777) == pytest.approx(145, abs=10)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Leipzig, Peterssteinweg 18", Address("Peterssteinweg", "18", None, "Leipzig")),
        ("Peterssteinweg 18, 04107 Leipzig", Address("Peterssteinweg", "18", "04107", "Leipzig")),
        ("Peterssteinweg 18 04107 Leipzig", Address("Peterssteinweg", "18", "04107", "Leipzig")),
        ("Karl-Marx-Straße 32-34", Address("Karl-Marx-Straße", "32-34", None, None)),
        ("Waldstraße 1a", Address("Waldstraße", "1a", None, None)),
        ("Pestalozzistraße 21", Address("Pestalozzistraße", "21", None, None)),
        (
            "Straße des 17. Juni 135, 10623 Berlin",
            Address("Straße des 17. Juni", "135", "10623", "Berlin"),
        ),
        ("04103 Leipzig", Address(None, None, "04103", "Leipzig")),
        ("Leipzig", Address(None, None, None, "Leipzig")),
        ("", Address()),
        (None, Address()),
    ],
)
def test_split_address(text, expected) -> None:
    assert split_address(text) == expected


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("SN", "Sachsen"),
        ("BB", "Brandenburg"),
        ("sn", "Sachsen"),
        ("DE-BY", "Bayern"),
        ("Sachsen", "Sachsen"),
        ("Sachsen-Anhalt", "Sachsen-Anhalt"),
        ("Sachsen - Anhalt", "Sachsen-Anhalt"),
        ("Thüringen", "Thüringen"),
        ("Bavaria", "Bayern"),
        ("Land Berlin", "Berlin"),
        ("Mecklenburg-Western Pomerania", "Mecklenburg-Vorpommern"),
        ("NW", "Nordrhein-Westfalen"),
        # the MZS numbers occur only for schools abroad (module docstring)
        ("1", None),
        ("7", None),
        ("SP", None),  # São Paulo, Brasilien
        ("", None),
        (None, None),
    ],
)
def test_normalize_bundesland(raw, expected) -> None:
    assert normalize_bundesland(raw) == expected


def test_sixteen_bundeslaender() -> None:
    assert len(BUNDESLAENDER) == 16
    assert all(normalize_bundesland(name) == name for name in BUNDESLAENDER)


def test_qualifier_place_picks_its_kreis(gaz: Gazetteer) -> None:
    match = gaz.geocode_city("Ostenfeld (Husum)")
    assert match is not None and match.landkreis == "Kreis Nordfriesland"
    # Ostenfeld (Husum) lies at 54.47 N, 9.23 E
    assert haversine_km(match.lat, match.lon, 54.4667, 9.2333) < 10
