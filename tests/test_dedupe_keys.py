"""Normalisation keys: German folding, legal forms, listing noise, place names."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe.keys import (
    _split_url,
    city_matches,
    fold,
    normalize_city,
    normalize_plz,
    normalize_provider,
    normalize_title,
    normalize_url,
    variant_tokens,
    variants_conflict,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Größe", "groesse"),
        ("Übung macht den Meister", "uebung macht den meister"),
        ("Café Élysée", "cafe elysee"),
        ("STRASSE", "strasse"),
        ("", ""),
        (None, ""),
    ],
)
def test_fold(raw: str | None, expected: str) -> None:
    assert fold(raw) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # real spellings from Leipziger MINT-Orte and komm-mach-mint
        ("HANDS on TECHNOLOGY e. V.", "HANDS on TECHNOLOGY e.V."),
        ("Anglerverband Leipzig e. V.", "Anglerverband Leipzig"),
        ("VDI - GaraGe gemeinnützige GmbH", "VDI GaraGe"),
        ("isw Institut gGmbH", "isw Institut"),
        ("RBZ Eckener-Schule Flensburg AöR", "RBZ Eckener-Schule Flensburg"),
        (
            "Helmholtz-Zentrum für Umweltforschung GmbH - UFZ",
            "Helmholtz-Zentrum für Umweltforschung UFZ",
        ),
        ("Technische Universität Dresden", "TU Dresden"),
        ("Universität Leipzig", "Uni Leipzig"),
        ("Martin-Luther-Universität Halle-Wittenberg", "Martin Luther Uni Halle Wittenberg"),
        (
            "Vogelschutzlehrstätte Stadtverband Leipzig der Kleingärtner e.V. (Träger)",
            "Vogelschutzlehrstätte Stadtverband Leipzig der Kleingärtner",
        ),
    ],
)
def test_provider_variants_normalise_equal(a: str, b: str) -> None:
    assert normalize_provider(a) == normalize_provider(b)


def test_provider_keeps_stiftung_and_name_words() -> None:
    assert normalize_provider("Stiftung Wilderness International") == (
        "stiftung wilderness international"
    )
    # "AG" at the end is a legal form; inside a name it stays
    assert normalize_provider("Siemens AG") == "siemens"
    assert normalize_provider("AG Robotik Gymnasium") == "ag robotik gymnasium"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "SUMMERBYTE - Schnupperwoche für neugierige Schülerinnen und Schüler",
            "summerbyte schnupperwoche fuer neugierige schuelerinnen und schueler",
        ),
        ("SummerBYTE & BioBYTE", "summerbyte biobyte"),
        ("NEU: Mathe-Camp (ausgebucht)", "mathe camp"),
        ("Mathecamp NEU", "mathecamp"),
        ("Roboter bauen (abgesagt)", "roboter bauen"),
        ("Neues aus der Forschung", "neues aus der forschung"),
        ("INSPIRATA Mitmach-Museum Projektbeschreibung", "inspirata mitmach museum"),
    ],
)
def test_normalize_title(raw: str, expected: str) -> None:
    assert normalize_title(raw) == expected


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Halle (Saale)", "Halle", True),
        ("Halle/Saale", "Halle", True),
        ("Frankfurt a.M.", "Frankfurt am Main", True),
        ("Frankfurt/Main", "Frankfurt a. M.", True),
        ("Frankfurt (Oder)", "Frankfurt am Main", False),
        ("Freiburg i. Br.", "Freiburg im Breisgau", True),
        ("Brandenburg an der Havel", "Brandenburg", True),
        ("Halle (Westf.)", "Halle (Saale)", False),
        ("Leipzig", "Dresden", False),
        ("Mülheim an der Ruhr", "Muelheim a. d. Ruhr", True),
    ],
)
def test_normalize_city(a: str, b: str, same: bool) -> None:
    assert (normalize_city(a) == normalize_city(b)) is same


def test_city_matches_district_but_not_other_town() -> None:
    assert city_matches(normalize_city("Berlin"), normalize_city("Berlin-Adlershof"))
    assert not city_matches(normalize_city("Frankfurt"), normalize_city("Frankfurt (Oder)"))
    assert not city_matches("", "leipzig")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("04103", "04103"),
        ("2708", "02708"),
        ("D-04103", "04103"),
        ("keine Angabe", None),
        (None, None),
        ("123", None),
    ],
)
def test_normalize_plz(raw: str | None, expected: str | None) -> None:
    assert normalize_plz(raw) == expected


def test_normalize_url() -> None:
    assert normalize_url("https://WWW.Inspirata.de/") == normalize_url("www.inspirata.de")
    assert normalize_url("http://www.lsgm.de/index.html") == "lsgm.de"
    assert normalize_url("www.ökolöwe.de/biobauer.html") == "oekoloewe.de/biobauer.html"
    assert normalize_url("keine Angabe") is None
    assert normalize_url(None) is None


def test_variants() -> None:
    fll = variant_tokens(normalize_title("FIRST LEGO League"))
    junior = variant_tokens(normalize_title("FIRST LEGO League Junior"))
    assert variants_conflict(fll, junior)
    camp, camp2020 = variant_tokens("mathecamp"), variant_tokens("mathecamp 2020")
    assert not variants_conflict(camp, camp2020)
    assert variants_conflict(variant_tokens("mathecamp 2019"), camp2020)


def test_docstring_examples() -> None:
    import doctest

    import dedupe.keys

    assert doctest.testmod(dedupe.keys).failed == 0


@given(
    st.sampled_from(["http://", "https://", "HTTP://", ""]),
    st.from_regex(r"[A-Za-z0-9.\-]{1,20}", fullmatch=True),
    st.from_regex(r"(/[A-Za-z0-9._~%\t\-]{0,8}){0,3}/?", fullmatch=True),
    st.from_regex(r"([?#][A-Za-z0-9=&\t]{0,6})?", fullmatch=True),
)
@settings(max_examples=300, deadline=None)
def test_url_fast_path_agrees_with_urlsplit(scheme: str, host: str, path: str, tail: str) -> None:
    url = scheme + host + path + tail
    text = url.strip()
    expected = _split_url(text) if text and " " not in text else None  # urlsplit alone
    assert normalize_url(url) == expected
