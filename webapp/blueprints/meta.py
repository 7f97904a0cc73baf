"""Machine-facing documents: ``/opensearch.xml``, ``/sitemap.xml``, ``/openapi.json``.

The OpenAPI document describes the stable JSON interface (``/suche.json`` and
``/angebot/<id>.json``); a test checks that the JSON pages match it.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from flask import Blueprint, Response, jsonify, request, url_for

from webapp import data

bp = Blueprint("meta", __name__)

#: the sitemap protocol allows 50,000 URLs per file
SITEMAP_LIMIT = 50_000


@bp.route("/opensearch.xml")
def opensearch() -> Response:
    """OpenSearch description: lets browsers add MINT-Suche as a search engine."""
    root = request.url_root.rstrip("/")
    html = escape(root + url_for("site.search") + "?q={searchTerms}")
    json_url = escape(root + url_for("site.search_json") + "?q={searchTerms}")
    body = f"""<?xml version="1.0" encoding="UTF-8"?>
<OpenSearchDescription xmlns="http://a9.com/-/spec/opensearch/1.1/">
  <ShortName>MINT-Suche</ShortName>
  <Description>MINT-Angebote für Kinder und Jugendliche in Deutschland</Description>
  <InputEncoding>UTF-8</InputEncoding>
  <Language>de-de</Language>
  <Url type="text/html" method="get" template="{html}"/>
  <Url type="application/json" method="get" template="{json_url}"/>
  <Url type="application/opensearchdescription+xml" rel="self" template="{escape(request.url)}"/>
</OpenSearchDescription>
"""
    return Response(body, mimetype="application/opensearchdescription+xml")


@bp.route("/sitemap.xml")
def sitemap() -> Response:
    """Start page, search page, platforms page and every offer page (up to 50,000 URLs)."""
    root = request.url_root.rstrip("/")
    urls: list[tuple[str, str | None]] = [
        (root + url_for("site.index"), None),
        (root + url_for("site.search"), None),
        (root + url_for("platforms.platforms"), None),
    ]
    for cluster_id, seen in data.cluster_ids(SITEMAP_LIMIT - len(urls)):
        urls.append(
            (
                root + url_for("site.offer", cluster_id=cluster_id),
                seen.date().isoformat() if seen else None,
            )
        )
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
    ]
    for loc, lastmod in urls:
        mod = f"<lastmod>{lastmod}</lastmod>" if lastmod else ""
        lines.append(f"  <url><loc>{escape(loc)}</loc>{mod}</url>")
    lines.append("</urlset>")
    return Response("\n".join(lines) + "\n", mimetype="application/xml")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}
_NINT = {"type": ["integer", "null"]}
_NNUM = {"type": ["number", "null"]}
_NDATE = {"type": ["string", "null"], "format": "date"}
_LABELLED = {
    "type": "object",
    "required": ["id", "label"],
    "properties": {"id": _STR, "label": _STR},
}


def _param(
    name: str, description: str, schema: dict[str, Any], many: bool = False
) -> dict[str, Any]:
    if many:
        schema = {"type": "array", "items": schema}
    param: dict[str, Any] = {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }
    if many:
        param.update({"style": "form", "explode": True})
    return param


SEARCH_PARAMS = [
    _param("q", "Suchtext (höchstens 500 Zeichen)", _STR),
    _param("fach", "Fach-ID, z. B. informatik (wiederholbar, ODER)", _STR, many=True),
    _param("format", "Format-ID, z. B. schuelerlabor (wiederholbar)", _STR, many=True),
    _param("land", "Bundesland (wiederholbar)", _STR, many=True),
    _param("plattform", "Quell-Plattform (wiederholbar)", _STR, many=True),
    _param("kostenlos", "1 = nur kostenlose Angebote", {"type": "string", "enum": ["1"]}),
    _param("maedchen", "1 = nur Angebote für Mädchen", {"type": "string", "enum": ["1"]}),
    _param("alter", "Alter des Kindes in Jahren", {"type": "integer", "minimum": 0}),
    _param("klasse", "Klassenstufe 1–13", {"type": "integer", "minimum": 1, "maximum": 13}),
    _param("ort", "PLZ oder Ortsname; unbekannt -> Meldung in errors", _STR),
    _param("umkreis", "Umkreis in km um ort (Standard 25)", {"type": "integer", "minimum": 1}),
    _param("von", "frühestes Datum (JJJJ-MM-TT)", {"type": "string", "format": "date"}),
    _param("bis", "spätestes Datum (JJJJ-MM-TT)", {"type": "string", "format": "date"}),
    _param(
        "sortierung",
        "Sortierung; entfernung braucht ort",
        {"type": "string", "enum": ["relevanz", "entfernung", "datum"]},
    ),
    _param(
        "cursor",
        "Opaker Seiten-Token aus next_cursor bzw. next; nicht selbst bauen",
        _STR,
    ),
]


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description of the JSON interface."""
    hit = {
        "type": "object",
        "required": ["id", "title", "url", "subjects", "formats", "platforms"],
        "properties": {
            "id": _STR,
            "title": _STR,
            "provider": _NSTR,
            "city": _NSTR,
            "plz": _NSTR,
            "bundesland": _NSTR,
            "lat": _NNUM,
            "lon": _NNUM,
            "distance_km": _NNUM,
            "start": _NDATE,
            "end": _NDATE,
            "age_min": _NINT,
            "age_max": _NINT,
            "grade_min": _NINT,
            "grade_max": _NINT,
            "free": {"type": "boolean"},
            "girls": {"type": "boolean"},
            "subjects": {"type": "array", "items": _ref("Labelled")},
            "formats": {"type": "array", "items": _ref("Labelled")},
            "platforms": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "title"],
                    "properties": {"id": _STR, "title": _STR},
                },
            },
            "snippet": {"type": ["string", "null"], "description": "HTML: Treffer in <b>"},
            "url": {"type": "string", "description": "Pfad der Angebotsseite"},
        },
    }
    facet_entry = {
        "type": "object",
        "required": ["value", "label", "count", "selected"],
        "properties": {
            "value": _STR,
            "label": _STR,
            "count": {"type": "integer"},
            "selected": {"type": "boolean"},
        },
    }
    result = {
        "type": "object",
        "required": ["query", "total", "page", "pages", "per_page", "hits", "facets", "errors"],
        "properties": {
            "query": {"type": "object", "description": "die verstandenen Parameter"},
            "place": {
                "type": ["object", "null"],
                "properties": {"name": _STR, "lat": {"type": "number"}, "lon": {"type": "number"}},
            },
            "errors": {"type": "array", "items": _STR, "description": "nicht nutzbare Parameter"},
            "suggestion": _NSTR,
            "suggestion_url": _NSTR,
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "pages": {"type": "integer"},
            "per_page": {"type": "integer"},
            "next_cursor": _NSTR,
            "next": {"type": ["string", "null"], "description": "URL der nächsten Seite"},
            "prev": _NSTR,
            "index_ready": {"type": "boolean"},
            "hits": {"type": "array", "items": _ref("Hit")},
            "facets": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": _ref("FacetEntry")},
            },
        },
    }
    listing = {
        "type": "object",
        "required": ["source_id", "platform", "source_key", "url", "title", "last_seen"],
        "properties": {
            "source_id": _STR,
            "platform": _STR,
            "source_key": _STR,
            "url": _NSTR,
            "title": _STR,
            "last_seen": {"type": ["string", "null"], "format": "date-time"},
        },
    }
    field = {
        "type": "object",
        "required": ["field", "label", "value", "conflict", "sources"],
        "properties": {
            "field": _STR,
            "label": _STR,
            "value": {},
            "conflict": {"type": "boolean"},
            "sources": {"type": "object", "description": "Quelle:Schlüssel -> Wert"},
            "display": {"type": "string", "description": "value as shown (labels, '–')"},
            "source_display": {"type": "object", "additionalProperties": _STR},
        },
    }
    offer = {
        "type": "object",
        "required": ["id", "title", "listings", "fields", "subjects", "formats"],
        "properties": {
            "id": _STR,
            "title": _STR,
            "provider": _NSTR,
            "website": _NSTR,
            "street": _NSTR,
            "city": _NSTR,
            "district": _NSTR,
            "plz": _NSTR,
            "bundesland": _NSTR,
            "landkreis": _NSTR,
            "lat": _NNUM,
            "lon": _NNUM,
            "subjects": {"type": "array", "items": _ref("Labelled")},
            "formats": {"type": "array", "items": _ref("Labelled")},
            "description": _NSTR,
            "audience": _NSTR,
            "age_min": _NINT,
            "age_max": _NINT,
            "grade_min": _NINT,
            "grade_max": _NINT,
            "girls": {"type": "boolean"},
            "costs": _NSTR,
            "free": {"type": "boolean"},
            "dates": _NSTR,
            "start": _NDATE,
            "end": _NDATE,
            "first_seen": {"type": ["string", "null"], "format": "date-time"},
            "last_seen": {"type": ["string", "null"], "format": "date-time"},
            "listings": {"type": "array", "items": _ref("Listing")},
            "fields": {"type": "array", "items": _ref("Field")},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "MINT-Suche",
            "version": "1",
            "description": "MINT-Angebote für Kinder und Jugendliche in Deutschland, "
            "gesammelt von vielen Plattformen. Alle JSON-Antworten erlauben CORS.",
        },
        "servers": [{"url": request.url_root.rstrip("/")}],
        "paths": {
            "/suche.json": {
                "get": {
                    "summary": "Angebote suchen",
                    "operationId": "search",
                    "parameters": SEARCH_PARAMS,
                    "responses": {
                        "200": {
                            "description": "Eine Seite Treffer mit Facetten-Zahlen",
                            "content": {"application/json": {"schema": _ref("SearchResult")}},
                        }
                    },
                }
            },
            "/angebot/{id}.json": {
                "get": {
                    "summary": "Ein Angebot mit allen Plattformen und der Herkunft jeder Angabe",
                    "operationId": "offer",
                    "parameters": [{"name": "id", "in": "path", "required": True, "schema": _STR}],
                    "responses": {
                        "200": {
                            "description": "Das Angebot",
                            "content": {"application/json": {"schema": _ref("Offer")}},
                        },
                        "404": {"description": "Angebot nicht gefunden"},
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "SearchResult": result,
                "Hit": hit,
                "FacetEntry": facet_entry,
                "Labelled": _LABELLED,
                "Offer": offer,
                "Listing": listing,
                "Field": field,
            }
        },
    }


@bp.route("/openapi.json")
def openapi() -> Any:
    """OpenAPI 3.1 document of /suche.json and /angebot/<id>.json."""
    response = jsonify(openapi_document())
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
