"""Search page filters, exports and machine-facing documents (issue 5, site half)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import pytest
from icalendar import Calendar

from webapp.app import create_app
from webapp.blueprints.exports import calendar, safe_cell
from webapp.config import DEFAULT_TILE_URL, Settings
from webapp.views import decode_cursor, encode_cursor, script_json, tile_origin

REPO = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 26)


@pytest.fixture
def site(demo_settings):
    app = create_app({"TESTING": True, "SETTINGS": demo_settings, "TODAY": TODAY})
    return app.test_client()


def get_json(site, **params):
    resp = site.get("/suche.json", query_string=params)
    assert resp.status_code == 200
    return resp.get_json()


# --- place and radius ---------------------------------------------------------------------


def test_plz_with_radius_keeps_only_near_offers(site):
    everything = get_json(site)
    data = get_json(site, ort="04109", umkreis="10")
    assert data["errors"] == []
    assert data["place"]["name"].startswith("04109")
    assert 0 < data["total"] < everything["total"]
    assert data["hits"] and all(h["distance_km"] is not None for h in data["hits"])
    assert all(h["distance_km"] <= 10.0 for h in data["hits"])
    assert data["query"]["ort"] == "04109" and data["query"]["umkreis"] == 10


def test_city_name_resolves_and_distance_sort_is_ascending(site):
    data = get_json(site, ort="Leipzig", umkreis="50", sortierung="entfernung")
    assert data["place"]["name"] == "Leipzig"
    distances = [h["distance_km"] for h in data["hits"]]
    assert distances == sorted(distances)
    assert data["query"]["sortierung"] == "entfernung"


def test_unknown_place_gives_german_message_and_keeps_results(site):
    data = get_json(site, ort="Atlantis")
    assert (
        "Ort „Atlantis“ nicht gefunden. Bitte Schreibweise prüfen oder die PLZ angeben."
        in data["errors"]
    )
    assert data["place"] is None
    assert data["total"] == get_json(site)["total"]
    html = site.get("/suche", query_string={"ort": "Atlantis"}).get_data(as_text=True)
    assert 'role="alert"' in html and "Ort „Atlantis“ nicht gefunden" in html
    unknown_plz = get_json(site, ort="00000")
    assert any("„00000“ nicht gefunden" in e for e in unknown_plz["errors"])


def test_map_area_coordinates_as_place(site):
    data = get_json(site, ort="51.3397,12.3731", umkreis="5")
    assert data["errors"] == [] and data["place"]["name"].startswith("Kartenausschnitt")
    assert data["hits"] and all(h["distance_km"] <= 5 for h in data["hits"])
    assert get_json(site, ort="95.0,12.0")["place"] is None


def test_distance_sort_without_place_falls_back_to_relevance(site):
    data = get_json(site, q="Roboter", sortierung="entfernung")
    assert data["query"]["sortierung"] == "relevanz"
    assert any("Entfernung" in e for e in data["errors"])
    bogus = get_json(site, q="Roboter", sortierung="<x>")
    assert bogus["query"]["sortierung"] == "relevanz"


# --- grade, dates ---------------------------------------------------------------------------


def test_grade_filter_keeps_matching_ranges(site):
    everything = get_json(site)
    data = get_json(site, klasse="7")
    assert data["query"]["klasse"] == 7
    assert 0 < data["total"] < everything["total"]
    for hit in data["hits"]:
        if hit["grade_min"] is not None and hit["grade_max"] is not None:
            assert hit["grade_min"] <= 7 <= hit["grade_max"], hit
    # a grade out of range is clamped, not an error
    assert get_json(site, klasse="99")["query"]["klasse"] == 13


def test_bad_and_swapped_dates_are_reported(site):
    data = get_json(site, von="morgen")
    assert any("„morgen“ ist kein Datum" in e for e in data["errors"])
    assert data["query"]["von"] is None
    swapped = get_json(site, von="2026-12-31", bis="2026-12-01")
    assert swapped["query"]["von"] == "2026-12-01" and swapped["query"]["bis"] == "2026-12-31"
    assert any("getauscht" in e for e in swapped["errors"])


def _clusters_where(settings, condition):
    from sqlmodel import func, select

    from catalog.db import get_engine, session_scope
    from catalog.schema import OfferRow

    with session_scope(get_engine(settings.database_url)) as session:
        query = select(func.count(func.distinct(OfferRow.cluster_id))).where(condition(OfferRow))
        return session.exec(query).one()


def test_quick_date_links_keep_filters():
    from webapp.views import quick_dates

    app = create_app({"TESTING": True, "SETTINGS": Settings.from_env({}, var_dir="/nonexistent")})
    with app.test_request_context("/suche"):
        links = quick_dates({"q": ["Robotik"], "von": ["2026-11-26"], "seite": ["3"]}, TODAY)
    assert [d["label"] for d in links] == ["ab heute", "diesen Monat", "nächsten Monat"]
    assert links[0]["url"] == "/suche?q=Robotik&von=2026-11-26" and links[0]["current"]
    assert links[1]["url"].endswith("von=2026-11-26&bis=2026-11-30")
    assert links[2]["url"].endswith("von=2026-12-01&bis=2026-12-31")
    assert not links[1]["current"]


def test_free_and_girls_filters_narrow(site, demo_settings):
    everything = get_json(site)["total"]
    free = get_json(site, kostenlos="1")
    girls = get_json(site, maedchen="1")
    assert 0 < free["total"] < everything and all(h["free"] for h in free["hits"])
    # the demo snapshots happen to have no girls-only offer; the count must agree with the DB
    assert girls["total"] == _clusters_where(demo_settings, lambda o: o.girls)
    assert all(h["girls"] for h in girls["hits"])


# --- pagination tokens ----------------------------------------------------------------------


def test_cursor_pages_match_numbered_pages(site):
    first = get_json(site)
    assert first["next_cursor"] and "cursor=" in first["next"]
    second = site.get(first["next"]).get_json()
    numbered = get_json(site, seite="2")
    assert second["page"] == 2
    assert [h["id"] for h in second["hits"]] == [h["id"] for h in numbered["hits"]]
    assert decode_cursor(encode_cursor(7)) == 7


@pytest.mark.parametrize("token", ["", "!!!", "eyJ4IjogMX0", encode_cursor(0), "a" * 300])
def test_bad_cursor_is_page_one_with_message(site, token):
    data = get_json(site, cursor=token)
    assert data["page"] == 1
    if token:
        assert any("cursor" in e for e in data["errors"])


# --- the HTML form --------------------------------------------------------------------------


def test_every_filter_control_has_a_label(site):
    html = site.get("/suche", query_string={"q": "Physik", "ort": "Leipzig"}).get_data(as_text=True)
    for name in ("ort", "umkreis", "alter", "klasse", "von", "bis", "sortierung", "q"):
        assert f'id="{name}"' in html, name
        assert f'<label for="{name}"' in html, name
    for name in ("kostenlos", "maedchen"):
        assert re.search(rf'<label><input type="checkbox" name="{name}"', html), name
    assert "Gefunden: Leipzig" in html
    assert "im Umkreis von 25 km um Leipzig" in html


def test_filters_survive_in_pagination_and_sort_links(site):
    html = site.get(
        "/suche", query_string={"fach": "informatik", "ort": "Berlin", "umkreis": "50"}
    ).get_data(as_text=True)
    assert '<input type="hidden" name="fach" value="informatik">' in html
    assert '<input type="hidden" name="ort" value="Berlin">' in html
    assert 'href="/suche.csv?fach=informatik&amp;ort=Berlin&amp;umkreis=50"' in html


# --- map markup and CSP ---------------------------------------------------------------------


def test_map_is_progressive_enhancement(site):
    resp = site.get("/suche", query_string={"ort": "Leipzig"})
    html = resp.get_data(as_text=True)
    assert '<aside class="mapcol" id="kartenbereich" hidden' in html
    assert '<div id="karte" class="map"' in html
    assert f'data-tiles="{DEFAULT_TILE_URL}"' in html
    assert html.count("data-lat=") >= 1
    # no inline script: every <script> has a src or is JSON data
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or "application/ld+json" in tag, tag
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "https://tile.openstreetmap.org" in csp
    assert "'unsafe-inline'" not in csp


def test_tile_url_is_configurable():
    settings = Settings.from_env(
        {"MINTSUCHE_TILE_URL": "https://{s}.tiles.example/{z}/{x}/{y}.png"}
    )
    assert settings.tile_url.startswith("https://{s}.tiles.example")
    assert tile_origin(settings.tile_url) == "https://*.tiles.example"
    assert Settings.from_env({}).tile_url == DEFAULT_TILE_URL


def test_leaflet_is_shipped_with_its_licence(site):
    vendor = REPO / "webapp" / "static" / "vendor" / "leaflet"
    for name in ("leaflet.js", "leaflet.css", "LICENSE", "images/marker-icon.png"):
        assert (vendor / name).is_file(), name
    assert (
        "BSD" in (vendor / "LICENSE").read_text()
        or "Redistribution" in (vendor / "LICENSE").read_text()
    )
    for path in ("/static/vendor/leaflet/leaflet.js", "/static/map.js"):
        resp = site.get(path)
        assert resp.status_code == 200 and resp.data
        resp.close()


# --- offer page -----------------------------------------------------------------------------


def _offer_url(site, q="FIRST LEGO League"):
    return get_json(site, q=q)["hits"][0]["url"]


def test_offer_page_has_json_ld_and_last_seen(site):
    html = site.get(_offer_url(site)).get_data(as_text=True)
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert match
    ld = json.loads(match.group(1))
    assert ld["@context"] == "https://schema.org"
    assert ld["@type"] in ("Event", "Course", "Place")
    assert "FIRST LEGO League" in ld["name"]
    assert ld["url"].startswith("http://localhost/angebot/")
    assert "Zuletzt gesehen" in html


def test_offer_page_shows_disagreeing_platforms(site, demo_settings):
    from sqlmodel import select

    from catalog.db import get_engine, session_scope
    from catalog.schema import ClusterRow

    with session_scope(get_engine(demo_settings.database_url)) as session:
        rows = session.exec(select(ClusterRow).where(ClusterRow.member_count > 1)).all()
        conflicted = [
            (row.id, name)
            for row in rows
            for name, merged in (row.fields or {}).items()
            if isinstance(merged, dict) and merged.get("conflict")
        ]
    assert conflicted, "the demo catalogue has merged entries whose platforms disagree"
    cluster_id, field_name = conflicted[0]
    offer = site.get(f"/angebot/{cluster_id}.json").get_json()
    entry = next(f for f in offer["fields"] if f["field"] == field_name)
    assert entry["conflict"] and len(entry["sources"]) >= 2
    html = site.get(f"/angebot/{cluster_id}").get_data(as_text=True)
    assert '<tr class="conflict">' in html and "(Angaben weichen ab)" in html
    assert "None" not in html.split("Herkunft der Angaben", 1)[1]


def test_script_json_cannot_close_the_script_element():
    text = str(script_json({"name": "</script><script>alert(1)</script>", "x": "a&b\u2028"}))
    assert "</" not in text and "<" not in text and "\u2028" not in text
    assert json.loads(text)["name"] == "</script><script>alert(1)</script>"


def test_offer_json_ld_types():
    from webapp.views import json_ld

    app = create_app({"TESTING": True, "SETTINGS": Settings.from_env({}, var_dir="/nonexistent")})
    base = {
        "id": "c1",
        "title": "Roboter-Camp",
        "provider": "TU",
        "website": None,
        "street": None,
        "plz": "04109",
        "city": "Leipzig",
        "bundesland": "Sachsen",
        "lat": 51.3,
        "lon": 12.4,
        "subjects": [],
        "formats": [{"id": "workshop", "label": "Workshop/Kurs"}],
        "description": "",
        "listings": [{"url": "https://example.org/x"}],
        "free": True,
        "start": None,
        "end": None,
    }
    with app.test_request_context("/"):
        assert json_ld(base)["@type"] == "Course"
        event = json_ld({**base, "start": "2026-12-03", "end": "2026-12-05"})
        assert event["@type"] == "Event" and event["endDate"] == "2026-12-05"
        assert event["location"]["geo"]["latitude"] == 51.3
        place = json_ld({**base, "formats": [{"id": "schuelerlabor", "label": "x"}]})
        assert place["@type"] == "Place" and place["sameAs"] == ["https://example.org/x"]


# --- exports --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("+49 341", "'+49 341"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("Roboter", "Roboter"),
        (None, ""),
    ],
)
def test_csv_cells_are_formula_safe(raw, safe):
    assert safe_cell(raw) == safe


def test_csv_export_has_every_result_with_german_headers(site):
    data = get_json(site, q="Physik")
    resp = site.get("/suche.csv", query_string={"q": "Physik"})
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in resp.headers["Content-Disposition"]
    assert resp.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Titel", "Anbieter", "PLZ"] and "Fächer" in rows[0]
    assert len(rows) - 1 == data["total"]
    assert data["total"] > data["per_page"]  # more than one page is exported
    assert all(row[-1].startswith("http://localhost/angebot/") for row in rows[1:])


def test_ics_export_is_a_valid_calendar(site):
    resp = site.get("/suche.ics", query_string={"q": "Physik"})
    assert resp.status_code == 200 and resp.mimetype == "text/calendar"
    cal = Calendar.from_ical(resp.data)
    assert str(cal["prodid"]).startswith("-//MINT-Suche")
    total = get_json(site, q="Physik")["total"]
    assert len(cal.walk("VEVENT")) <= total


def test_ics_has_one_all_day_event_per_dated_offer(site):
    hit = {
        "id": "c1",
        "title": "Ferienkurs Robotik",
        "plz": "04109",
        "city": "Leipzig",
        "provider": "Uni Leipzig",
    }
    hits = [
        {**hit, "start": "2026-12-03", "end": "2026-12-05"},
        {**hit, "id": "c2", "start": None, "end": None},
        {**hit, "id": "c3", "start": "2027-01-10", "end": None},
    ]
    app = site.application
    with app.test_request_context("/"):
        cal = Calendar.from_ical(calendar(hits, TODAY))
    events = cal.walk("VEVENT")
    assert [str(e["uid"]) for e in events] == ["c1-2026-12-03@mintsuche", "c3-2027-01-10@mintsuche"]
    assert events[0].decoded("dtstart") == date(2026, 12, 3)
    assert events[0].decoded("dtend") == date(2026, 12, 6)  # exclusive end
    assert events[1].decoded("dtend") == date(2027, 1, 11)
    assert str(events[0]["location"]) == "04109 Leipzig"
    assert str(events[0]["url"]) == "http://localhost/angebot/c1"


# --- opensearch, sitemap, openapi -----------------------------------------------------------


def test_opensearch_description_and_link(site):
    resp = site.get("/opensearch.xml")
    assert resp.mimetype == "application/opensearchdescription+xml"
    root = ElementTree.fromstring(resp.data)
    ns = {"os": "http://a9.com/-/spec/opensearch/1.1/"}
    templates = [u.get("template") for u in root.findall("os:Url", ns)]
    assert "http://localhost/suche?q={searchTerms}" in templates
    html = site.get("/").get_data(as_text=True)
    assert 'rel="search" type="application/opensearchdescription+xml"' in html


def test_sitemap_lists_every_offer(site, demo_settings):
    from sqlmodel import func, select

    from catalog.db import get_engine, session_scope
    from catalog.schema import ClusterRow

    with session_scope(get_engine(demo_settings.database_url)) as session:
        clusters = session.exec(select(func.count()).select_from(ClusterRow)).one()
    root = ElementTree.fromstring(site.get("/sitemap.xml").data)
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = [loc.text for loc in root.findall("s:url/s:loc", ns)]
    assert len(locs) == clusters + 3
    assert sum(1 for loc in locs if "/angebot/" in loc) == clusters
    offer = next(loc for loc in locs if "/angebot/" in loc)
    assert site.get(offer.replace("http://localhost", "")).status_code == 200


def _validator(doc, name):
    schema = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    return jsonschema.Draft202012Validator(schema)


def test_json_pages_match_the_openapi_document(site):
    resp = site.get("/openapi.json")
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    doc = resp.get_json()
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]) == {"/suche.json", "/angebot/{id}.json"}
    documented = {p["name"] for p in doc["paths"]["/suche.json"]["get"]["parameters"]}
    assert {"q", "fach", "ort", "umkreis", "klasse", "von", "bis", "sortierung", "cursor"} <= (
        documented
    )
    search = _validator(doc, "SearchResult")
    for params in ({"q": "Roboter"}, {"ort": "Leipzig", "sortierung": "entfernung"}, {}):
        search.validate(get_json(site, **params))
    offer = site.get(_offer_url(site) + ".json").get_json()
    _validator(doc, "Offer").validate(offer)
    with pytest.raises(jsonschema.ValidationError):
        _validator(doc, "Offer").validate({**offer, "listings": "none"})


def test_pages_without_a_catalogue_are_friendly(tmp_path):
    settings = Settings(
        sources_file=REPO / "sources.yaml",
        var_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'empty.db'}",
        overrides_file=REPO / "dedupe_overrides.yaml",
        secret_key="test",
    )
    client = create_app({"TESTING": True, "SETTINGS": settings, "TODAY": TODAY}).test_client()
    html = client.get("/suche", query_string={"q": "Roboter", "ort": "Leipzig"}).get_data(
        as_text=True
    )
    assert "Der Katalog ist noch leer" in html
    assert client.get("/suche.json").get_json()["index_ready"] is False
    rows = client.get("/suche.csv").data.decode("utf-8-sig").splitlines()
    assert rows[0].startswith("Titel;") and len(rows) == 1
    assert Calendar.from_ical(client.get("/suche.ics").data).walk("VEVENT") == []
    assert client.get("/sitemap.xml").status_code == 200
