"""normalize.dates: German dates, ranges, times, weekdays, opening hours (hand-checked)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from normalize.dates import (
    DateInfo,
    OpeningSpan,
    parse_date,
    parse_date_range,
    parse_dates,
    parse_iso_datetime,
    parse_opening_hours,
    parse_time_range,
    parse_weekdays,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("11.04.2018", date(2018, 4, 11)),
        ("am 1.2.2026", date(2026, 2, 1)),
        ("11.4.18", date(2018, 4, 11)),
        ("11. April 2018", date(2018, 4, 11)),
        ("3. märz 2025", date(2025, 3, 3)),
        ("2018-04-11", date(2018, 4, 11)),
        ("31.02.2020", None),
        ("16. März", None),
        ("Klasse 5", None),
        ("", None),
    ],
)
def test_parse_date(text, expected) -> None:
    assert parse_date(text) == expected


def test_iso_timestamps_with_offsets() -> None:
    value = parse_iso_datetime("2026-01-28T10:00:00+01:00")
    assert value == datetime(2026, 1, 28, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    assert parse_iso_datetime("2026-01-28T09:00:00Z") == datetime(2026, 1, 28, 9, tzinfo=UTC)
    assert parse_iso_datetime("kein Datum") is None
    assert parse_dates("2026-01-28T10:00:00+01:00").start == date(2026, 1, 28)


@pytest.mark.parametrize(
    "text,start,end",
    [
        ("Mi | 28.01.2026 - So | 15.03.2026", date(2026, 1, 28), date(2026, 3, 15)),
        ("28.01. - 15.03.2026", date(2026, 1, 28), date(2026, 3, 15)),
        ("vom 6. bis 10. Juli 2026", date(2026, 7, 6), date(2026, 7, 10)),
        ("11.04.2018", date(2018, 4, 11), date(2018, 4, 11)),
        ("jeden Dienstag", None, None),
        # a month without a day: from its first to its last day (Leipzig MINT-Orte Laufzeit)
        ("1 Jahr (2.4.2014 bis März 2015)", date(2014, 4, 2), date(2015, 3, 31)),
        ("Dezember 2025 bis Februar 2026", date(2025, 12, 1), date(2026, 2, 28)),
        ("im Mai 2026", date(2026, 5, 1), date(2026, 5, 31)),
    ],
)
def test_parse_date_range(text, start, end) -> None:
    assert parse_date_range(text) == (start, end)


def test_year_from_now_only_when_given() -> None:
    assert parse_date_range("16. März bis 31. Oktober") == (None, None)
    assert parse_date_range("16. März bis 31. Oktober", now=NOW) == (
        date(2026, 3, 16),
        date(2026, 10, 31),
    )


@pytest.mark.parametrize(
    "text,expected",
    [
        ("14:00 - 18:00 Uhr", (time(14), time(18))),
        ("9:00 - 16:30 Uhr", (time(9), time(16, 30))),
        ("9 bis 12 Uhr", (time(9), time(12))),
        ("14.00-18.00 Uhr", (time(14), time(18))),
        ("Klassen 5 - 12", None),
        ("25:00 - 26:00 Uhr", None),
    ],
)
def test_parse_time_range(text, expected) -> None:
    assert parse_time_range(text) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Dienstag bis Donnerstag", {1, 2, 3}),
        ("Mo - Fr", {0, 1, 2, 3, 4}),
        ("Di und Do", {1, 3}),
        ("jeden Dienstag", {1}),
        ("Sa/So", {5, 6}),
        ("Mo, Di, Do", {0, 1, 3}),
        ("Fr bis Mo", {4, 5, 6, 0}),
        ("täglich", {0, 1, 2, 3, 4, 5, 6}),
        ("so oder so", set()),
    ],
)
def test_parse_weekdays(text, expected) -> None:
    assert parse_weekdays(text) == expected


def _span(days: set[int], start: tuple[int, int], end: tuple[int, int]) -> OpeningSpan:
    return OpeningSpan(frozenset(days), time(*start), time(*end))


MO_DO = {0, 1, 2, 3}
MO_FR = {0, 1, 2, 3, 4}
ALL = {0, 1, 2, 3, 4, 5, 6}

# Öffnungszeiten of the Leipzig MINT-Orte (MINTBroschuere2014.ttl), structured by hand
OPENING_HOURS = [
    ("Dienstag bis Donnerstag 14:00 - 18:00 Uhr", [_span({1, 2, 3}, (14, 0), (18, 0))]),
    (
        "Di und Do 9:00 - 18:00 Uhr (Veranstaltungen nur nach Absprache)",
        [_span({1, 3}, (9, 0), (18, 0))],
    ),
    (
        "Di und Do 10:00 - 12:00 Uhr und 14:00 - 17:00 Uhr und nach Vereinbarung",
        [_span({1, 3}, (10, 0), (12, 0)), _span({1, 3}, (14, 0), (17, 0))],
    ),
    ("Mo - Fr 8:00 - 16:30 Uhr oder nach Absprache", [_span({0, 1, 2, 3, 4}, (8, 0), (16, 30))]),
    (
        "Mo bis Do 6:30 - 15:30 Uhr, Fr 6:30 - 13:30 Uhr",
        [_span(MO_DO, (6, 30), (15, 30)), _span({4}, (6, 30), (13, 30))],
    ),
    (
        "Mo bis Do 7:30 - 17:00 Uhr; Fr 7:30 - 15:00 Uhr",
        [_span(MO_DO, (7, 30), (17, 0)), _span({4}, (7, 30), (15, 0))],
    ),
    (
        "Mo bis Do 9:00 - 18:00 Uhr, Fr 9:00 - 12:00 Uhr",
        [_span(MO_DO, (9, 0), (18, 0)), _span({4}, (9, 0), (12, 0))],
    ),
    (
        "Mo bis Do von 9:00 - 18:00 Uhr, Fr 9:00 - 16:00 Uhr",
        [_span(MO_DO, (9, 0), (18, 0)), _span({4}, (9, 0), (16, 0))],
    ),
    ("Mo bis Fr 9:00 - 18:00 Uhr", [_span({0, 1, 2, 3, 4}, (9, 0), (18, 0))]),
    ("Mo bis Sa 10:00 - 17:00 Uhr", [_span({0, 1, 2, 3, 4, 5}, (10, 0), (17, 0))]),
    ("Mo bis Fr 8:00 - 15:00 Uhr und nach Vereinbarung", [_span({0, 1, 2, 3, 4}, (8, 0), (15, 0))]),
    (
        "Mo bis Fr 9:00 - 17:00 Uhr; telefonische Absprache wird empfohlen",
        [_span({0, 1, 2, 3, 4}, (9, 0), (17, 0))],
    ),
    (
        "Mo 14:00 - 18:00 Uhr, Di 14:00 - 16:00 Uhr, Do 14:00 - 18:00 Uhr (Ferien: Gesonderte "
        "Öffnungszeiten, siehe Homepage)",
        [_span({0}, (14, 0), (18, 0)), _span({1}, (14, 0), (16, 0)), _span({3}, (14, 0), (18, 0))],
    ),
    (
        "jeden letzten Dienstag im Monat von 14:00 - 18:00 Uhr sowie nach Vereinbarung",
        [_span({1}, (14, 0), (18, 0))],
    ),
    (
        "Unser Büro ist an Wochentagen von 8:00 bis 16:00 Uhr besetzt.",
        [_span(set(), (8, 0), (16, 0))],
    ),
    (
        "16. März bis 31. Oktober täglich 9:00 - 19:00 Uhr, 1. November bis 15. März täglich "
        "9:00 - 17:00 Uhr",
        [_span(ALL, (9, 0), (19, 0)), _span(ALL, (9, 0), (17, 0))],
    ),
    (
        "Mo bis Do 08:00 - 16:00 Uhr (ab 1. Mai bis 17:00 Uhr), Fr 08:00 - 12:00 Uhr",
        [_span(MO_DO, (8, 0), (16, 0)), _span({4}, (8, 0), (12, 0))],
    ),
    (
        "Mo bis Fr 8:00 - 12:00 Uhr (April bis Oktober) Sa und So 10:00 - 16:00 Uhr (Mai bis "
        "September) und nach Vereinbarung",
        [_span(MO_FR, (8, 0), (12, 0)), _span({5, 6}, (10, 0), (16, 0))],
    ),
    (
        "Mo bis Fr von 7:30 - 17:00 Uhr Veranstaltungen am Wochenende bedürfen einer gesonderten "
        "Absprache",
        [_span(MO_FR, (7, 30), (17, 0))],
    ),
    (
        "Mo geschlossen Di bis Do 9:00 - 16:30 Uhr Winterzeit Di bis Do 9:00 - 18:00 Uhr "
        "Sommerzeit Fr 9:00 - 13:00 Uhr, Sa/So 10:00 - 16:30 Uhr",
        [
            _span({1, 2, 3}, (9, 0), (16, 30)),
            _span({1, 2, 3}, (9, 0), (18, 0)),
            _span({4}, (9, 0), (13, 0)),
            _span({5, 6}, (10, 0), (16, 30)),
        ],
    ),
    (
        "Saison vom 1. April bis 31. Oktober Mo bis Fr 9:00 - 18:00 Uhr, So 15:00 - 18:00 Uhr Im "
        "Oktober jeweils nur bis 17:00 Uhr geöffnet. An Samstagen und Feiertagen geschlossen.",
        [_span(MO_FR, (9, 0), (18, 0)), _span({6}, (15, 0), (18, 0))],
    ),
    ("täglich von 14:00 - 18:00 Uhr; andere Zeiten nach Absprache", [_span(ALL, (14, 0), (18, 0))]),
    (
        "im Büro i.d.R. Mo bis Do 9:00 - 16:30 Uhr; die Termine für die Umweltbildungsangebote "
        "werden individuell abgesprochen.",
        [_span(MO_DO, (9, 0), (16, 30))],
    ),
    (
        "keine allgemeinen Öffnungszeiten; Erreichbarkeit der Rezeption des Instituts: Mo bis Do "
        "8:00 - 16:30 Uhr, Fr 8:00 - 15:30 Uhr",
        [_span(MO_DO, (8, 0), (16, 30)), _span({4}, (8, 0), (15, 30))],
    ),
    (
        "nach telefonischer Absprache April bis Oktober jeden Sonntag von 9:00 - 12:00 Uhr "
        "(außer feiertags)",
        [_span({6}, (9, 0), (12, 0))],
    ),
    (
        "für Gruppen (nach Anmeldung): jeden Mo bis Fr (außer an Feiertagen) jeweils 8:30 - 10:00 "
        "Uhr, 10:30 - 12:00 Uhr, 12:30 - 14:00 Uhr und 14:30 - 16:00 Uhr Einzelbesucher / "
        "Familien: jeden Samstag 12:00 - 18:00 Uhr sowie Ferien-Angebote und individuelle "
        "Besuchszeiten nach Abstimmung",
        [
            _span(MO_FR, (8, 30), (10, 0)),
            _span(MO_FR, (10, 30), (12, 0)),
            _span(MO_FR, (12, 30), (14, 0)),
            _span(MO_FR, (14, 30), (16, 0)),
            _span({5}, (12, 0), (18, 0)),
        ],
    ),
    (
        "für Kinder und Gastronomische Versorgung sind vor Ort. Schülerpraktika, Ferienjobs für "
        "Schüler/-innen Öffnungszeiten: Der Park ist in der Regel von Mitte März bis Anfang "
        "November geöffnet: Do und Fr 10:00 - 17:00 Uhr; Sa, So, Feiertage 10:00 - 18:00 Uhr In "
        "den Schulferien jeweils Di bis So 10:00 - 18:00 Uhr Letzter Einlass jeweils eine Stunde "
        "vor Parkschließung. Gruppenführungen sind nach Vereinbarung auch außerhalb der "
        "Öffnungszeiten möglich.",
        [
            _span({3, 4}, (10, 0), (17, 0)),
            _span({5, 6}, (10, 0), (18, 0)),
            _span({1, 2, 3, 4, 5, 6}, (10, 0), (18, 0)),
        ],
    ),
    (
        "E-mail an: fvumweltinformationszentrum@web.de oder Nachfrage zum Förderverein im UiZ / "
        "Technisches Rathaus, Tel. 0341 1236711",
        [],
    ),
    (
        "Unsere Mitglieder sind ehrenamtlich in ihrer Freizeit tätig. Aus diesem Grund sind wir "
        "nur bedingt telefonisch zu erreichen. Bei allgemeinen Anfragen nutzen Sie bitte unsere "
        "E-Mail-Adresse.",
        [],
    ),
    (
        "Voranmeldung für alle Angebot notwendig. Durchführung der Kurse in Abstimmung mit den "
        "Nutzer/-innen.",
        [],
    ),
    (
        "an allen sächsischen Schultagen; Anmeldungen werden in der Regel per E-Mail vereinbart",
        [],
    ),
    ("nach Absprache per E-Mail oder telefonisch", []),
    ("nach Bedarf", []),
    ("nach telefonischer Anfrage", []),
    ("Di bis Do ab 9:00 Uhr, nur nach Anmeldung", []),
    ("Mo bis Fr (nur nach Anmeldung)", []),
    ("nach Absprache", []),
    ("ganzjährig", []),
    ("keine Angabe", []),
    ("Informationen unter www.auwaldstation.de", []),
    ("nach Vereinbarung", []),
    ("nach Terminvergabe", []),
]


@pytest.mark.parametrize("text,expected", OPENING_HOURS, ids=[t[:50] for t, _ in OPENING_HOURS])
def test_opening_hours(text: str, expected: list[OpeningSpan]) -> None:
    assert parse_opening_hours(text) == expected


def test_parse_dates_combines() -> None:
    info = parse_dates("Dienstag bis Donnerstag 14:00 - 18:00 Uhr")
    assert info.weekdays == {1, 2, 3}
    assert info.times == [(time(14), time(18))]
    assert info.start is None and not info.recurring
    assert parse_dates("jeden Dienstag").recurring
    assert parse_dates(None) == DateInfo()
    assert parse_dates(["11.04.2018", "12.04.2018"]).end == date(2018, 4, 12)
