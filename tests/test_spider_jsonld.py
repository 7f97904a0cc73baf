"""The jsonld spider over loopback HTTP on constructed pages (tests/fixtures/constructed/,
labelled constructed): an Event in an @graph with a nested Place, a Course/EducationEvent in
a list, a prefixed ``schema:Place``, a broken ld+json block and a page without data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_spider_json import HOST, crawl_fixture, fixture_entry

from crawlers.spiders.jsonld import INVALID_JSONLD_STAT, matching_nodes, type_names

FIELDS = {
    "title": {"jmespath": "name"},
    "description": {"jmespath": "description"},
    "url": {"jmespath": "url"},
    "provider": {"jmespath": "organizer.name || provider.name"},
    "street": {"jmespath": "location.address.streetAddress || address.streetAddress"},
    "plz": {"jmespath": "location.address.postalCode || address.postalCode"},
    "city": {"jmespath": "location.address.addressLocality || address.addressLocality"},
    "bundesland": {"jmespath": "location.address.addressRegion"},
    "lat": {"jmespath": "location.geo.latitude"},
    "lon": {"jmespath": "location.geo.longitude"},
    "dates": {"jmespath": "[startDate, endDate]", "join": " - "},
    "subjects": {"jmespath": "about", "many": True},
    "audience": {"jmespath": "typicalAgeRange || educationalLevel"},
    "formats": {"jmespath": '"@type"', "many": True},
}
START = f"https://{HOST}/veranstaltungen/"


def entry(**section: Any) -> dict[str, Any]:
    return fixture_entry("constructed_jsonld", "jsonld", section, FIELDS, [START])


@pytest.fixture(scope="module")
def jsonld_crawl(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], list[Any]]:
    return crawl_fixture(tmp_path_factory.mktemp("jsonld"), entry(follow="a.detail"))


def test_every_structured_object_is_a_record(jsonld_crawl) -> None:
    event, records = jsonld_crawl
    assert event["status"] == "success", event
    by_title = {r.fields["title"]: r for r in records}
    assert sorted(by_title) == [
        "Beispiel-Forschertag",
        "Beispiel-Informatikkurs",
        "Beispiel-Schülerlabor",
    ]  # the Organization and the nested Place are no records
    assert by_title["Beispiel-Forschertag"].fields == {
        "title": "Beispiel-Forschertag",
        "description": "Konstruiertes Testangebot: Experimente für Kinder von 8 bis 12 Jahren.",
        "url": "https://fixtures.mintsuche.test/veranstaltungen/forschertag",
        "provider": "Beispielverein e. V.",
        "street": "Beispielweg 3",
        "plz": "04109",
        "city": "Leipzig",
        "bundesland": "Sachsen",
        "lat": "51.34",
        "lon": "12.37",
        "dates": "2027-03-20T10:00:00+01:00 - 2027-03-20T15:00:00+01:00",
        "subjects": ["Physik", "Chemie"],
        "audience": "8-12",
        "formats": ["Event"],
    }
    course = by_title["Beispiel-Informatikkurs"]
    assert course.source_key == f"{START}kurs-informatik.html#1"  # no url: page + position
    assert course.fields["formats"] == ["Course", "EducationEvent"]
    assert course.fields["city"] == "Halle (Saale)" and course.fields["audience"] == "Klasse 7-10"
    lab = by_title["Beispiel-Schülerlabor"]
    assert lab.source_key == "https://fixtures.mintsuche.test/labor"
    assert lab.fields["plz"] == "99084"


def test_broken_block_is_counted_and_the_page_still_read(
    jsonld_crawl, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    event, records = jsonld_crawl
    assert event["stats"]["errors"]["log_errors"] == 1
    assert event["stats"]["pages"] == 4 and event["stats"]["page_failures"] == 0
    # without follow: only the start page, whose good block still gives its Event
    event, records = crawl_fixture(tmp_path, entry())
    assert [r.fields["title"] for r in records] == ["Beispiel-Forschertag"]
    err = capfd.readouterr().err
    assert "ld+json block 2 is not valid JSON" in err
    assert f"'{INVALID_JSONLD_STAT}': 1" in err


def test_types_filter_and_prefixes() -> None:
    docs = [
        {"@graph": [{"@type": "Event", "name": "a"}, {"@type": "Person", "name": "p"}]},
        [{"@type": "https://schema.org/Place", "name": "b"}],
        {"@type": ["schema:Course"], "name": "c", "location": {"@type": "Place", "name": "n"}},
        "kein Objekt",
    ]
    assert [n["name"] for n in matching_nodes(docs, ["Event", "Place", "Course"])] == [
        "a",
        "b",
        "c",
    ]
    assert [n["name"] for n in matching_nodes(docs, ["Place"])] == ["b"]
    assert type_names({"@type": ["schema:Event", "http://schema.org/Course"]}) == {
        "Event",
        "Course",
    }
