"""The visitor pages: start, search (HTML and JSON), offer, platforms.

How the views fail: an unknown offer id is a 404 ("Angebot nicht gefunden"); a missing
search index (nothing crawled yet) shows an empty result with a hint, never an error;
hostile query text is only ever tokenized into words (see catalog.search), so it is
answered like any other query.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, abort, jsonify, render_template, request, url_for
from markupsafe import Markup

from catalog.search import Hit, SearchQuery, SearchResult
from normalize.places import load_gazetteer
from normalize.vocab import FORMAT_LABELS, SUBJECT_LABELS
from webapp import data

bp = Blueprint("site", __name__)

MAX_QUERY_CHARS = 500
PER_PAGE = 20
#: formats described as a schema.org Course when the offer has no date
COURSE_FORMATS = {"workshop", "ag", "online", "mentoring"}
PLZ_RE = re.compile(r"\d{5}")
#: "51.34,12.37": the map's "search this area" button sends its centre this way
COORDS_RE = re.compile(r"(-?\d{1,2}(?:\.\d{1,6})?)\s*,\s*(-?\d{1,3}(?:\.\d{1,6})?)")

# URL parameter -> (SearchQuery attribute, facet name)
LIST_PARAMS = {
    "fach": ("subjects", "subjects"),
    "format": ("formats", "formats"),
    "land": ("bundesland", "bundesland"),
    "plattform": ("platforms", "platforms"),
}

FIELD_LABELS = {
    "title": "Titel",
    "provider": "Anbieter",
    "description": "Beschreibung",
    "url": "Link",
    "website": "Website",
    "street": "Straße",
    "plz": "PLZ",
    "city": "Ort",
    "district": "Ortsteil",
    "bundesland": "Bundesland",
    "landkreis": "Landkreis",
    "audience_text": "Zielgruppe",
    "costs_text": "Kosten",
    "dates_text": "Termine",
    "subjects": "Fächer",
    "formats": "Formate",
}


#: the radius used when a place is given without "umkreis"
DEFAULT_RADIUS_KM = 25
RADIUS_CHOICES = (5, 10, 25, 50, 100)
SORTS = {"relevanz": "relevance", "entfernung": "distance", "datum": "date"}
SORT_LABELS = {"relevanz": "Relevanz", "entfernung": "Entfernung", "datum": "nächster Termin"}


@dataclass
class ParsedArgs:
    """The visitor's request: the engine query, the canonical URL parameters, the messages
    about parameters that could not be used, and the resolved place."""

    query: SearchQuery
    params: dict[str, list[str]]
    errors: list[str] = field(default_factory=list)
    place: dict[str, Any] | None = None
    values: dict[str, Any] = field(default_factory=dict)


def _int_arg(name: str, default: int | None, lo: int, hi: int) -> int | None:
    raw = request.args.get(name, "")
    try:
        value = int(raw.strip())
    except ValueError:
        return default
    return max(lo, min(hi, value))


def _date_arg(name: str, label: str, errors: list[str]) -> date | None:
    raw = request.args.get(name, "").strip()[:40]
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(f"{label} „{raw}“ ist kein Datum (Format JJJJ-MM-TT); ignoriert.")
        return None


def resolve_place(text: str) -> dict[str, Any] | None:
    """A PLZ, a city name or "lat,lon" -> {"name", "lat", "lon"}; None if unknown."""
    gazetteer = load_gazetteer()
    text = text.strip()
    coords = COORDS_RE.fullmatch(text)
    if coords:
        lat, lon = float(coords.group(1)), float(coords.group(2))
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            return {"name": f"Kartenausschnitt ({lat:.3f}, {lon:.3f})", "lat": lat, "lon": lon}
        return None
    if PLZ_RE.fullmatch(text):
        info = gazetteer.lookup(text)
        if info is None:
            return None
        name = f"{info.plz} {info.places[0]}" if info.places else info.plz
        return {"name": name, "lat": info.lat, "lon": info.lon}
    match = gazetteer.geocode_city(text)
    if match is None:
        return None
    return {"name": match.name, "lat": match.lat, "lon": match.lon}


def decode_cursor(token: str) -> int | None:
    """The page number inside an opaque pagination token; None if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii") + b"=" * (-len(token) % 4))
        value = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeError):
        return None
    page = value.get("p") if isinstance(value, dict) else None
    return page if isinstance(page, int) and 1 <= page <= 10_000 else None


def encode_cursor(page: int) -> str:
    """The opaque pagination token for ``page`` (clients must not build these themselves)."""
    return base64.urlsafe_b64encode(json.dumps({"p": page}).encode()).decode().rstrip("=")


def _parse_args(per_page: int = PER_PAGE) -> ParsedArgs:
    errors: list[str] = []
    q = request.args.get("q", "")[:MAX_QUERY_CHARS]
    params: dict[str, list[str]] = {"q": [q]} if q else {}
    values: dict[str, Any] = {}
    lists: dict[str, list[str]] = {}
    for param, (attr, _facet) in LIST_PARAMS.items():
        picked = [v[:100] for v in request.args.getlist(param) if v.strip()][:20]
        lists[attr] = picked
        if picked:
            params[param] = picked
    free = request.args.get("kostenlos") == "1"
    girls = request.args.get("maedchen") == "1"
    age = _int_arg("alter", None, 0, 120)
    grade = _int_arg("klasse", None, 1, 13)
    page = _int_arg("seite", 1, 1, 10_000) or 1
    cursor = request.args.get("cursor", "").strip()[:200]
    if cursor:
        decoded = decode_cursor(cursor)
        if decoded is None:
            errors.append("Ungültiger Seitenverweis (cursor); erste Seite gezeigt.")
        else:
            page = decoded
    if free:
        params["kostenlos"] = ["1"]
    if girls:
        params["maedchen"] = ["1"]
    if age is not None:
        params["alter"] = [str(age)]
    if grade is not None:
        params["klasse"] = [str(grade)]
    extra: dict[str, Any] = {}
    if grade is not None:
        extra["grade"] = grade

    place = None
    ort = request.args.get("ort", "").strip()[:100]
    radius = _int_arg("umkreis", DEFAULT_RADIUS_KM, 1, 500) or DEFAULT_RADIUS_KM
    values["ort"] = ort
    values["umkreis"] = radius
    if ort:
        params["ort"] = [ort]
        params["umkreis"] = [str(radius)]
        place = resolve_place(ort)
        if place is None:
            errors.append(
                f"Ort „{ort}“ nicht gefunden. Bitte Schreibweise prüfen oder die PLZ angeben."
            )
        else:
            extra["near"] = (place["lat"], place["lon"])
            extra["radius_km"] = float(radius)

    date_from = _date_arg("von", "Von", errors)
    date_to = _date_arg("bis", "Bis", errors)
    if date_from and date_to and date_to < date_from:
        errors.append("„Bis“ liegt vor „Von“; die Daten wurden getauscht.")
        date_from, date_to = date_to, date_from
    for name, value in (("von", date_from), ("bis", date_to)):
        values[name] = value.isoformat() if value else ""
        if value:
            params[name] = [value.isoformat()]
    if date_from:
        extra["date_from"] = date_from
    if date_to:
        extra["date_to"] = date_to
    extra["today"] = data.today()

    sort_key = request.args.get("sortierung", "relevanz")
    if sort_key not in SORTS:
        sort_key = "relevanz"
    if sort_key == "entfernung" and place is None:
        if not ort:
            errors.append(
                "Nach Entfernung sortieren geht nur mit einem Ort; nach Relevanz sortiert."
            )
        sort_key = "relevanz"
    values["sortierung"] = sort_key
    if sort_key != "relevanz":
        params["sortierung"] = [sort_key]
    extra["sort"] = SORTS[sort_key]

    query = SearchQuery(
        q=q,
        subjects=lists["subjects"],
        formats=lists["formats"],
        bundesland=lists["bundesland"],
        platforms=lists["platforms"],
        free=True if free else None,
        girls=True if girls else None,
        age=age,
        page=page,
        per_page=per_page,
        **extra,
    )
    return ParsedArgs(query, params, errors, place, values)


def _label(facet: str, value: str, platform_titles: dict[str, str]) -> str:
    if facet == "subjects":
        return SUBJECT_LABELS.get(value, value)
    if facet == "formats":
        return FORMAT_LABELS.get(value, value)
    if facet == "platforms":
        return platform_titles.get(value, value)
    return value


def _page_url(params: dict[str, list[str]], endpoint: str = "site.search", **changes: Any) -> str:
    merged = {k: list(v) for k, v in params.items()}
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = [str(value)]
    query = urlencode(merged, doseq=True)
    return url_for(endpoint) + ("?" + query if query else "")


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, date) else None


def hit_payload(hit: Hit, platform_titles: dict[str, str]) -> dict[str, Any]:
    """One result as the JSON page shows it (also used by the exports)."""
    distance = hit.distance_km
    return {
        "id": hit.cluster_id,
        "title": hit.title,
        "provider": hit.provider or None,
        "city": hit.city or None,
        "plz": hit.plz or None,
        "bundesland": hit.bundesland or None,
        "lat": hit.lat,
        "lon": hit.lon,
        "distance_km": round(distance, 1) if isinstance(distance, (int, float)) else None,
        "start": _iso(hit.start),
        "end": _iso(hit.end),
        "age_min": hit.age_min,
        "age_max": hit.age_max,
        "grade_min": hit.grade_min,
        "grade_max": hit.grade_max,
        "free": hit.free,
        "girls": hit.girls,
        "subjects": [{"id": s, "label": SUBJECT_LABELS.get(s, s)} for s in hit.subjects],
        "formats": [{"id": f, "label": FORMAT_LABELS.get(f, f)} for f in hit.formats],
        "platforms": [{"id": p, "title": platform_titles.get(p, p)} for p in hit.platforms],
        "snippet": hit.snippet or None,
        "url": url_for("site.offer", cluster_id=hit.cluster_id),
    }


def platform_titles() -> dict[str, str]:
    return data.platform_titles()


def _result_payload(
    parsed: ParsedArgs, result: SearchResult | None, endpoint: str = "site.search"
) -> dict[str, Any]:
    titles = platform_titles()
    selected = {
        "subjects": set(parsed.query.subjects),
        "formats": set(parsed.query.formats),
        "bundesland": set(parsed.query.bundesland),
        "platforms": set(parsed.query.platforms),
    }
    hits = []
    facets: dict[str, list[dict[str, Any]]] = {}
    total = 0
    suggestion = None
    if result is not None:
        total = result.total
        suggestion = result.suggestion
        hits = [hit_payload(hit, titles) for hit in result.hits]
        for facet, counts in result.facets.items():
            entries = [
                {
                    "value": value,
                    "label": _label(facet, value, titles),
                    "count": count,
                    "selected": value in selected.get(facet, set()),
                }
                for value, count in counts.items()
            ]
            entries.sort(key=lambda e: (-e["count"], e["label"]))
            facets[facet] = entries
    pages = max(1, -(-total // parsed.query.per_page))
    page = parsed.query.page
    json_pages = endpoint == "site.search_json"
    params = {k: v for k, v in parsed.params.items() if k not in ("seite", "cursor")}

    def link(target: int) -> str:
        if json_pages:
            return _page_url(params, endpoint, cursor=encode_cursor(target))
        return _page_url(params, endpoint, seite=target)

    has_next = page < pages
    place = parsed.place
    return {
        "query": {
            "q": parsed.query.q,
            "fach": parsed.query.subjects,
            "format": parsed.query.formats,
            "land": parsed.query.bundesland,
            "plattform": parsed.query.platforms,
            "kostenlos": bool(parsed.query.free),
            "maedchen": bool(parsed.query.girls),
            "alter": parsed.query.age,
            "klasse": parsed.query.grade,
            "ort": parsed.values.get("ort") or None,
            "umkreis": parsed.values.get("umkreis") if parsed.values.get("ort") else None,
            "von": parsed.values.get("von") or None,
            "bis": parsed.values.get("bis") or None,
            "sortierung": parsed.values.get("sortierung", "relevanz"),
        },
        "place": place,
        "errors": parsed.errors,
        "suggestion": suggestion,
        "suggestion_url": _page_url(params, endpoint, q=suggestion) if suggestion else None,
        "total": total,
        "page": page,
        "pages": pages,
        "per_page": parsed.query.per_page,
        "next_cursor": encode_cursor(page + 1) if has_next else None,
        "next": link(page + 1) if has_next else None,
        "prev": link(page - 1) if page > 1 else None,
        "hits": hits,
        "facets": facets,
        "index_ready": result is not None,
    }


def _extra_counts(facets: dict[str, list[dict[str, Any]]], name: str) -> int | None:
    for entry in facets.get(name, []):
        if entry["value"] in ("true", "True", "1"):
            return int(entry["count"])
    return None


def tile_origin(tile_url: str) -> str:
    """The CSP source for a tile URL template ("{s}." subdomains become "*.")."""
    parts = urlsplit(tile_url)
    host = parts.netloc.replace("{s}.", "*.")
    return f"{parts.scheme}://{host}" if parts.scheme and host else ""


@bp.after_request
def _map_tiles_csp(response: Any) -> Any:
    """Allow the configured map tile host in img-src; the rest of the app's CSP is kept."""
    if response.mimetype == "text/html":
        origin = tile_origin(data.settings().tile_url)
        response.headers["Content-Security-Policy"] = (
            f"default-src 'self'; img-src 'self' data: {origin}; style-src 'self'; "
            "script-src 'self'"
        )
    return response


def quick_dates(params: dict[str, list[str]], today: date) -> list[dict[str, str]]:
    """Links for "ab heute", "diesen Monat", "nächsten Monat" that keep the other filters."""
    month_end = (today.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    next_start = month_end + timedelta(days=1)
    next_end = (next_start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    base = {k: v for k, v in params.items() if k not in ("von", "bis", "seite")}
    choices = [
        ("ab heute", today, None),
        ("diesen Monat", today, month_end),
        ("nächsten Monat", next_start, next_end),
    ]
    return [
        {
            "label": label,
            "url": _page_url(base, von=start.isoformat(), bis=end.isoformat() if end else None),
            "current": params.get("von") == [start.isoformat()]
            and params.get("bis", [None]) == [end.isoformat() if end else None],
        }
        for label, start, end in choices
    ]


@bp.route("/")
def index() -> str:
    """Start page with the search box."""
    return render_template("index.html", platforms=data.platforms())


@bp.route("/suche")
def search() -> str:
    """Search results as HTML; filters are query parameters (fach, format, land, …)."""
    parsed = _parse_args()
    payload = _result_payload(parsed, data.search(parsed.query))
    settings = data.settings()
    return render_template(
        "search.html",
        r=payload,
        params=parsed.params,
        radius_choices=RADIUS_CHOICES,
        sort_labels=SORT_LABELS,
        quick_dates=quick_dates(parsed.params, data.today()),
        free_count=_extra_counts(payload["facets"], "free"),
        girls_count=_extra_counts(payload["facets"], "girls"),
        tile_url=settings.tile_url,
        tile_attribution=settings.tile_attribution,
        csv_url=_page_url(parsed.params, "exports.search_csv", seite=None),
        ics_url=_page_url(parsed.params, "exports.search_ics", seite=None),
        json_url=_page_url(parsed.params, "site.search_json", seite=None),
    )


@bp.route("/suche.json")
def search_json() -> Any:
    """The same results as JSON (documented shape: see README and /openapi.json)."""
    parsed = _parse_args()
    payload = _result_payload(parsed, data.search(parsed.query), "site.search_json")
    response = jsonify(payload)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _offer_payload(cluster_id: str) -> dict[str, Any]:
    found = data.cluster(cluster_id)
    if found is None:
        abort(404, "Angebot nicht gefunden.")
    row, members = found
    titles = platform_titles()
    listings = []
    for member, seen in members:
        listings.append(
            {
                "source_id": member.source_id,
                "platform": titles.get(member.source_id, member.source_id),
                "source_key": member.source_key,
                # the offer's page at the platform; for linked-data sources the record's
                # own URI (its identity at the source) is the page that describes it
                "url": member.url
                if _is_web_url(member.url)
                else (member.source_key if _is_web_url(member.source_key) else None),
                "title": member.title,
                "last_seen": seen.isoformat() if seen else None,
            }
        )
    provenance = []
    for name, label in FIELD_LABELS.items():
        merged = (row.fields or {}).get(name)
        if not merged:
            continue
        given = [merged.get("value"), *(merged.get("sources") or {}).values()]
        if all(v in (None, "", []) for v in given):
            continue
        labels = {"subjects": SUBJECT_LABELS, "formats": FORMAT_LABELS}.get(name)
        provenance.append(
            {
                "field": name,
                "label": label,
                "value": merged.get("value"),
                "conflict": bool(merged.get("conflict")),
                "sources": merged.get("sources", {}),
                "display": _display(merged.get("value"), labels),
                "source_display": {
                    key: _display(value, labels)
                    for key, value in (merged.get("sources") or {}).items()
                },
            }
        )
    offers = [m for m, _seen in members]
    first = offers[0]

    def pick(attr: str) -> Any:
        merged = (row.fields or {}).get(attr)
        if merged and merged.get("value") not in (None, "", []):
            return merged.get("value")
        return next((getattr(m, attr) for m in offers if getattr(m, attr, None)), None)

    today = data.today()
    dated = sorted(
        ((m.start, m.end or m.start) for m in offers if m.start is not None), key=lambda d: d[0]
    )
    upcoming = [d for d in dated if d[1] >= today]
    start, end = (upcoming or dated or [(None, None)])[0]
    ages = [m for m in offers if m.age_min is not None or m.age_max is not None]
    grades = [m for m in offers if m.grade_min is not None or m.grade_max is not None]
    seen_all = [s for _m, s in members if s is not None]
    last_seen = max(seen_all) if seen_all else row.last_seen
    return {
        "id": row.id,
        "title": row.title,
        "provider": row.provider,
        "website": pick("website"),
        "street": pick("street"),
        "city": row.city,
        "district": pick("district"),
        "plz": row.plz,
        "bundesland": row.bundesland,
        "landkreis": pick("landkreis"),
        "lat": row.lat,
        "lon": row.lon,
        "subjects": [{"id": s, "label": SUBJECT_LABELS.get(s, s)} for s in row.subjects or []],
        "formats": [{"id": f, "label": FORMAT_LABELS.get(f, f)} for f in row.formats or []],
        "description": pick("description") or first.description,
        "audience": pick("audience_text"),
        "age_min": ages[0].age_min if ages else None,
        "age_max": ages[0].age_max if ages else None,
        "grade_min": grades[0].grade_min if grades else None,
        "grade_max": grades[0].grade_max if grades else None,
        "girls": any(m.girls for m in offers),
        "costs": pick("costs_text"),
        "free": any(m.cost_kind == "free" for m in offers),
        "dates": pick("dates_text"),
        "start": _iso(start),
        "end": _iso(end),
        "first_seen": row.first_seen.isoformat() if row.first_seen else None,
        "last_seen": last_seen.isoformat() if last_seen else None,
        "listings": listings,
        "fields": provenance,
    }


def json_ld(offer: dict[str, Any]) -> dict[str, Any]:
    """schema.org description of an offer: an Event when it has a date, a Course when it is
    a regular course-like format without date, otherwise a Place (a lab, a club)."""
    address = {
        "@type": "PostalAddress",
        "streetAddress": offer.get("street"),
        "postalCode": offer.get("plz"),
        "addressLocality": offer.get("city"),
        "addressRegion": offer.get("bundesland"),
        "addressCountry": "DE",
    }
    address = {k: v for k, v in address.items() if v}
    place: dict[str, Any] = {"@type": "Place", "name": offer.get("provider") or offer["title"]}
    if len(address) > 2:
        place["address"] = address
    if offer.get("lat") is not None and offer.get("lon") is not None:
        place["geo"] = {
            "@type": "GeoCoordinates",
            "latitude": offer["lat"],
            "longitude": offer["lon"],
        }
    url = url_for("site.offer", cluster_id=offer["id"], _external=True)
    sources = [listing["url"] for listing in offer["listings"] if listing["url"]]
    base: dict[str, Any] = {
        "@context": "https://schema.org",
        "name": offer["title"],
        "url": url,
        "description": (offer.get("description") or "")[:1000] or None,
        "sameAs": sources or None,
        "about": [s["label"] for s in offer["subjects"]] or None,
    }
    organizer = (
        {"@type": "Organization", "name": offer["provider"]} if offer.get("provider") else None
    )
    if offer.get("website") and organizer:
        organizer["url"] = offer["website"]
    if offer.get("start"):
        base.update(
            {
                "@type": "Event",
                "startDate": offer["start"],
                "endDate": offer.get("end") or offer["start"],
                "location": place,
                "organizer": organizer,
                "eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode",
            }
        )
        if offer.get("free"):
            base["isAccessibleForFree"] = True
    elif {f["id"] for f in offer["formats"]} & COURSE_FORMATS:
        base.update({"@type": "Course", "provider": organizer, "location": place})
        if offer.get("free"):
            base["isAccessibleForFree"] = True
    else:
        base.update({k: v for k, v in place.items() if k != "name"})
        base["@type"] = "Place"
    return {k: v for k, v in base.items() if v is not None}


def script_json(value: Any) -> Markup:
    """JSON safe inside <script>: "<", ">" and "&" escaped as \\u003c etc., so "</script>"
    cannot close the element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)


def _display(value: Any, labels: dict[str, str] | None = None) -> str:
    """A provenance value as text: vocabulary ids as labels, lists joined, "–" for none."""
    if value is None or value == "" or value == []:
        return "–"
    if isinstance(value, list):
        return ", ".join(labels.get(str(v), str(v)) if labels else str(v) for v in value)
    text = str(value)
    return text[:200] + ("…" if len(text) > 200 else "")


def _is_web_url(value: str | None) -> bool:
    return bool(value) and str(value).startswith(("http://", "https://"))


@bp.route("/angebot/<cluster_id>")
def offer(cluster_id: str) -> str:
    """One catalogue entry with every platform listing it. 404 if the id is unknown."""
    o = _offer_payload(cluster_id)
    return render_template(
        "offer.html", o=o, ld=script_json(json_ld(o)), platform_titles=platform_titles()
    )


@bp.route("/angebot/<cluster_id>.json")
def offer_json(cluster_id: str) -> Any:
    """The offer page as JSON. 404 if the id is unknown."""
    response = jsonify(_offer_payload(cluster_id))
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.app_template_filter("de_date")
def de_date(value: str | date | None) -> str:
    """ "2026-12-03" -> "03.12.2026" (German date as visitors read it)."""
    if not value:
        return ""
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return day.strftime("%d.%m.%Y")
