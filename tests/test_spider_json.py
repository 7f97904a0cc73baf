"""The json spider over loopback HTTP on constructed inputs (tests/fixtures/constructed/,
labelled constructed: no platform's data): offset, page and cursor paging, JMESPath
mapping, the access token from an environment variable, broken JSON and an unexpected
response shape, a calendar file per record merged into it (``json.detail``) with a missing,
an unreadable and a DTSTART-less file. Also the shared ``crawl_fixture`` helper of the
other kind tests. The MINTvernetzt sources: tests/test_mintvernetzt.py.

Every crawl runs in its own process (``crawl_in_subprocess``), as in production.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlmodel import Session

from catalog import store
from catalog.db import get_engine, init_db
from crawlers.replay import ReplayServer
from crawlers.run import crawl_in_subprocess
from crawlers.sources import SourcesError, parse_sources
from crawlers.spiders.json_api import (
    INVALID_DETAIL_STAT,
    INVALID_JSON_STAT,
    UNEXPECTED_SHAPE_STAT,
    DetailError,
    jmespath_fields,
    parse_detail,
    search,
    texts_of,
    with_query,
    without_param,
)

REPO = Path(__file__).resolve().parent.parent
CONSTRUCTED = REPO / "tests" / "fixtures" / "constructed"
HOST = "fixtures.mintsuche.test"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def fixture_entry(
    source_id: str,
    kind: str,
    section: dict[str, Any],
    fields: dict[str, Any],
    start_urls: list[str],
) -> dict[str, Any]:
    """A sources.yaml entry for a constructed fixture (never a real platform)."""
    return {
        "id": source_id,
        "title": f"Konstruierte Testquelle ({kind})",
        "homepage": f"https://{HOST}/",
        "kind": kind,
        "start_urls": start_urls,
        "schedule": "0 4 * * *",
        "licence": {"name": "konstruiert für Tests"},
        "politeness": {"download_delay": 0, "max_pages": 20},
        kind: section,
        "fields": fields,
    }


def crawl_fixture(
    tmp: Path, entry: dict[str, Any], snapshots: Path = CONSTRUCTED
) -> tuple[dict[str, Any], list[Any]]:
    """Crawl one fixture source into a fresh SQLite file: the run event and the records."""
    tmp.mkdir(parents=True, exist_ok=True)
    sources_file = tmp / "sources.yaml"
    sources_file.write_text(yaml.safe_dump({"sources": [entry]}, allow_unicode=True), "utf-8")
    url = f"sqlite:///{tmp / 'crawl.db'}"
    init_db(get_engine(url))
    with ReplayServer(snapshots, [entry["id"]]) as server:
        (event,) = crawl_in_subprocess(
            [entry["id"]],
            sources_file=sources_file,
            database_url=url,
            replay_hosts=server.host_map,
            now=NOW,
        )
    with Session(get_engine(url)) as session:
        records = list(store.iter_raw(session, [entry["id"]]))
    return event, records


FIELDS = {
    "title": {"jmespath": "name"},
    "description": {"jmespath": "summary"},
    "street": {"jmespath": "venue.street"},
    "plz": {"jmespath": "venue.zip"},
    "city": {"jmespath": "venue.city"},
    "subjects": {"jmespath": "disciplines[].title", "many": True},
    "audience": {"jmespath": "targetGroups", "many": True},
    "url": {"jmespath": "link"},
    "country": {"value": "Deutschland"},
}


def json_entry(start: str, paging: dict[str, Any], **section: Any) -> dict[str, Any]:
    spec = {"items": "data.offers", "key": "url", "paging": paging, **section}
    return fixture_entry("constructed_json", "json", spec, FIELDS, [f"https://{HOST}/api/{start}"])


OFFSET = {"mode": "offset", "param": "skip", "size_param": "take", "size": 2}


def test_offset_paging_maps_every_field(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    event, records = crawl_fixture(tmp_path, json_entry("angebote", OFFSET))
    assert event["status"] == "success", event
    by_key = {r.source_key: r for r in records}
    assert sorted(by_key) == [f"https://{HOST}/angebot/{i}" for i in ("a1", "b2", "c3")]
    first = by_key[f"https://{HOST}/angebot/a1"]
    assert first.fields == {
        "title": "Beispiel-Robotik-AG",
        "description": "Beispiel-Robotik-AG: konstruiertes Testangebot.",
        "street": "Beispielstraße 1",
        "plz": "04109",
        "city": "Leipzig",
        "subjects": ["Informatik", "Technik"],
        "audience": ["Sek I"],
        "url": f"https://{HOST}/angebot/a1",
        "country": "Deutschland",
    }
    assert first.url == f"https://{HOST}/api/angebote?skip=0&take=2"
    # page 2 holds a string instead of an object, page 3 an object without a name
    assert event["stats"]["dropped"] == {"not_an_object": 1, "no_title": 1}
    assert event["stats"]["pages"] == 3 and event["stats"]["page_failures"] == 0
    assert event["stats"]["coverage"]["subjects"] == 1.0


def test_page_and_cursor_paging(tmp_path: Path) -> None:
    page = {"mode": "page", "param": "page", "size_param": "per_page", "size": 2, "start": 1}
    event, records = crawl_fixture(tmp_path / "p", json_entry("seiten", page))
    assert event["status"] == "success" and event["stats"]["pages"] == 2
    assert len(records) == 3
    cursor = {
        "mode": "cursor",
        "param": "cursor",
        "size_param": "limit",
        "size": 2,
        "cursor": "next",
    }
    event, records = crawl_fixture(tmp_path / "c", json_entry("cursor", cursor))
    assert event["status"] == "success" and event["stats"]["pages"] == 2
    assert sorted(r.fields["title"] for r in records) == [
        "Beispiel-Chemielabor",
        "Beispiel-Mathezirkel",
        "Beispiel-Robotik-AG",
    ]


def test_broken_json_is_counted_and_nothing_else_lost(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    entry = json_entry("angebote", OFFSET)
    entry["start_urls"] += [f"https://{HOST}/api/kaputt", f"https://{HOST}/api/form"]
    event, records = crawl_fixture(tmp_path, entry)
    assert event["status"] == "success", event
    assert len(records) == 3  # all records of the good URL
    assert event["stats"]["errors"]["log_errors"] == 2
    err = capfd.readouterr().err
    assert "api/kaputt?skip=0&take=2 is not valid JSON" in err
    assert "gave dict, not a list" in err
    assert f"'{INVALID_JSON_STAT}': 1" in err and f"'{UNEXPECTED_SHAPE_STAT}': 1" in err


def test_token_from_environment_never_stored(tmp_path: Path, monkeypatch) -> None:
    token = "s3cr3t-t0ken"
    snapshots = tmp_path / "snapshots"
    host = snapshots / "constructed_json" / HOST
    host.mkdir(parents=True)
    source = CONSTRUCTED / "constructed_json" / HOST
    (host / "robots.txt").write_bytes((source / "robots.txt").read_bytes())
    (host / "api").mkdir()
    for skip in (0, 2, 4):  # the API answers only with the token (404 otherwise)
        body = (source / "api" / f"angebote@skip={skip}&take=2").read_bytes()
        (host / "api" / f"angebote@skip={skip}&take=2&access_token={token}").write_bytes(body)
    monkeypatch.setenv("FIXTURE_TOKEN", token)
    entry = json_entry("angebote", OFFSET, auth={"env": "FIXTURE_TOKEN", "param": "access_token"})
    event, records = crawl_fixture(tmp_path / "run", entry, snapshots)
    assert event["status"] == "success", event
    assert len(records) == 3
    assert all(token not in r.url for r in records)
    assert token.encode() not in (tmp_path / "run" / "crawl.db").read_bytes()
    # without the variable the request goes out without a token: 404, a failed run
    monkeypatch.delenv("FIXTURE_TOKEN")
    event, records = crawl_fixture(tmp_path / "run2", entry, snapshots)
    assert event["status"] == "failed" and records == []
    assert token not in str(event)


DETAIL_FIELDS = {
    "title": {"jmespath": "name"},
    "dates": {"jmespath": "ics.dates || [beginn, ende]", "join": " - "},
    "address": {"jmespath": "ics.location || ort"},
    "recurrence": {"jmespath": "ics.recurrence"},
    "url": {"jmespath": "link"},
}
DETAIL = {"url": "slug && join('', ['/termine/', slug, '.ics'])", "kind": "ical", "into": "ics"}


def detail_entry(**section: Any) -> dict[str, Any]:
    spec = {
        "items": "data.offers",
        "key": "url",
        "paging": {"mode": "offset", "param": "skip", "size_param": "take", "size": 10},
        "detail": DETAIL,
        **section,
    }
    return fixture_entry(
        "constructed_json", "json", spec, DETAIL_FIELDS, [f"https://{HOST}/api/termine"]
    )


def test_detail_calendar_is_merged_and_failures_lose_nothing(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    event, records = crawl_fixture(tmp_path, detail_entry())
    assert event["status"] == "success", event
    by_key = {r.source_key.rsplit("/", 1)[1]: r.fields for r in records}
    assert sorted(by_key) == ["t1", "t2", "t3", "t4", "t5"]  # every record kept
    # t1: DTSTART/DTEND/RRULE/LOCATION of its .ics replace the list's values
    assert by_key["t1"] == {
        "title": "Beispiel-Robotik-AG",
        "dates": "Di | 03.02.2026 - Di | 30.06.2026, 14:00 - 16:00 Uhr, "
        "wöchentlich jeden Dienstag bis 30.06.2026",
        "address": "Beispielschule, Raum 12, Beispielstraße 1, 04109 Leipzig",
        "recurrence": "wöchentlich jeden Dienstag bis 30.06.2026",
        "url": f"https://{HOST}/termin/t1",
    }
    # no DTSTART (t2), 404 (t3), no detail URL (t4), not iCalendar (t5): the list's values
    assert by_key["t2"]["dates"] == "2027-07-05T08:00:00Z - 2027-07-05T12:00:00Z"
    assert by_key["t3"] == {
        "title": "Beispiel-Mathetag",
        "dates": "2027-03-01T09:00:00Z",
        "address": "Beispielhaus, 99084 Erfurt",
        "url": f"https://{HOST}/termin/t3",
    }
    assert "address" not in by_key["t4"] and by_key["t4"]["dates"].startswith("2027-04-01")
    assert by_key["t5"]["address"] == "Beispielsternwarte, 04109 Leipzig"
    assert all("recurrence" not in by_key[k] for k in ("t2", "t3", "t4", "t5"))
    assert event["stats"]["page_failures"] == 1  # the 404
    assert event["stats"]["errors"]["log_errors"] == 2  # ohne-beginn.ics, kaputt.ics
    assert event["stats"]["pages"] == 5  # the list and four calendar files
    err = capfd.readouterr().err
    assert "termine/ohne-beginn.ics: its event has no DTSTART" in err
    assert "termine/kaputt.ics: not an iCalendar file" in err
    assert f"'{INVALID_DETAIL_STAT}': 2" in err


def test_detail_requests_never_carry_the_token(tmp_path: Path, monkeypatch) -> None:
    token = "s3cr3t-t0ken"
    snapshots = tmp_path / "snapshots"
    host = snapshots / "constructed_json" / HOST
    source = CONSTRUCTED / "constructed_json" / HOST
    (host / "api").mkdir(parents=True)
    (host / "termine").mkdir()
    (host / "robots.txt").write_bytes((source / "robots.txt").read_bytes())
    body = (source / "api" / "termine@skip=0&take=10").read_bytes()
    (host / "api" / f"termine@skip=0&take=10&access_token={token}").write_bytes(body)
    # only the calendar file without a token exists: a token in its URL would be a 404
    ics = (source / "termine" / "robotik.ics").read_bytes()
    (host / "termine" / "robotik.ics").write_bytes(ics)
    monkeypatch.setenv("FIXTURE_TOKEN", token)
    entry = detail_entry(auth={"env": "FIXTURE_TOKEN", "param": "access_token"})
    event, records = crawl_fixture(tmp_path / "run", entry, snapshots)
    assert event["status"] == "success", event
    t1 = next(r for r in records if r.source_key.endswith("/t1"))
    assert t1.fields["recurrence"] == "wöchentlich jeden Dienstag bis 30.06.2026"
    assert token.encode() not in (tmp_path / "run" / "crawl.db").read_bytes()


def test_parse_detail_reasons() -> None:
    ics = (CONSTRUCTED / "constructed_json" / HOST / "termine" / "robotik.ics").read_bytes()
    item, bad = parse_detail("ical", ics, NOW)
    assert not bad and item["rrule"] == "FREQ=WEEKLY;UNTIL=20260630T235959Z;BYDAY=TU"
    assert parse_detail("json", b'{"a": [1]}', NOW) == ({"a": [1]}, False)
    with pytest.raises(DetailError, match="not valid JSON"):
        parse_detail("json", b"{", NOW)
    with pytest.raises(DetailError, match="not an iCalendar file with an event"):
        parse_detail("ical", b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", NOW)


@pytest.mark.parametrize(
    ("detail", "message"),
    [
        ({"url": "join(", "kind": "ical"}, "invalid JMESPath expression"),
        ({"url": "slug", "kind": "xml"}, "Input should be 'ical' or 'json'"),
        ({"url": "slug", "into": "kein name"}, "should match pattern"),
        ({"kind": "ical"}, "missing required field 'url'"),
    ],
)
def test_invalid_detail_sections(detail: dict[str, Any], message: str) -> None:
    entry = detail_entry(detail=detail)
    with pytest.raises(SourcesError, match=message):
        parse_sources(yaml.safe_dump({"sources": [entry]}))


# -- in process ----------------------------------------------------------------------------


def test_jmespath_fields_and_texts() -> None:
    rules = (
        parse_sources(yaml.safe_dump({"sources": [json_entry("angebote", OFFSET)]}))
        .sources[0]
        .fields
    )
    item = {
        "name": " Roboter ",
        "disciplines": [{"title": "Informatik"}, {"title": 3}],
        "venue": {"zip": 4109},
        "targetGroups": None,
    }
    fields = jmespath_fields(item, rules)
    assert fields["title"] == "Roboter"
    assert fields["subjects"] == ["Informatik", "3"]
    assert fields["plz"] == "4109"  # numbers become text; normalize repairs the PLZ
    assert fields["audience"] is None and fields["country"] == "Deutschland"
    assert texts_of({"a": 1}) == [] and texts_of([True, None, [2.5]]) == ["true", "2.5"]
    # a function given the wrong type (join of a null) gives no value, not an exception
    assert search("join('', ['/e/', slug])", {"slug": None}) is None
    assert search("join('', ['/e/', slug])", {"slug": "x"}) == "/e/x"


def test_query_helpers() -> None:
    assert with_query("https://h/x?a=1&skip=9", [("skip", "0"), ("take", "2")]) == (
        "https://h/x?a=1&skip=0&take=2"
    )
    assert without_param("https://h/x?skip=0&access_token=t", "access_token") == (
        "https://h/x?skip=0"
    )


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"items": "data.[", "key": "url"}, "invalid JMESPath expression"),
        ({"items": "@", "paging": {"mode": "offset", "param": "skip"}}, "needs 'size'"),
        ({"items": "@", "paging": {"mode": "cursor", "param": "c"}}, "needs 'cursor'"),
        ({"items": "@", "auth": {"env": "T"}}, "exactly one of 'param' or 'header'"),
        ({"items": "@", "auth": {"env": "my token", "param": "t"}}, "should match pattern"),
        ({"items": "@", "key": "uid"}, "names the field 'uid'"),
    ],
)
def test_invalid_json_sections(section: dict[str, Any], message: str) -> None:
    entry = fixture_entry("x", "json", section, FIELDS, [f"https://{HOST}/api"])
    with pytest.raises(SourcesError, match=message):
        parse_sources(yaml.safe_dump({"sources": [entry]}))


def test_css_rule_is_rejected_for_json() -> None:
    entry = fixture_entry(
        "x",
        "json",
        {"items": "@"},
        {"title": {"css": "h1"}, "url": {"jmespath": "u"}},
        [f"https://{HOST}/api"],
    )
    with pytest.raises(SourcesError, match="a json source uses jmespath or value"):
        parse_sources(yaml.safe_dump({"sources": [entry]}))


def test_map_value() -> None:
    from crawlers.spiders.json_api import map_value

    mapping = {
        "Sek 1": "Sekundarstufe I",
        "Hybrid": ["Online-Angebot", "Veranstaltung"],
        "Vor Ort": [],
    }
    assert map_value("Sek 1", mapping) == "Sekundarstufe I"
    assert map_value("Hybrid", mapping) == ["Online-Angebot", "Veranstaltung"]
    assert map_value(["Vor Ort", "Keynote", "Keynote"], mapping) == ["Keynote"]
    assert map_value("Vor Ort", mapping) is None
    assert map_value(None, mapping) is None and map_value("x", None) == "x"


def test_map_only_for_jmespath_rules() -> None:
    entry = fixture_entry(
        "x",
        "csv",
        {"key": ["a"]},
        {"title": {"column": "a", "map": {"x": "y"}}},
        [f"https://{HOST}/a"],
    )
    with pytest.raises(SourcesError, match="'map' only applies to jmespath rules"):
        parse_sources(yaml.safe_dump({"sources": [entry]}))
