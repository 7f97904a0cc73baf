"""The rdf spider over real HTTP on loopback: the two Leipzig snapshots into SQLite, compared
with hand-written expected records; malformed and missing documents from small synthetic
snapshots (tmp_path, host ``fixtures.mintsuche.test``, clearly not a platform snapshot); and
the path/filter helpers in process.

Every crawl runs in its own process (``crawl_in_subprocess``), as in production.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from rdflib import Graph, URIRef
from scrapy.http import Request, TextResponse
from scrapy.utils.test import get_crawler
from snapshot_crawl import crawl, source_entry, write_sources

from crawlers.sources import parse_sources
from crawlers.spiders.rdf import (
    CONFIG_ERROR_STAT,
    PARSE_ERROR_STAT,
    RdfPathError,
    RdfSpider,
    compile_path,
    compile_where,
    guess_format,
    passes_where,
    select_values,
)

REPO = Path(__file__).resolve().parent.parent
SNAPSHOTS = REPO / "snapshots"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FIXTURE_HOST = "fixtures.mintsuche.test"

TTL_PATH = "LeipzigData/RDFData/master/MINTBroschuere2014.ttl"
JSON_PATH = "LeipzigData/MINT-Orte/master/MINTBroschuere2014_aggregated.json"
ORTE_DIR = SNAPSHOTS / "leipzig_mint_orte" / "raw.githubusercontent.com"

# Counted from the raw files, independently of the spider:
#   grep -c "a mint2014:Schwerpunkt ;" MINTBroschuere2014.ttl                  -> 147
#   grep -c "a mint2014:Angebot" MINTBroschuere2014.ttl                        -> 64
#   (the class declaration reads "mint2014:Angebot\n    a owl:Class": not counted)
#   grep -cE "ld:hasTag .*ldtag:MINT( |,|;)" Angebote.ttl                      -> 31
#   (of grep -c "a ld:Angebot" -> 60 offers; every hasTag is on one line)
EXPECTED_COUNTS = {
    "leipzig_mint_orte": 147,
    "leipzig_mint_orte_angebote": 64,
    "leipzig_angebote_2016": 31,
}


def expected(source_id: str) -> dict[str, Any]:
    path = REPO / "tests" / "expected" / f"{source_id}.expected.json"
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def crawls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[list[Any], list[Any]]]:
    """Each Leipzig source crawled twice from its snapshot: ``id -> (events, records)``."""
    out = {}
    for source_id in EXPECTED_COUNTS:
        tmp = tmp_path_factory.mktemp(source_id)
        sources_file = write_sources(tmp, source_entry(source_id))
        out[source_id] = crawl(tmp, source_id, SNAPSHOTS, sources_file, runs=2)
    return out


@pytest.mark.parametrize("source_id", sorted(EXPECTED_COUNTS))
def test_snapshot_record_count(crawls, source_id: str) -> None:
    (first, second), records = crawls[source_id]
    assert first["status"] == "success", first
    assert first["items"] == EXPECTED_COUNTS[source_id]
    assert len(records) == EXPECTED_COUNTS[source_id]
    assert first["stats"]["errors"]["log_errors"] == 0
    assert first["stats"]["page_failures"] == 0
    # the same data again: nothing changes (values are sorted, so hashes are stable)
    assert second["stats"]["outcomes"] == {"unchanged": EXPECTED_COUNTS[source_id]}


@pytest.mark.parametrize("source_id", sorted(EXPECTED_COUNTS))
def test_snapshot_matches_hand_written_records(crawls, source_id: str) -> None:
    _events, records = crawls[source_id]
    exp = expected(source_id)
    by_key = {r.source_key: r for r in records}
    assert len(exp["records"]) >= 5
    for want in exp["records"]:
        got = by_key.get(want["source_key"])
        assert got is not None, want["source_key"]
        assert got.fields == want["fields"], want["source_key"]
        assert got.url == exp["url"]
        assert got.fetched_at == NOW
    for key in exp["absent_keys"]:
        assert key not in by_key


def test_angebote_carry_no_personal_data(crawls) -> None:
    _events, records = crawls["leipzig_angebote_2016"]
    for record in records:
        text = json.dumps(record.fields, ensure_ascii=False)
        assert "/Data/Person/" not in text
        assert "@" not in text, record.source_key  # no e-mail addresses
        assert "contactPerson" not in record.fields and "email" not in record.fields


def test_mint_orte_addresses(crawls) -> None:
    events, records = crawls["leipzig_mint_orte"]
    coverage = events[0]["stats"]["coverage"]
    # 147 offers of 45 places: 5 places (17 offers) have only an address URI -> plz from
    # the URI, no address label; 40 places (130 offers) have a full address.
    assert coverage["plz"] == 1.0
    assert round(coverage["address"] * 147) == 130
    cities = {r.fields.get("city") for r in records}
    assert {"Leipzig", "Dresden", "Großpösna", "Jesewitz", "Borsdorf"} <= cities


def test_mint_orte_angebote_places_and_gaps(crawls) -> None:
    events, records = crawls["leipzig_mint_orte_angebote"]
    _events, schwerpunkte = crawls["leipzig_mint_orte"]
    coverage = events[0]["stats"]["coverage"]
    # 64 offers: 2 link a place the file never describes (mint2014:HANDSONTECHNOLOGY);
    # 62 get provider, place URI and plz; 11 of them (4 places) have only an address URI.
    without_place = sorted(
        r.source_key.rsplit("/", 1)[1] for r in records if "provider" not in r.fields
    )
    assert without_place == [
        "HANDSONTECHNOLOGY.FirstLegoLeague",
        "HANDSONTECHNOLOGY.FirstTechChallenge",
    ]
    assert round(coverage["plz"] * 64) == 62 and round(coverage["address"] * 64) == 51
    # the place URI is the one the Schwerpunkte of the same place carry
    places = {r.fields["provider"]: r.fields["provider_ref"] for r in schwerpunkte}
    for record in records:
        if "provider" in record.fields and record.fields["provider"] in places:
            assert record.fields["provider_ref"] == places[record.fields["provider"]]
    # "keine Angabe" is never a value; ld:Hinweise (contact persons, phones, e-mail) is not read
    for record in records:
        text = json.dumps(record.fields, ensure_ascii=False)
        assert "keine Angabe" not in text and "@" not in text and "Herrn" not in text


# -- documents that are missing or broken --------------------------------------------------


def test_without_the_address_document_a_crawl_gets_offers_without_addresses(
    tmp_path: Path,
) -> None:
    """As live: the JSON exists only in the snapshot; its 404 is a page failure."""
    snapshots = tmp_path / "snapshots"
    host = snapshots / "leipzig_mint_orte" / "raw.githubusercontent.com"
    (host / TTL_PATH).parent.mkdir(parents=True)
    shutil.copy(ORTE_DIR / TTL_PATH, host / TTL_PATH)
    shutil.copy(ORTE_DIR / "robots.txt", host / "robots.txt")
    sources_file = write_sources(tmp_path, source_entry("leipzig_mint_orte"))
    (event,), records = crawl(tmp_path, "leipzig_mint_orte", snapshots, sources_file)
    assert event["status"] == "success", event
    assert event["items"] == 147
    assert event["stats"]["page_failures"] == 1
    assert all("plz" not in r.fields and "address" not in r.fields for r in records)
    assert all(r.fields["provider"] for r in records)


def broken_snapshot(tmp_path: Path, files: dict[str, bytes]) -> tuple[Path, Path]:
    """A synthetic rdf source on FIXTURE_HOST serving ``files`` (path -> bytes)."""
    snapshots = tmp_path / "snapshots"
    host = snapshots / "rdf_fixture" / FIXTURE_HOST
    for path, body in files.items():
        (host / path).parent.mkdir(parents=True, exist_ok=True)
        (host / path).write_bytes(body)
    (host / "robots.txt").write_text("User-agent: *\nDisallow:\n", encoding="utf-8")
    entry = source_entry("leipzig_mint_orte")
    entry["id"] = "rdf_fixture"
    entry["start_urls"] = [f"https://{FIXTURE_HOST}/{path}" for path in files]
    entry["rdf"]["documents"] = [
        {
            "url": f"https://{FIXTURE_HOST}/{path}",
            "format": doc["format"],
            **({"context": doc["context"]} if "context" in doc else {}),
        }
        for path, doc in zip(files, entry["rdf"]["documents"], strict=True)
    ]
    return snapshots, write_sources(tmp_path, entry)


def test_broken_turtle_is_a_counted_error_not_a_crash(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    good = (ORTE_DIR / TTL_PATH).read_bytes()
    broken = good[: len(good) // 2] + b' "unterminated ;\n<a> <b> .\n'
    snapshots, sources_file = broken_snapshot(
        tmp_path, {"broken.ttl": broken, "orte.json": (ORTE_DIR / JSON_PATH).read_bytes()}
    )
    (event,), records = crawl(tmp_path, "rdf_fixture", snapshots, sources_file)
    assert event["status"] == "failed"  # 0 items
    assert event["items"] == 0 and records == []
    assert event["stats"]["errors"]["log_errors"] >= 1
    err = capfd.readouterr().err
    assert "cannot parse https://fixtures.mintsuche.test/broken.ttl as turtle" in err
    assert f"'{PARSE_ERROR_STAT}': 1" in err


def test_broken_json_keeps_the_turtle_records(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    snapshots, sources_file = broken_snapshot(
        tmp_path,
        {"orte.ttl": (ORTE_DIR / TTL_PATH).read_bytes(), "orte.json": b'[{"_id": "x", '},
    )
    (event,), records = crawl(tmp_path, "rdf_fixture", snapshots, sources_file)
    assert event["items"] == 147
    assert all("plz" not in r.fields for r in records)
    err = capfd.readouterr().err
    assert f"'{PARSE_ERROR_STAT}': 1" in err


def test_parse_error_is_counted_in_process() -> None:
    config = parse_sources(
        yaml.safe_dump({"sources": [source_entry("leipzig_angebote_2016")]}, allow_unicode=True)
    )
    spidercls = RdfSpider.from_source(config.sources[0], now=NOW)
    crawler = get_crawler(spidercls)
    spider = spidercls.from_crawler(crawler)
    url = spider.start_urls[0]
    response = TextResponse(url, body=b'<a> <b> "no end', encoding="utf-8", request=Request(url))
    assert list(spider.parse(response, index=0)) == []
    assert crawler.stats.get_value(PARSE_ERROR_STAT) == 1


def test_bad_path_is_a_counted_config_error() -> None:
    entry = source_entry("leipzig_angebote_2016")
    entry["fields"]["title"] = {"path": "nope:label"}
    config = parse_sources(yaml.safe_dump({"sources": [entry]}, allow_unicode=True))
    spidercls = RdfSpider.from_source(config.sources[0], now=NOW)
    crawler = get_crawler(spidercls)
    spider = spidercls.from_crawler(crawler)
    url = spider.start_urls[0]
    body = SNAPSHOTS / "leipzig_angebote_2016" / "raw.githubusercontent.com" / url.split("/", 3)[3]
    response = TextResponse(url, body=body.read_bytes(), encoding="utf-8", request=Request(url))
    assert list(spider.parse(response, index=0)) == []
    assert crawler.stats.get_value(CONFIG_ERROR_STAT) == 1


# -- paths and filters ---------------------------------------------------------------------

PREFIXES = {"ex": "http://example.org/", "rdfs": "http://www.w3.org/2000/01/rdf-schema#"}
TTL = b"""
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:offer1 a ex:Offer ; rdfs:label "Eins" ; ex:at ex:place ; ex:tag ex:MINT, ex:Kunst .
ex:offer2 a ex:Offer ; rdfs:label "Zwei" ; ex:tag ex:Umwelt .
ex:offer3 a ex:Offer ; rdfs:label "Drei" .
ex:place rdfs:label "Ort" ; ex:zip "04107" .
ex:event ex:offer ex:offer1 .
"""


@pytest.fixture(scope="module")
def graph() -> Graph:
    g = Graph()
    g.parse(data=TTL, format="turtle")
    return g


@pytest.mark.parametrize(
    ("path", "subject", "values"),
    [
        ("rdfs:label", "offer1", ["Eins"]),
        ("ex:at/rdfs:label", "offer1", ["Ort"]),
        ("ex:at / ex:zip", "offer1", ["04107"]),
        ("^ex:offer", "offer1", ["http://example.org/event"]),
        ("ex:tag", "offer1", ["http://example.org/Kunst", "http://example.org/MINT"]),
        ("ex:at/ex:zip | rdfs:label", "offer1", ["04107", "Eins"]),
        ("ex:at/ex:zip | rdfs:label", "offer2", ["Zwei"]),
        ("<http://example.org/at>/rdfs:label", "offer1", ["Ort"]),
        ("ex:at/ex:zip", "offer3", []),
    ],
)
def test_select_values(graph: Graph, path: str, subject: str, values: list[str]) -> None:
    compiled = compile_path(path, PREFIXES)
    assert select_values(graph, URIRef("http://example.org/" + subject), compiled) == values


@pytest.mark.parametrize("path", ["foo:bar", "ex:a//ex:b", "ex:a ex:b", "", "ex:a |"])
def test_bad_paths_raise(path: str) -> None:
    with pytest.raises(RdfPathError):
        compile_path(path, PREFIXES)


@pytest.mark.parametrize(
    ("where", "kept"),
    [
        (None, ["offer1", "offer2", "offer3"]),
        ({"ex:tag": "ex:MINT"}, ["offer1"]),
        ({"ex:tag": ["ex:MINT", "ex:Umwelt"]}, ["offer1", "offer2"]),  # a list is any-of
        ({"ex:tag": "ex:MINT", "rdfs:label": "Zwei"}, []),  # several paths: all must hold
        ({"ex:at/ex:zip": "04107"}, ["offer1"]),  # literal value
    ],
)
def test_where(graph: Graph, where: dict[str, Any] | None, kept: list[str]) -> None:
    filters = compile_where(where, PREFIXES)
    subjects = [f"offer{i}" for i in (1, 2, 3)]
    got = [s for s in subjects if passes_where(graph, URIRef("http://example.org/" + s), filters)]
    assert got == kept


@pytest.mark.parametrize(
    ("url", "content_type", "fmt"),
    [
        ("https://h/x/Angebote.ttl", None, "turtle"),
        ("https://h/x.rdf", None, "xml"),
        ("https://h/x.xml?y=1", None, "xml"),
        ("https://h/x.jsonld", None, "json-ld"),
        ("https://h/x.json", None, "json-ld"),
        ("https://h/x.nt", None, "nt"),
        ("https://h/export", "application/rdf+xml; charset=utf-8", "xml"),
        ("https://h/export", None, "turtle"),
    ],
)
def test_guess_format(url: str, content_type: str | None, fmt: str) -> None:
    assert guess_format(url, content_type) == fmt
