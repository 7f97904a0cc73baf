"""Downloads of the current result list: ``/suche.csv`` and ``/suche.ics``.

Both take exactly the parameters of ``/suche`` and export the whole result list (every page,
at most :data:`MAX_EXPORT` entries, in the page's order), not just the visible page.

- CSV: UTF-8 with BOM (Excel opens it with umlauts intact), ``;``-separated (German Excel),
  German headers. Cells that a spreadsheet would read as a formula (starting with ``=``,
  ``+``, ``-``, ``@``, tab or carriage return) are prefixed with ``'`` (CSV injection).
- iCalendar: one VEVENT per offer that has a date (all-day events; DTEND is exclusive, so
  it is the day after the last day), with the offer page as URL. Offers without a date
  are left out; an empty list is still a valid calendar.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, Response, url_for
from icalendar import Calendar, Event

from catalog.search import MAX_PER_PAGE, MAX_WINDOW
from webapp import data
from webapp.views import _parse_args, hit_payload, platform_titles

bp = Blueprint("exports", __name__)

MAX_EXPORT = 2000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

CSV_COLUMNS = [
    ("title", "Titel"),
    ("provider", "Anbieter"),
    ("plz", "PLZ"),
    ("city", "Ort"),
    ("bundesland", "Bundesland"),
    ("subjects", "Fächer"),
    ("formats", "Formate"),
    ("start", "Beginn"),
    ("end", "Ende"),
    ("age", "Alter"),
    ("grade", "Klassen"),
    ("free", "Kostenlos"),
    ("girls", "Für Mädchen"),
    ("distance_km", "Entfernung (km)"),
    ("platforms", "Gelistet bei"),
    ("link", "Link"),
]


def safe_cell(value: Any) -> str:
    """A CSV cell that no spreadsheet evaluates as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _range(low: int | None, high: int | None) -> str:
    if low is None and high is None:
        return ""
    if low is not None and high is not None:
        return f"{low}–{high}" if low != high else str(low)
    return f"ab {low}" if low is not None else f"bis {high}"


def export_hits() -> list[dict[str, Any]]:
    """Every hit of the current search (all pages, capped at MAX_EXPORT), as payloads."""
    parsed = _parse_args(per_page=MAX_PER_PAGE)
    titles = platform_titles()
    hits: list[dict[str, Any]] = []
    page = 1
    while len(hits) < MAX_EXPORT and page * MAX_PER_PAGE <= MAX_WINDOW:
        parsed.query.page = page
        result = data.search(parsed.query)
        if result is None:
            break
        hits.extend(hit_payload(hit, titles) for hit in result.hits)
        if page * MAX_PER_PAGE >= result.total or not result.hits:
            break
        page += 1
    return hits[:MAX_EXPORT]


def _row(hit: dict[str, Any]) -> list[str]:
    values = {
        **hit,
        "subjects": ", ".join(s["label"] for s in hit["subjects"]),
        "formats": ", ".join(f["label"] for f in hit["formats"]),
        "platforms": ", ".join(p["title"] for p in hit["platforms"]),
        "start": hit["start"] or "",
        "end": hit["end"] or "",
        "age": _range(hit["age_min"], hit["age_max"]),
        "grade": _range(hit["grade_min"], hit["grade_max"]),
        "free": "ja" if hit["free"] else "",
        "girls": "ja" if hit["girls"] else "",
        "distance_km": (
            f"{hit['distance_km']:.1f}".replace(".", ",") if hit["distance_km"] is not None else ""
        ),
        "link": url_for("site.offer", cluster_id=hit["id"], _external=True),
    }
    return [safe_cell(values.get(key)) for key, _label in CSV_COLUMNS]


@bp.route("/suche.csv")
def search_csv() -> Response:
    """The current result list as a CSV file for Excel/LibreOffice."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([label for _key, label in CSV_COLUMNS])
    for hit in export_hits():
        writer.writerow(_row(hit))
    body = "\ufeff" + out.getvalue()
    return Response(
        body.encode("utf-8"),
        mimetype="text/csv",
        headers={
            "Content-Disposition": 'attachment; filename="mint-angebote.csv"',
            "Content-Type": "text/csv; charset=utf-8",
        },
    )


def calendar(hits: list[dict[str, Any]], stamp: date) -> bytes:
    """An iCalendar file with one all-day VEVENT per dated hit."""
    cal = Calendar()
    cal.add("prodid", "-//MINT-Suche//Ergebnisliste//DE")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "MINT-Angebote")
    for hit in hits:
        if not hit["start"]:
            continue
        start = date.fromisoformat(hit["start"])
        end = date.fromisoformat(hit["end"]) if hit["end"] else start
        event = Event()
        event.add("uid", f"{hit['id']}-{start.isoformat()}@mintsuche")
        event.add("dtstamp", datetime.combine(stamp, time(0), tzinfo=UTC))
        event.add("summary", hit["title"])
        event.add("dtstart", start)
        event.add("dtend", max(end, start) + timedelta(days=1))
        place = " ".join(p for p in (hit["plz"], hit["city"]) if p)
        if place:
            event.add("location", place)
        if hit["provider"]:
            event.add("description", f"Anbieter: {hit['provider']}")
        event.add("url", url_for("site.offer", cluster_id=hit["id"], _external=True))
        cal.add_component(event)
    return cal.to_ical()


@bp.route("/suche.ics")
def search_ics() -> Response:
    """The dated offers of the current result list as an iCalendar file."""
    return Response(
        calendar(export_hits(), data.today()),
        mimetype="text/calendar",
        headers={"Content-Disposition": 'attachment; filename="mint-angebote.ics"'},
    )
