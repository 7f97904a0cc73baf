"""The html spider over real HTTP on loopback: the komm_mach_mint snapshot into SQLite,
compared with hand-written expected records, plus detail pages, pagination and drops on a
small synthetic site (tmp_path, clearly not a platform snapshot).

Every crawl runs in its own process (``crawl_in_subprocess``), as in production.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlmodel import Session, select

from catalog import store
from catalog.db import get_engine, init_db
from catalog.schema import CrawlRun
from crawlers.extract import finish_value
from crawlers.replay import ReplayServer
from crawlers.run import crawl_in_subprocess
from crawlers.sources import FieldRule

REPO = Path(__file__).resolve().parent.parent
SNAPSHOTS = REPO / "snapshots"
EXPECTED = json.loads(
    (REPO / "tests" / "expected" / "komm_mach_mint.expected.json").read_text(encoding="utf-8")
)
NOW = datetime(2020, 11, 14, 12, 0, tzinfo=UTC)


def source_file_with(tmp: Path, source_id: str) -> Path:
    """A sources file holding only ``source_id``'s entry of the repository's sources.yaml
    (so a half-edited entry of another source cannot break these tests)."""
    data = yaml.safe_load((REPO / "sources.yaml").read_text(encoding="utf-8"))
    entry = next(s for s in data["sources"] if s["id"] == source_id)
    path = tmp / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": [entry]}, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def kmm_crawl(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Crawl komm_mach_mint twice through replay into a fresh SQLite file."""
    tmp = tmp_path_factory.mktemp("kmm")
    sources_file = source_file_with(tmp, "komm_mach_mint")
    url = f"sqlite:///{tmp / 'x.db'}"
    init_db(get_engine(url))
    events: list[dict[str, Any]] = []
    with ReplayServer(SNAPSHOTS, ["komm_mach_mint"]) as server:
        started = time.monotonic()
        first = crawl_in_subprocess(
            ["komm_mach_mint"],
            sources_file=sources_file,
            database_url=url,
            replay_hosts=server.host_map,
            now=NOW,
            on_event=events.append,
        )
        seconds = time.monotonic() - started
        with Session(get_engine(url)) as session:
            first_records = list(store.iter_raw(session, ["komm_mach_mint"]))
        second = crawl_in_subprocess(
            ["komm_mach_mint"],
            sources_file=sources_file,
            database_url=url,
            replay_hosts=server.host_map,
            now=NOW,
        )
    with Session(get_engine(url)) as session:
        records = list(store.iter_raw(session, ["komm_mach_mint"]))
        runs = list(session.exec(select(CrawlRun).order_by(CrawlRun.id)))
    return {
        "first": first,
        "second": second,
        "events": events,
        "seconds": seconds,
        "first_records": first_records,
        "records": records,
        "runs": runs,
    }


def test_crawl_yields_every_row(kmm_crawl: dict[str, Any]) -> None:
    [run] = kmm_crawl["first"]
    assert run["status"] == "success", run
    assert run["items"] == EXPECTED["count"] == 994
    assert len(kmm_crawl["first_records"]) == 994
    assert run["stats"]["dropped"] == {}
    assert run["stats"]["outcomes"] == {"new": 994}
    assert run["stats"]["coverage"]["title"] == 1.0
    # progress: an item event every 100 records, then the run event
    counts = [e["count"] for e in kmm_crawl["events"] if e["event"] == "item"]
    assert counts == list(range(100, 1000, 100))
    assert kmm_crawl["events"][-1]["event"] == "run"
    assert kmm_crawl["seconds"] < 30  # a few seconds in practice: replay has no delays


def test_records_carry_original_urls_and_injected_time(kmm_crawl: dict[str, Any]) -> None:
    for record in kmm_crawl["first_records"]:
        assert record.url == EXPECTED["url"]
        assert record.source_key.startswith("https://www.komm-mach-mint.de/schuelerinnen/")
        assert "127.0.0.1" not in record.source_key + json.dumps(record.fields)
        assert record.fetched_at == NOW


@pytest.mark.parametrize("expected", EXPECTED["records"], ids=lambda e: e["fields"]["title"][:30])
def test_expected_records(kmm_crawl: dict[str, Any], expected: dict[str, Any]) -> None:
    by_key = {r.source_key: r for r in kmm_crawl["first_records"]}
    record = by_key[expected["source_key"]]
    assert record.source_id == EXPECTED["source_id"]
    for name, value in expected["fields"].items():
        assert record.fields.get(name) == value, name
    for name in expected["absent"]:
        assert name not in record.fields, name
    assert set(record.fields) == set(expected["fields"])


def test_second_crawl_is_idempotent(kmm_crawl: dict[str, Any]) -> None:
    [run] = kmm_crawl["second"]
    assert run["status"] == "success"
    assert run["stats"]["outcomes"] == {"unchanged": 994}
    assert len(kmm_crawl["records"]) == 994
    assert [r.content_hash for r in kmm_crawl["records"]] == [
        r.content_hash for r in kmm_crawl["first_records"]
    ]
    stored = kmm_crawl["runs"]
    assert [(r.status, r.items) for r in stored] == [("success", 994), ("success", 994)]
    assert stored[0].stats["coverage"]["city"] == pytest.approx(946 / 994, abs=1e-4)


# --- a small synthetic site: detail pages, pagination, drops ------------------------------

SITE_HOST = "www.example.org"
LIST_1 = """<html><body><ul id="list">
<li class="item"><a class="t" href="/angebot/1">  Roboter-AG
  </a><span class="c">Chemie, Physik,</span></li>
<li class="item"><a class="t" href="/angebot/2">Sternwarte</a><span class="c">Astronomie</span></li>
<li class="item"><a class="t" href="/angebot/3"></a><span class="c">ohne Titel</span></li>
</ul><a rel="next" href="/liste?seite=2">weiter</a></body></html>"""
LIST_2 = """<html><body><ul id="list">
<li class="item"><a class="t" href="/angebot/4">Mathe-Zirkel</a></li>
<li class="item"><a class="t" href="/angebot/missing">Verschwunden</a></li>
</ul><a rel="next" href="/liste?seite=3">weiter</a></body></html>"""
LIST_3 = """<html><body><ul id="list">
<li class="item"><a class="t" href="/angebot/5">Dritte Seite</a></li>
</ul></body></html>"""


def detail(n: int, costs: str) -> str:
    return (
        f"<html><body><h1>Angebot {n}</h1><p class='k'>Kosten: {costs}</p>"
        "<p class='d'>Erste Zeile.</p><p class='d'>Zweite\n   Zeile.</p></body></html>"
    )


def site_source(source_id: str, *, detail: bool, max_pages: int) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "title": {"css": "a.t::text"},
        "url": {"css": "a.t", "attr": "href", "absolute": True},
        "subjects": {"css": "span.c::text", "split": ","},
    }
    if detail:
        fields["costs"] = {"css": "p.k::text", "regex": "Kosten: (.*)", "from": "detail"}
        fields["description"] = {"css": "p.d::text", "join": " ", "from": "detail"}
    return {
        "id": source_id,
        "title": "Beispiel (synthetisch, nur Test)",
        "homepage": f"https://{SITE_HOST}/",
        "kind": "html",
        "start_urls": [f"https://{SITE_HOST}/liste"],
        "schedule": "0 4 * * *",
        "licence": {"name": "test"},
        "politeness": {"download_delay": 5.0, "max_pages": max_pages},
        "constants": {"bundesland": "Sachsen", "city": "Leipzig"},
        "html": {
            "rows": "xpath://ul[@id='list']/li",
            "key": "url",
            "detail": "url" if detail else None,
            "next_page": "a[rel=next]",
        },
        "fields": fields,
    }


@pytest.fixture(scope="module")
def site_crawl(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two sources on one synthetic host, crawled in one process: ``beispiel`` (detail
    pages, three list pages) and ``beispiel_kurz`` (no detail pages, max_pages 3)."""
    tmp = tmp_path_factory.mktemp("site")
    host = tmp / "snapshots" / "beispiel" / SITE_HOST
    (host / "angebot").mkdir(parents=True)
    (host / "robots.txt").write_text("User-agent: *\nDisallow:\n", encoding="utf-8")
    (host / "liste").write_text(LIST_1, encoding="utf-8")
    (host / "liste@seite=2").write_text(LIST_2, encoding="utf-8")
    (host / "liste@seite=3").write_text(LIST_3, encoding="utf-8")
    for n, costs in [(1, "3 Euro"), (2, "kostenlos"), (3, "frei"), (4, "2 €"), (5, "-")]:
        (host / "angebot" / str(n)).write_text(detail(n, costs), encoding="utf-8")
    sources = [
        site_source("beispiel", detail=True, max_pages=50),
        site_source("beispiel_kurz", detail=False, max_pages=3),
    ]
    sources_file = tmp / "sources.yaml"
    sources_file.write_text(yaml.safe_dump({"sources": sources}), encoding="utf-8")
    out = tmp / "records.jsonl"
    started = time.monotonic()
    with ReplayServer(tmp / "snapshots", ["beispiel"]) as server:
        runs = crawl_in_subprocess(
            ["beispiel", "beispiel_kurz"],
            sources_file=sources_file,
            replay_hosts=server.host_map,
            now=NOW,
            jsonl=out,
        )
    seconds = time.monotonic() - started
    records: dict[str, dict[str, Any]] = {"beispiel": {}, "beispiel_kurz": {}}
    for line in out.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        records[record["source_id"]][record["fields"]["title"]] = record
    return {"runs": {r["source"]: r for r in runs}, "records": records, "seconds": seconds}


def test_detail_pages_and_pagination(site_crawl: dict[str, Any]) -> None:
    run, records = site_crawl["runs"]["beispiel"], site_crawl["records"]["beispiel"]
    assert run["status"] == "success", run
    assert sorted(records) == ["Dritte Seite", "Mathe-Zirkel", "Roboter-AG", "Sternwarte"]
    robot = records["Roboter-AG"]
    assert robot["source_key"] == f"https://{SITE_HOST}/angebot/1"
    assert robot["url"] == f"https://{SITE_HOST}/angebot/1"  # read from the detail page
    assert robot["fetched_at"] == NOW.isoformat()
    assert robot["fields"] == {
        "title": "Roboter-AG",
        "url": f"https://{SITE_HOST}/angebot/1",
        "subjects": ["Chemie", "Physik"],
        "costs": "3 Euro",
        "description": "Erste Zeile. Zweite Zeile.",
        "bundesland": "Sachsen",
        "city": "Leipzig",
    }
    assert records["Mathe-Zirkel"]["fields"]["costs"] == "2 €"
    assert "subjects" not in records["Mathe-Zirkel"]["fields"]
    # politeness delays (download_delay 5.0) are off in replay mode
    assert site_crawl["seconds"] < 20


def test_bad_rows_are_dropped_and_counted(site_crawl: dict[str, Any]) -> None:
    stats = site_crawl["runs"]["beispiel"]["stats"]
    # row 3 has an empty title; /angebot/missing answers 404
    assert stats["dropped"] == {"detail_failed": 1, "no_title": 1}
    assert stats["page_failures"] == 1
    assert stats["http_status"]["404"] == 1
    assert stats["pages"] == 3 + 5  # three list pages, five detail pages answered
    assert stats["truncated"] is False


def test_max_pages_truncates_but_succeeds(site_crawl: dict[str, Any]) -> None:
    run = site_crawl["runs"]["beispiel_kurz"]
    records = site_crawl["records"]["beispiel_kurz"]
    assert run["status"] == "success", run
    assert run["stats"]["finish_reason"] == "closespider_pagecount"
    assert run["stats"]["truncated"] is True
    assert {"Roboter-AG", "Sternwarte"} <= set(records)
    assert "Dritte Seite" not in records


# --- field-rule post-processing (crawlers.extract) ----------------------------------------


@pytest.mark.parametrize(
    ("texts", "rule", "expected"),
    [
        (
            ["  Berufsorientierung,\n     Netzwerke  "],
            {"split": ","},
            ["Berufsorientierung", "Netzwerke"],
        ),
        (["Berufsorientierung,"], {"split": ","}, ["Berufsorientierung"]),
        (["\n  ", "a", "b"], {}, "a"),
        (["\n  ", "a", " b "], {"many": True}, ["a", "b"]),
        (["a", "b"], {"join": " / "}, "a / b"),
        (["Kosten: 3 Euro", "x"], {"regex": "Kosten: (.*)"}, "3 Euro"),
        (["x"], {"regex": "Kosten: (.*)"}, None),
        ([" ", ""], {"many": True}, None),
        (["Alter 8\u00a0bis  12"], {}, "Alter 8 bis 12"),
    ],
)
def test_finish_value(texts: list[str], rule: dict[str, Any], expected: Any) -> None:
    assert finish_value(texts, FieldRule(css="x", **rule)) == expected
