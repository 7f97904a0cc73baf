"""normalize.vocab: vocabularies and the mappers from source labels (hand-checked)."""

from __future__ import annotations

import pytest

from normalize.vocab import (
    FORMAT_LABELS,
    SUBJECT_LABELS,
    formats_from_text,
    label_key,
    map_formats,
    map_subjects,
    subjects_from_text,
)


def test_vocabularies_match_design() -> None:
    assert list(SUBJECT_LABELS) == [
        "mathematik", "informatik", "naturwissenschaften", "biologie", "chemie", "physik",
        "geowissenschaften", "umwelt", "astronomie", "technik",
    ]  # fmt: skip
    assert list(FORMAT_LABELS) == [
        "schuelerlabor", "workshop", "ag", "ferien", "wettbewerb", "studienorientierung",
        "praktikum", "mentoring", "museum", "veranstaltung", "mint_schule", "netzwerk",
        "stipendium", "online", "information",
    ]  # fmt: skip
    assert SUBJECT_LABELS["naturwissenschaften"] == "Naturwissenschaften"
    assert FORMAT_LABELS["schuelerlabor"] == "Schülerlabor"
    assert FORMAT_LABELS["workshop"] == "Workshop/Kurs"
    assert FORMAT_LABELS["ferien"] == "Ferienangebot/Camp"
    assert FORMAT_LABELS["studienorientierung"] == "Studienorientierung/Schnupperstudium"
    assert FORMAT_LABELS["mint_schule"] == "MINT-freundliche Schule"
    assert FORMAT_LABELS["netzwerk"] == "Netzwerk/Initiative"
    assert FORMAT_LABELS["online"] == "Online-Angebot"
    assert FORMAT_LABELS["information"] == "Informationsangebot"


# komm-mach-mint "Art des Projekts" (KommMachMINT-Kuerzel.xml, select name=project_type)
KMM_PROJECT_TYPES = [
    ("Ausstellungen", ["museum"]),
    ("Berufsorientierung", ["studienorientierung"]),
    ("Ferienangebote und Camps", ["ferien"]),
    ("Informationsangebote", ["information"]),
    ("Karriereangebote", ["studienorientierung"]),
    ("Mentoring", ["mentoring"]),
    ("Messen", ["veranstaltung"]),
    ("Netzwerke", ["netzwerk"]),
    ("Schüler/innenlabore und Werkstätten", ["schuelerlabor"]),
    ("Schulprojekt", ["ag"]),
    ("Stipendien", ["stipendium"]),
    ("Studienorientierung", ["studienorientierung"]),
    ("Treffs", ["ag"]),
    ("Wettbewerbe", ["wettbewerb"]),
    ("Wiedereinstiegsangebote", []),
    ("Workshops und Vorträge", ["workshop", "veranstaltung"]),
]


@pytest.mark.parametrize("label,ids", KMM_PROJECT_TYPES, ids=[k for k, _ in KMM_PROJECT_TYPES])
def test_kmm_project_types(label: str, ids: list[str]) -> None:
    got, unmapped = map_formats([label])
    assert got == ids
    assert unmapped == ([] if ids else [label])


@pytest.mark.parametrize(
    "label,ids",
    [
        # komm-mach-mint MINT-Bereich (div.mint.<class>, title text)
        ("Mathematik", ["mathematik"]),
        ("Informatik", ["informatik"]),
        ("Naturwissenschaften", ["naturwissenschaften"]),
        ("Technik", ["technik"]),
        ("mathematik", ["mathematik"]),
        # Leipzig tags (as URIs and as the last path segment)
        ("http://leipzig-data.de/Data/Tag/Umweltbildung", ["umwelt"]),
        ("Umweltbildung", ["umwelt"]),
        ("Naturwissenschaft", ["naturwissenschaften"]),
        ("Energie", ["umwelt", "technik"]),
        ("Umwelt", ["umwelt"]),
        ("ldtag:Informatik", ["informatik"]),
        ("Geowissenschaften", ["geowissenschaften"]),
        ("Chemie", ["chemie"]),
        ("Robotik", ["informatik", "technik"]),
        ("Biologie", ["biologie"]),
        ("Physik", ["physik"]),
        ("Astronomie", ["astronomie"]),
    ],
)
def test_subject_labels(label: str, ids: list[str]) -> None:
    assert map_subjects([label]) == (ids, [])


def test_unmapped_labels_are_returned_once_in_order() -> None:
    ids, unmapped = map_subjects(["Informatik", "GTA", "BehiGe", "GTA", " ", "Technik"])
    assert ids == ["informatik", "technik"]
    assert unmapped == ["GTA", "BehiGe"]


def test_tags_with_years_and_awards() -> None:
    assert map_formats(["MINT-Schule.2015"]) == (["mint_schule"], [])
    assert map_formats(["MINT-EC-Schule", "Digitale-Schule"]) == (["mint_schule"], [])
    assert map_formats(["MINT-freundliche Schule"]) == (["mint_schule"], [])
    assert map_formats(
        ["MINT-freundliche Schule oder Digitale Schule (MINT Zukunft schaffen 2020)"]
    ) == (["mint_schule"], [])
    assert map_formats(["HalbeHalbe.2020"]) == ([], ["HalbeHalbe.2020"])


# Leipzig Angebote-2016 ld:Art texts: hand-checked formats
LD_ART = [
    ("Ferienakademie", ["ferien"]),
    ("Regionaler Aufgabenwettbewerb", ["wettbewerb"]),
    ("Mathematische Ferienfreizeit", ["ferien"]),
    ("Berufsorientierungstag", ["studienorientierung"]),
    ("Korrespondenzzirkel", ["ag"]),
    ("Herbst- und Winterschule", ["ferien"]),
    ("Thematische Spezialführungen", ["veranstaltung"]),
    ("Vortragsangebot für Schulen", ["veranstaltung"]),
    ("Thematische Weiterbildungen für Pädagogen", ["workshop"]),
    (
        "Mitmachmuseum mit mathematisch-naturwissenschaftlichen Exponaten und fachlicher Betreuung",
        ["museum"],
    ),
    (
        "einjähriges Mentoringprogramm für Studentinnen natur- und ingenieurswissenschaftlicher "
        "Fächer mit überdurchschnittlichen Studienleistungen",
        ["mentoring"],
    ),
    (
        "Betreuung von WPA (Wissenschaftlich-praktische Arbeit) / BeLL (Besondere Lernleistung) "
        "und Praktika",
        ["praktikum"],
    ),
    ("Workshops zu mathematisch-naturwissenschaftlichen (Unterrichts-)Themen", ["workshop"]),
    ("Kindergeburtstag", ["veranstaltung"]),
    ("Zooschule", []),
    ("Botanischer Lehrgarten", []),
]


@pytest.mark.parametrize("label,ids", LD_ART, ids=[a[:40] for a, _ in LD_ART])
def test_ld_art(label: str, ids: list[str]) -> None:
    got, unmapped = map_formats([label])
    assert got == ids
    assert unmapped == ([] if ids else [label])


@pytest.mark.parametrize(
    "text,subjects,formats",
    [
        ("Robotik-AG für Einsteiger", ["informatik", "technik"], ["ag"]),
        ("Chemie im Schülerlabor", ["chemie"], ["schuelerlabor"]),
        ("Sommercamp Programmieren", ["informatik"], ["ferien"]),
        ("Mathe-Olympiade", ["mathematik"], ["wettbewerb"]),
        ("Sternwarte: Führung durch das Planetarium", ["astronomie"], ["museum", "veranstaltung"]),
        ("Schnupperstudium Physik", ["physik"], ["studienorientierung"]),
        ("Porsche AG lädt ein", [], []),
        ("Exkursion in den Auwald", [], ["veranstaltung"]),
        ("", [], []),
        (None, [], []),
    ],
)
def test_keyword_fallback(text, subjects, formats) -> None:
    assert subjects_from_text(text) == subjects
    assert formats_from_text(text) == formats


def test_label_key() -> None:
    assert label_key("http://leipzig-data.de/Data/Tag/MINT-Schule.2015") == "mint-schule"
    assert label_key("  Schüler/innenlabore   und Werkstätten ") == (
        "schüler/innenlabore und werkstätten"
    )


def test_none_and_string_input() -> None:
    assert map_subjects(None) == ([], [])
    assert map_formats("Wettbewerbe") == (["wettbewerb"], [])


# every distinct ld:GTA answer in the leipzig_mint_orte snapshot (MINT-Broschüre 2014)
GTA_ANSWERS = [
    ("ja", ["ag"], []),
    ("nein", [], []),
    ("nach Absprache", [], []),
    ("nein ca. 1 - 1,5 Std.", [], []),
    ("ggf.", [], []),
    ("ca. 3 Stunden ja", ["ag"], []),
    ("2 - 3 Stunden ja", ["ag"], []),
    ("optional, nur mit Partner", [], []),
    ("zur eigenen Gestaltung", [], ["zur eigenen Gestaltung"]),
    ("nur GTA", ["ag"], []),
    ("", [], []),
    (None, [], []),
]


@pytest.mark.parametrize("answer,ids,unmapped", GTA_ANSWERS)
def test_map_gta(answer, ids, unmapped) -> None:
    from normalize.vocab import map_gta

    assert map_gta(answer) == (ids, unmapped)
