"""The visitor site over the demo catalogue built from the real snapshots."""

from __future__ import annotations

import pytest

HOSTILE = [
    '"',
    '""',
    '"unbalanced',
    "*",
    "Robo*",
    "NEAR(",
    "NEAR(a b)",
    "AND",
    "OR",
    "NOT",
    "a AND OR b",
    "-",
    "-Roboter",
    ":",
    "title:Roboter",
    "(",
    ")",
    "((Roboter",
    "[",
    "]",
    "{",
    "}",
    "^2",
    "~",
    "Roboter~2",
    "\x00",
    "Rob\x00oter",
    "x" * 5000,
    "Roboter " * 1000,
    "<script>alert(1)</script>",
    "'; DROP TABLE offer; --",
    "🤖🧪",
    "\u202e",
    "   ",
    "%",
    "\\",
    "a\\b",
    "'",
    "+",
    "!",
    "&&",
    "||",
]


def test_start_page(client):
    resp = client.get("/")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert 'lang="de"' in html
    assert 'action="/suche"' in html


def test_roboter_finds_first_lego_league(client):
    resp = client.get("/suche.json", query_string={"q": "Roboter"})
    assert resp.status_code == 200
    data = resp.get_json()
    titles = [h["title"] for h in data["hits"]]
    # the competition itself (its record never says "Roboter"), not only the Junior workshop
    assert "FIRST LEGO League" in titles, titles
    hit = next(h for h in data["hits"] if h["title"] == "FIRST LEGO League")
    assert "komm_mach_mint" in [p["id"] for p in hit["platforms"]]


def test_search_page_html(client):
    resp = client.get("/suche", query_string={"q": "Roboter"})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "FIRST LEGO League" in html
    assert "gelistet bei" in html


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_queries_never_error(client, q):
    for path in ("/suche", "/suche.json"):
        resp = client.get(path, query_string={"q": q})
        assert resp.status_code == 200, (path, q)
    html = client.get("/suche", query_string={"q": q}).get_data(as_text=True)
    assert "<script>alert" not in html


def test_hostile_filter_params(client):
    resp = client.get(
        "/suche.json",
        query_string={"fach": ["<x>", "\x00"], "alter": "abc", "seite": "-5", "land": "*"},
    )
    assert resp.status_code == 200
    assert resp.get_json()["page"] == 1


def test_empty_query_lists_everything_and_paginates(client):
    data = client.get("/suche.json").get_json()
    assert data["total"] > 1000
    assert len(data["hits"]) == data["per_page"]
    second = client.get(data["next"].replace("/suche?", "/suche.json?")).get_json()
    assert second["page"] == 2
    assert {h["id"] for h in second["hits"]}.isdisjoint({h["id"] for h in data["hits"]})


def test_subject_filter_and_disjunctive_counts(client):
    all_data = client.get("/suche.json").get_json()
    counts = {e["value"]: e["count"] for e in all_data["facets"]["subjects"]}
    assert counts.get("informatik", 0) > 0 and counts.get("technik", 0) > 0
    data = client.get("/suche.json", query_string={"fach": "informatik"}).get_json()
    assert data["total"] == counts["informatik"]
    after = {e["value"]: e["count"] for e in data["facets"]["subjects"]}
    # disjunctive: choosing Informatik still shows how many Technik offers there are
    assert after["technik"] == counts["technik"]


def test_offer_page_links_every_platform(client):
    data = client.get("/suche.json", query_string={"q": "FIRST LEGO League"}).get_json()
    hit = next(h for h in data["hits"] if "FIRST LEGO League" in h["title"])
    resp = client.get(hit["url"])
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "https://www.komm-mach-mint.de/schuelerinnen/mint-karte/projekte/" in html
    offer = client.get(hit["url"] + ".json").get_json()
    assert offer["listings"] and all(item["source_id"] for item in offer["listings"])


def test_unknown_offer_is_404_in_german(client):
    resp = client.get("/angebot/does-not-exist")
    assert resp.status_code == 404
    assert "nicht gefunden" in resp.get_data(as_text=True)


def test_platforms_page_lists_sources_and_attribution(client):
    html = client.get("/plattformen").get_data(as_text=True)
    for title in ("Komm, mach MINT.", "Leipzig"):
        assert title in html
    assert "GeoNames" in html and "CC BY 4.0" in html
