"""The ical spider over loopback HTTP on constructed calendars (tests/fixtures/constructed/,
labelled constructed): a feed with a recurring, an all-day and a DURATION event, a per-event
.ics file, an event without DTSTART and a file that is not iCalendar."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import icalendar
import pytest
from test_spider_json import HOST, crawl_fixture, fixture_entry

from crawlers.spiders.ical import INVALID_ICAL_STAT, NoDtstart, event_item, recurrence_text
from normalize.dates import parse_dates

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FIELDS = {
    "title": {"jmespath": "summary"},
    "description": {"jmespath": "description"},
    "address": {"jmespath": "location"},
    "url": {"jmespath": "url"},
    "subjects": {"jmespath": "categories", "many": True},
    "provider": {"jmespath": "organizer"},
    "dates": {"jmespath": "dates"},
    "lat": {"jmespath": "lat"},
    "lon": {"jmespath": "lon"},
    "uid": {"jmespath": "uid"},
}


def entry(*paths: str) -> dict[str, Any]:
    return fixture_entry(
        "constructed_ical", "ical", {"key": "uid"}, FIELDS, [f"https://{HOST}/{p}" for p in paths]
    )


@pytest.fixture(scope="module")
def ical_crawl(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], list[Any]]:
    tmp = tmp_path_factory.mktemp("ical")
    return crawl_fixture(tmp, entry("kalender/mint.ics", "termin-chemie.ics", "kaputt.ics"))


def test_every_good_event_is_a_record(ical_crawl) -> None:
    event, records = ical_crawl
    assert event["status"] == "success", event
    assert sorted(r.source_key for r in records) == [
        "chemie-ferien@fixtures.mintsuche.test",
        "mathe-2026@fixtures.mintsuche.test",
        "robotik-ag-2026@fixtures.mintsuche.test",
        "sternwarte-2026@fixtures.mintsuche.test",
    ]
    robotik = next(r for r in records if r.source_key.startswith("robotik"))
    assert robotik.fields == {
        "title": "Beispiel-Robotik-AG",
        "description": "Konstruiertes Testangebot: Roboter bauen und programmieren, ab Klasse 5.",
        "address": "Beispielschule, Beispielstraße 1, 04109 Leipzig",
        "url": "https://fixtures.mintsuche.test/termine/robotik-ag",
        "subjects": ["Informatik", "Technik"],
        "provider": "Beispielverein e. V.",
        "dates": "Di | 03.02.2026 - Di | 30.06.2026, 14:00 - 16:00 Uhr, "
        "wöchentlich jeden Dienstag bis 30.06.2026",
        "lat": "51.3397",
        "lon": "12.3731",
        "uid": "robotik-ag-2026@fixtures.mintsuche.test",
    }
    assert robotik.url == f"https://{HOST}/kalender/mint.ics"


def test_event_without_dtstart_and_broken_file_are_counted(ical_crawl) -> None:
    event, _records = ical_crawl
    assert event["stats"]["dropped"] == {"no_dtstart": 1}
    assert event["stats"]["errors"]["log_errors"] == 1  # kaputt.ics


def test_broken_file_message(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    event, records = crawl_fixture(tmp_path, entry("termin-chemie.ics", "kaputt.ics"))
    assert [r.source_key for r in records] == ["chemie-ferien@fixtures.mintsuche.test"]
    err = capfd.readouterr().err
    assert "kaputt.ics is not an iCalendar file" in err
    assert f"'{INVALID_ICAL_STAT}': 1" in err


def _events(text: str) -> list[Any]:
    body = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + text.replace("\n", "\r\n") + "END:VCALENDAR\r\n"
    return list(icalendar.Calendar.from_ical(body.encode()).walk("VEVENT"))


def test_recurrence_dates_are_readable_by_normalize() -> None:
    (event,) = _events(
        "BEGIN:VEVENT\nUID:x\nSUMMARY:AG\nDTSTART:20270105T150000\nDTEND:20270105T163000\n"
        "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;COUNT=6\nEND:VEVENT\n"
    )
    item, bad = event_item(event, NOW)
    assert not bad
    assert item["recurrence"] == "alle 2 Wochen jeden Dienstag und Donnerstag, 6 Termine"
    assert item["next"] == "2027-01-05T15:00:00"
    info = parse_dates(item["dates"], now=NOW)
    assert (info.start.isoformat(), info.end.isoformat()) == ("2027-01-05", "2027-02-04")
    assert info.recurring


def test_next_occurrence_after_now_and_all_day_end() -> None:
    (weekly, allday) = _events(
        "BEGIN:VEVENT\nUID:w\nSUMMARY:W\nDTSTART;VALUE=DATE:20261102\nRRULE:FREQ=WEEKLY\n"
        "END:VEVENT\nBEGIN:VEVENT\nUID:d\nSUMMARY:D\nDTSTART;VALUE=DATE:20270101\n"
        "DTEND;VALUE=DATE:20270102\nEND:VEVENT\n"
    )
    item, _ = event_item(weekly, NOW)
    assert item["next"] == "2026-11-30" and item["dates"].startswith("Mo | 02.11.2026, wöchentlich")
    item, _ = event_item(allday, NOW)
    assert item["end"] == "2027-01-01" and item["dates"] == "Fr | 01.01.2027"  # DTEND exclusive


def test_no_dtstart_raises() -> None:
    (event,) = _events("BEGIN:VEVENT\nUID:n\nSUMMARY:Ohne\nEND:VEVENT\n")
    with pytest.raises(NoDtstart, match="Ohne"):
        event_item(event, NOW)


def test_recurrence_text_monthly_until() -> None:
    (event,) = _events(
        "BEGIN:VEVENT\nUID:m\nSUMMARY:M\nDTSTART:20260110T100000Z\n"
        "RRULE:FREQ=MONTHLY;UNTIL=20261231T000000Z\nEND:VEVENT\n"
    )
    assert recurrence_text(event.get("RRULE")) == "monatlich bis 31.12.2026"
