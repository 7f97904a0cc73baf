"""The visitor pages: start, search (HTML and JSON), offer, platforms.

How the views fail: an unknown offer id is a 404 ("Angebot nicht gefunden"); a missing
search index (nothing crawled yet) shows an empty result with a hint, never an error;
hostile query text is only ever tokenized into words (see catalog.search), so it is
answered like any other query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, jsonify, render_template, request, url_for

from catalog.search import SearchQuery, SearchResult
from normalize.vocab import FORMAT_LABELS, SUBJECT_LABELS
from webapp import data

bp = Blueprint("site", __name__)

MAX_QUERY_CHARS = 500
PER_PAGE = 20

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


@dataclass
class ParsedArgs:
    query: SearchQuery
    params: dict[str, list[str]]


def _int_arg(name: str, default: int | None, lo: int, hi: int) -> int | None:
    raw = request.args.get(name, "")
    try:
        value = int(raw.strip())
    except ValueError:
        return default
    return max(lo, min(hi, value))


def _parse_args() -> ParsedArgs:
    q = request.args.get("q", "")[:MAX_QUERY_CHARS]
    params: dict[str, list[str]] = {"q": [q]} if q else {}
    lists: dict[str, list[str]] = {}
    for param, (attr, _facet) in LIST_PARAMS.items():
        values = [v[:100] for v in request.args.getlist(param) if v.strip()][:20]
        lists[attr] = values
        if values:
            params[param] = values
    free = request.args.get("kostenlos") == "1"
    girls = request.args.get("maedchen") == "1"
    age = _int_arg("alter", None, 0, 120)
    page = _int_arg("seite", 1, 1, 10_000) or 1
    if free:
        params["kostenlos"] = ["1"]
    if girls:
        params["maedchen"] = ["1"]
    if age is not None:
        params["alter"] = [str(age)]
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
        per_page=PER_PAGE,
    )
    return ParsedArgs(query, params)


def _label(facet: str, value: str, platform_titles: dict[str, str]) -> str:
    if facet == "subjects":
        return SUBJECT_LABELS.get(value, value)
    if facet == "formats":
        return FORMAT_LABELS.get(value, value)
    if facet == "platforms":
        return platform_titles.get(value, value)
    return value


def _page_url(params: dict[str, list[str]], **changes: Any) -> str:
    merged = {k: list(v) for k, v in params.items()}
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = [str(value)]
    return url_for("site.search") + "?" + urlencode(merged, doseq=True)


def _result_payload(parsed: ParsedArgs, result: SearchResult | None) -> dict[str, Any]:
    platform_titles = {p["source"].id: p["source"].title for p in data.platforms()}
    selected = {
        "subjects": set(parsed.query.subjects),
        "formats": set(parsed.query.formats),
        "bundesland": set(parsed.query.bundesland),
        "platforms": set(parsed.query.platforms),
    }
    hits = []
    facets: dict[str, list[dict[str, Any]]] = {}
    total = 0
    if result is not None:
        total = result.total
        for hit in result.hits:
            hits.append(
                {
                    "id": hit.cluster_id,
                    "title": hit.title,
                    "provider": hit.provider or None,
                    "city": hit.city or None,
                    "subjects": [
                        {"id": s, "label": SUBJECT_LABELS.get(s, s)} for s in hit.subjects
                    ],
                    "formats": [{"id": f, "label": FORMAT_LABELS.get(f, f)} for f in hit.formats],
                    "platforms": [
                        {"id": p, "title": platform_titles.get(p, p)} for p in hit.platforms
                    ],
                    "snippet": hit.snippet or None,
                    "url": url_for("site.offer", cluster_id=hit.cluster_id),
                }
            )
        for facet, counts in result.facets.items():
            entries = [
                {
                    "value": value,
                    "label": _label(facet, value, platform_titles),
                    "count": count,
                    "selected": value in selected.get(facet, set()),
                }
                for value, count in counts.items()
            ]
            entries.sort(key=lambda e: (-e["count"], e["label"]))
            facets[facet] = entries
    pages = max(1, -(-total // parsed.query.per_page))
    page = parsed.query.page
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
        },
        "total": total,
        "page": page,
        "pages": pages,
        "per_page": parsed.query.per_page,
        "next": _page_url(parsed.params, seite=page + 1) if page < pages else None,
        "prev": _page_url(parsed.params, seite=page - 1) if page > 1 else None,
        "hits": hits,
        "facets": facets,
        "index_ready": result is not None,
    }


@bp.route("/")
def index() -> str:
    """Start page with the search box."""
    return render_template("index.html", platforms=data.platforms())


@bp.route("/suche")
def search() -> str:
    """Search results as HTML; filters are query parameters (fach, format, land, …)."""
    parsed = _parse_args()
    payload = _result_payload(parsed, data.search(parsed.query))
    return render_template("search.html", r=payload, params=parsed.params)


@bp.route("/suche.json")
def search_json() -> Any:
    """The same results as JSON (documented shape: see README)."""
    parsed = _parse_args()
    payload = _result_payload(parsed, data.search(parsed.query))
    response = jsonify(payload)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _offer_payload(cluster_id: str) -> dict[str, Any]:
    found = data.cluster(cluster_id)
    if found is None:
        abort(404, "Angebot nicht gefunden.")
    row, members = found
    platform_titles = {p["source"].id: p["source"].title for p in data.platforms()}
    listings = []
    for member, seen in members:
        listings.append(
            {
                "source_id": member.source_id,
                "platform": platform_titles.get(member.source_id, member.source_id),
                "source_key": member.source_key,
                "url": member.url if _is_web_url(member.url) else None,
                "title": member.title,
                "last_seen": seen.isoformat() if seen else None,
            }
        )
    provenance = []
    for name, label in FIELD_LABELS.items():
        merged = (row.fields or {}).get(name)
        if not merged:
            continue
        provenance.append(
            {
                "field": name,
                "label": label,
                "value": merged.get("value"),
                "conflict": bool(merged.get("conflict")),
                "sources": merged.get("sources", {}),
            }
        )
    first = members[0][0]
    return {
        "id": row.id,
        "title": row.title,
        "provider": row.provider,
        "city": row.city,
        "plz": row.plz,
        "bundesland": row.bundesland,
        "lat": row.lat,
        "lon": row.lon,
        "subjects": [{"id": s, "label": SUBJECT_LABELS.get(s, s)} for s in row.subjects or []],
        "formats": [{"id": f, "label": FORMAT_LABELS.get(f, f)} for f in row.formats or []],
        "description": first.description,
        "audience": first.audience_text,
        "costs": first.costs_text,
        "listings": listings,
        "fields": provenance,
    }


def _is_web_url(value: str | None) -> bool:
    return bool(value) and str(value).startswith(("http://", "https://"))


@bp.route("/angebot/<cluster_id>")
def offer(cluster_id: str) -> str:
    """One catalogue entry with every platform listing it. 404 if the id is unknown."""
    return render_template("offer.html", o=_offer_payload(cluster_id))


@bp.route("/angebot/<cluster_id>.json")
def offer_json(cluster_id: str) -> Any:
    """The offer page as JSON. 404 if the id is unknown."""
    response = jsonify(_offer_payload(cluster_id))
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
