"""The json spider over loopback HTTP on constructed inputs (tests/fixtures/constructed/,
labelled constructed: no platform's data): offset, page and cursor paging, JMESPath
mapping, the access token from an environment variable, broken JSON and an unexpected
response shape. Also the shared ``crawl_fixture`` helper of the other kind tests.

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
    INVALID_JSON_STAT,
    UNEXPECTED_SHAPE_STAT,
    jmespath_fields,
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


# -- mintvernetzt: schema-derived fixture ----------------------------------------------------

MINTVERNETZT_EVENTS = (
    REPO
    / "snapshots"
    / "mintvernetzt"
    / "community.mint-vernetzt.de"
    / "api"
    / "events@skip=0&take=50"
)


def test_mintvernetzt_check_replay_extracts_every_record_with_full_coverage(runner) -> None:
    import json

    from webapp.cli import main

    fixture = json.loads(MINTVERNETZT_EVENTS.read_text(encoding="utf-8"))["result"]
    result = runner.invoke(main, ["sources", "check", "mintvernetzt", "--replay", "--limit", "0"])
    assert result.exit_code == 0, result.output
    assert f"== mintvernetzt: {len(fixture)} Datensätze" in result.output
    source = load_sources_file().get("mintvernetzt")
    assert source is not None and not source.enabled  # never in the demo catalogue
    coverage = result.output.split("Feldabdeckung:")[1]
    for name in source.fields:
        assert f"{name:<14} 100.0 %" in coverage, name


def load_sources_file():
    from crawlers.sources import load_sources

    return load_sources(REPO / "sources.yaml")


def test_mintvernetzt_vocabularies_map_onto_ours() -> None:
    from normalize.audience import parse_audience
    from normalize.vocab import map_formats

    rules = load_sources_file().get("mintvernetzt").fields
    event = {
        "id": "x",
        "name": "Online-Veranstaltung",
        "types": [{"eventType": {"title": "Paneldiskussion"}}],
        "stage": {"title": "Online"},
        "eventTargetGroups": [
            {"eventTargetGroup": {"title": title}}
            for title in ("Frühkindliche Bildung", "Primarbereich", "Sek 1", "Sek 2", "Lehrkräfte")
        ],
        "canceled": True,
    }
    fields = jmespath_fields(event, rules)
    assert map_formats(fields["formats"]) == (["veranstaltung", "online"], [])
    groups = [g for label in fields["audience"] for g in parse_audience(label).groups]
    assert groups == ["kita", "grundschule", "sek1", "sek2", "lehrkraefte"]
    assert fields["status"] == "abgesagt"
    hybrid = jmespath_fields({"name": "h", "stage": {"title": "Hybrid"}}, rules)
    assert map_formats(hybrid["formats"])[0] == ["veranstaltung", "online"]


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
