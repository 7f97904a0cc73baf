"""The two MINTvernetzt sources (events with their per-event calendar files, projects) on
their SCHEMA-DERIVED fixtures (snapshots/mintvernetzt*/PROVENANCE.md: invented records in
the shape of the platform's public source code, not recordings): `sources check --replay`
extracts every record with full field coverage, the calendar files are merged into the
events, the platform's vocabularies map onto ours, and the fixtures never reach the demo
catalogue."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import cli_args, make_settings
from sqlmodel import Session
from test_spider_json import crawl_fixture

from catalog import store
from catalog.db import get_engine
from crawlers.sources import load_sources
from crawlers.spiders.json_api import jmespath_fields
from normalize.audience import parse_audience
from normalize.vocab import map_formats, map_subjects
from webapp.cli import main

REPO = Path(__file__).resolve().parent.parent
SNAPSHOTS = REPO / "snapshots"
HOST = "community.mint-vernetzt.de"
FIXTURES = {
    "mintvernetzt": SNAPSHOTS / "mintvernetzt" / HOST / "api" / "events@skip=0&take=50",
    "mintvernetzt_projekte": SNAPSHOTS
    / "mintvernetzt_projekte"
    / HOST
    / "api"
    / "projects@skip=0&take=50",
}


def source(source_id: str) -> Any:
    found = load_sources(REPO / "sources.yaml").get(source_id)
    assert found is not None
    return found


def fixture_items(source_id: str) -> list[dict[str, Any]]:
    return json.loads(FIXTURES[source_id].read_text(encoding="utf-8"))["result"]


@pytest.mark.parametrize("source_id", sorted(FIXTURES))
def test_check_replay_extracts_every_record_with_full_coverage(runner, source_id: str) -> None:
    items = fixture_items(source_id)
    result = runner.invoke(main, ["sources", "check", source_id, "--replay", "--limit", "0"])
    assert result.exit_code == 0, result.output
    assert f"== {source_id}: {len(items)} Datensätze" in result.output
    src = source(source_id)
    assert not src.enabled  # never crawled into a catalogue
    coverage = result.output.split("Feldabdeckung:")[1]
    for name in src.fields:
        assert f"{name:<14} 100.0 %" in coverage, name


@pytest.mark.parametrize("source_id", sorted(FIXTURES))
def test_fixture_is_labelled_schema_derived(source_id: str) -> None:
    provenance = (SNAPSHOTS / source_id / "PROVENANCE.md").read_text(encoding="utf-8")
    assert "SCHEMA-DERIVED" in provenance and "not a recording" in provenance
    for item in fixture_items(source_id):
        assert item["id"].startswith("00000000-0000-4000-8000-")
        assert item["name"].startswith("Schemaabgeleitetes Beispiel")


def test_fixtures_never_enter_the_demo_catalogue(demo_settings, client, runner, tmp_path) -> None:
    with Session(get_engine(demo_settings.database_url)) as session:
        assert list(store.iter_raw(session, list(FIXTURES))) == []
        assert next(iter(store.iter_raw(session, ["komm_mach_mint"])), None) is not None
    hits = client.get("/suche.json?q=Schemaabgeleitetes").get_json()
    assert hits["total"] == 0
    args = cli_args(make_settings(tmp_path))
    for source_id in FIXTURES:  # and a crawl by id refuses them
        result = runner.invoke(main, [*args, "crawl", source_id, "--replay"])
        assert result.exit_code != 0 and "deaktivierte Quelle" in result.output


@pytest.fixture(scope="module")
def event_records(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    entry = yaml.safe_load((REPO / "sources.yaml").read_text(encoding="utf-8"))["sources"]
    (mv,) = [e for e in entry if e["id"] == "mintvernetzt"]
    mv = {**mv, "enabled": True}  # a copy, crawled into a temporary database only
    event, records = crawl_fixture(tmp_path_factory.mktemp("mv"), mv, SNAPSHOTS)
    assert event["status"] == "success", event
    assert event["stats"]["pages"] == 4  # the API page and three calendar files
    return {r.source_key: r.fields for r in records}


def test_calendar_files_are_merged_into_the_events(event_records: dict[str, Any]) -> None:
    robotik = event_records["00000000-0000-4000-8000-00000000e001"]
    # DTSTART/DTEND of the .ics (UTC) as German local time (CET in March)
    assert robotik["dates"] == "Sa | 20.03.2027, 10:00 - 15:00 Uhr"
    # LOCATION as the platform's createIcsString writes it (see PROVENANCE.md)
    assert robotik["address"] == "Adresse: Beispielhaus Beispielstraße 1 04109, 04109"
    assert robotik["street"] == "Beispielstraße" and robotik["city"] == "Leipzig"
    assert len(event_records) == 3


def test_event_vocabularies_map_onto_ours() -> None:
    rules = source("mintvernetzt").fields
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
    assert fields["dates"] is None  # neither a calendar file nor times: nothing invented
    hybrid = jmespath_fields({"name": "h", "stage": {"title": "Hybrid"}, "ics": None}, rules)
    assert map_formats(hybrid["formats"])[0] == ["veranstaltung", "online"]
    on_site = jmespath_fields({"name": "v", "stage": {"title": "Vor Ort"}}, rules)
    assert map_formats(on_site["formats"])[0] == ["veranstaltung"]
    fallback = jmespath_fields(
        {"name": "f", "startTime": "2027-01-01T10:00:00.000Z", "ics": None}, rules
    )
    assert fallback["dates"] == "2027-01-01T10:00:00.000Z"


def test_project_vocabularies_map_onto_ours() -> None:
    rules = source("mintvernetzt_projekte").fields
    by_name = {
        item["name"].split(": ", 1)[1]: jmespath_fields(item, rules)
        for item in fixture_items("mintvernetzt_projekte")
    }
    labor = by_name["Schülerlabor Physik"]
    assert map_subjects(labor["subjects"]) == (["naturwissenschaften", "umwelt"], [])
    assert map_formats(labor["formats"]) == (["schuelerlabor", "ferien"], [])
    audience = parse_audience(labor["audience"])
    assert audience.girls and {"grundschule", "sek1"} <= set(audience.groups)
    assert labor["tags"] == ["+Umwelt", "Mädchen und / oder Frauen"]
    assert labor["areas"] == ["Sachsen"]
    assert labor["description"].startswith("Experimentieren im Labor und in den Ferien\n\n<p>")

    zirkel = by_name["Mathe-Zirkel"]  # "MINT gesamt" means all four; "+Kunst" is no subject
    assert map_subjects(zirkel["subjects"])[0] == [
        "mathematik",
        "informatik",
        "naturwissenschaften",
        "technik",
    ]
    assert map_formats(zirkel["formats"]) == (["workshop", "wettbewerb"], [])
    assert zirkel["audience"] == ["Sekundarstufe II"]  # "Hochbegabte" stays a tag

    werkstatt = by_name["Programmierwerkstatt"]
    assert map_formats(werkstatt["formats"])[0] == ["wettbewerb", "veranstaltung", "online"]
    groups = [g for label in werkstatt["audience"] for g in parse_audience(label).groups]
    assert "sek1" not in groups  # teachers of Sek. I are teachers, not pupils
    assert set(groups) == {"lehrkraefte", "erwachsene"}
    assert werkstatt["url"] == f"https://{HOST}/project/schemaabgeleitet-programmierwerkstatt"


def test_every_platform_label_is_mapped_or_deliberately_left() -> None:
    """The vocabularies of prisma/scripts/import-datasets/data/ (as of PROVENANCE.md):
    what our normalizer cannot read is listed here on purpose ("Weiterbildung" is read as
    workshop by normalize.vocab's keyword rules)."""
    rules = source("mintvernetzt_projekte").fields
    formats = [
        "Workshop / Kurs", "Schüler:innen-Labor", "Projektwoche", "Ferienangebot",
        "Wettbewerb", "Hackathon", "Veranstaltung", "Leihsystem", "Online-Format",
        "Mobile MINT-Angebote", "Produkte / Apps", "Netzwerkaus- und aufbau",
        "Unterrichtsinhalte Pädagog:innen", "Wissenschaftliche Begleitung", "Weiterbildung",
        "Studien- und Berufsorientierung", "Finanzierungsmodell", "Ganztagsangebot",
    ]  # fmt: skip
    mapped = jmespath_fields({"formats": [{"format": {"title": f}} for f in formats]}, rules)
    assert map_formats(mapped["formats"])[1] == [
        "Leihsystem",
        "Mobile MINT-Angebote",
        "Produkte / Apps",
        "Unterrichtsinhalte Pädagog:innen",
        "Wissenschaftliche Begleitung",
        "Finanzierungsmodell",
    ]
    disciplines = ["Informatik", "Mathe", "MINT gesamt", "Naturwissenschaften", "Technik"]
    mapped = jmespath_fields(
        {"disciplines": [{"discipline": {"title": d}} for d in disciplines]}, rules
    )
    assert map_subjects(mapped["subjects"])[1] == []
    groups = [
        "Kinder in der Kita oder Vorschule", "Kinder Primarstufe", "Schüler:innen Sek. I",
        "Schüler:innen Sek. II", "Junge Erwachsene", "Studierende allgemein",
        "Studierende Lehramt", "Auszubildende", "Lehrkräfte Vorschule und Primarstufe",
        "Lehrkräfte Sek. I", "Lehrkräfte Sek. II", "Dozierende Hochschule",
        "Erzieher:innen (Schule)", "Erzieher:innen (Kita)", "Wissenschaftler:innen",
        "Koordinator:innen und Multiplikator:innen von MINT-Bildungsangeboten",
        "Eltern von Schüler:innen",
    ]  # fmt: skip
    mapped = jmespath_fields(
        {"projectTargetGroups": [{"projectTargetGroup": {"title": g}} for g in groups]}, rules
    )
    unread = [label for label in mapped["audience"] if not parse_audience(label).groups]
    assert unread == ["Dozierende Hochschule", "Wissenschaftler:innen"]
