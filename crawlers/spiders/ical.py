"""The spider for ``kind: ical`` sources: iCalendar feeds and per-event ``.ics`` files.

Every start URL is parsed with the ``icalendar`` library; each ``VEVENT`` becomes one
JSON-like object (:func:`event_item`) that the ``jmespath`` rules map onto fields:

``uid``, ``summary``, ``description``, ``location``, ``url``, ``categories`` (list),
``organizer`` (the CN, else the address without ``mailto:``), ``status``,
``start``/``end`` (ISO 8601; a date without time stays ``YYYY-MM-DD``), ``rrule`` (the
RRULE text), ``recurrence`` (German, e.g. ``wöchentlich jeden Dienstag bis 30.06.2026``),
``next`` (the first occurrence at or after the run's ``now``, ISO), ``lat``/``lon``
(GEO), and ``dates``: German text that ``normalize.dates`` reads (zoned times in German
local time, Europe/Berlin), e.g.
``Di | 03.02.2026 - Di | 30.06.2026, 14:00 - 16:00 Uhr, wöchentlich jeden Dienstag``.

How it fails: a file that is not iCalendar counts ``mintsuche/errors/invalid_ical``
(logged at ERROR; the other start URLs go on). A ``VEVENT`` without ``DTSTART`` is dropped
as ``no_dtstart``, one with an unreadable recurrence keeps its dates and counts
``mintsuche/notes/bad_rrule``; no key or title: ``no_key``/``no_title``; an event whose
key was seen before (the same UID in two files): ``duplicate_key``. The other events of
the file are kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from dateutil.rrule import rrulestr
from scrapy.http import Response

from crawlers.spiders.base import STATS_PREFIX, SourceSpider
from crawlers.spiders.json_api import jmespath_fields, key_of

INVALID_ICAL_STAT = f"{STATS_PREFIX}/errors/invalid_ical"
BAD_RRULE_STAT = f"{STATS_PREFIX}/notes/bad_rrule"
MAX_OCCURRENCES = 1000
"""A finite recurrence's last date is looked up among its first occurrences only."""

WEEKDAYS = ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So")
WEEKDAY_NAMES = {
    "MO": "Montag",
    "TU": "Dienstag",
    "WE": "Mittwoch",
    "TH": "Donnerstag",
    "FR": "Freitag",
    "SA": "Samstag",
    "SU": "Sonntag",
}
FREQUENCIES = {
    "DAILY": "täglich",
    "WEEKLY": "wöchentlich",
    "MONTHLY": "monatlich",
    "YEARLY": "jährlich",
}


class NoDtstart(ValueError):
    """A VEVENT without DTSTART."""


class InvalidIcal(ValueError):
    """A document that is not iCalendar, or holds no VEVENT."""


def parse_calendar(body: bytes) -> Any:
    """The ``icalendar.Calendar`` of ``body``; raises :class:`InvalidIcal` if it is none."""
    try:
        return icalendar.Calendar.from_ical(body)
    except (ValueError, IndexError, KeyError) as exc:
        raise InvalidIcal(str(exc)) from None


def first_event(body: bytes, now: datetime) -> tuple[dict[str, Any], bool]:
    """The first VEVENT of a calendar file as :func:`event_item` gives it (for per-event
    ``.ics`` downloads merged into a json record). Raises :class:`InvalidIcal` (not
    iCalendar, no VEVENT) or :class:`NoDtstart`."""
    events = parse_calendar(body).walk("VEVENT")
    if not events:
        raise InvalidIcal("no VEVENT in the file")
    return event_item(events[0], now)


LOCAL_TIME = ZoneInfo("Europe/Berlin")
"""Times in the German ``dates`` text are wall-clock times in Germany: a UTC (``Z``) or
other zoned DTSTART is converted; a floating time is shown as it is."""


def _iso(value: date | datetime) -> str:
    return value.isoformat()


def _local(value: date | datetime) -> date | datetime:
    """``value`` in German local time when it is zoned, else unchanged."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(LOCAL_TIME)
    return value


def _day(value: date | datetime) -> str:
    day = _date_of(_local(value))
    return f"{WEEKDAYS[day.weekday()]} | {day.strftime('%d.%m.%Y')}"


def recurrence_text(rule: Any) -> str:
    """German text of an RRULE (``vRecur``), e.g. ``wöchentlich jeden Dienstag bis 30.06.2026``."""
    freq = (rule.get("FREQ") or [""])[0]
    interval = int((rule.get("INTERVAL") or [1])[0])
    text = FREQUENCIES.get(freq, freq.lower())
    if interval > 1:
        text = f"alle {interval} " + {
            "DAILY": "Tage",
            "WEEKLY": "Wochen",
            "MONTHLY": "Monate",
            "YEARLY": "Jahre",
        }.get(freq, "Male")
    days = [WEEKDAY_NAMES.get(str(day)[-2:]) for day in rule.get("BYDAY") or []]
    if days and all(days):
        text += " jeden " + " und ".join(d for d in days if d)
    until = rule.get("UNTIL")
    if until:
        end = until[0]
        text += " bis " + (end.date() if isinstance(end, datetime) else end).strftime("%d.%m.%Y")
    count = rule.get("COUNT")
    if count:
        text += f", {int(count[0])} Termine"
    return text


def _date_of(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _time_range(start: date | datetime, end: date | datetime | None) -> str | None:
    if not isinstance(start, datetime):
        return None
    start, end = _local(start), (_local(end) if end is not None else None)
    text = start.strftime("%H:%M")
    if isinstance(end, datetime):
        text += " - " + end.strftime("%H:%M")
    return f"{text} Uhr"


def _organizer(value: Any) -> str | None:
    if value is None:
        return None
    name = value.params.get("CN") if hasattr(value, "params") else None
    return str(name) if name else str(value).removeprefix("mailto:").removeprefix("MAILTO:")


def event_item(event: Any, now: datetime) -> tuple[dict[str, Any], bool]:
    """One VEVENT as a plain object (see the module docstring) and whether its RRULE was
    unreadable. Raises :class:`NoDtstart` when it has no DTSTART."""
    dtstart = event.get("DTSTART")
    if dtstart is None:
        raise NoDtstart(str(event.get("SUMMARY") or event.get("UID") or "?"))
    start = dtstart.dt
    end = event.get("DTEND").dt if event.get("DTEND") is not None else None
    if end is None and event.get("DURATION") is not None:
        end = start + event.get("DURATION").dt
    if end is not None and not isinstance(end, datetime) and isinstance(start, date):
        end = end - timedelta(days=1)  # DTEND of an all-day event is exclusive
        end = max(end, start)
    categories: list[str] = []
    raw_categories = event.get("CATEGORIES")
    for entry in _as_list(raw_categories) if raw_categories is not None else []:
        categories.extend(str(c) for c in getattr(entry, "cats", [entry]))
    item: dict[str, Any] = {
        "uid": str(event.get("UID")) if event.get("UID") is not None else None,
        "summary": str(event.get("SUMMARY")) if event.get("SUMMARY") is not None else None,
        "description": str(event.get("DESCRIPTION") or "") or None,
        "location": str(event.get("LOCATION") or "") or None,
        "url": str(event.get("URL") or "") or None,
        "categories": categories,
        "organizer": _organizer(event.get("ORGANIZER")),
        "status": str(event.get("STATUS") or "") or None,
        "start": _iso(start),
        "end": _iso(end) if end is not None else None,
        "rrule": None,
        "recurrence": None,
        "next": None,
    }
    geo = event.get("GEO")
    if geo is not None:
        item["lat"], item["lon"] = str(geo.latitude), str(geo.longitude)
    bad_rrule = False
    last: date | datetime | None = end
    rule = event.get("RRULE")
    if rule is not None:
        item["rrule"] = rule.to_ical().decode()
        item["recurrence"] = recurrence_text(rule)
        try:
            occurrences = rrulestr(item["rrule"], dtstart=_as_datetime(start))
            upcoming = occurrences.after(_comparable(now, start), inc=True)
            finite = bool(rule.get("UNTIL") or rule.get("COUNT"))
            bounded = list(islice(occurrences, MAX_OCCURRENCES)) if finite else []
        except (ValueError, TypeError):
            bad_rrule, upcoming, bounded = True, None, []
        if upcoming is not None:
            upcoming_day = upcoming if isinstance(start, datetime) else upcoming.date()
            item["next"] = upcoming_day.isoformat()
        last = bounded[-1] if bounded else None
    same_day = last is None or _date_of(_local(last)) == _date_of(_local(start))
    span = _day(start) + ("" if same_day else f" - {_day(last)}")
    parts = [span, _time_range(start, end), item["recurrence"]]
    item["dates"] = ", ".join(part for part in parts if part)
    return item, bad_rrule


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _as_datetime(value: date | datetime) -> datetime:
    """``value`` as a datetime (a date at 00:00, naive)."""
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day)


def _comparable(now: datetime, start: date | datetime) -> datetime:
    """``now`` comparable with ``start``: aware for an aware start, else naive (floating
    times and dates are compared by their wall-clock value)."""
    if isinstance(start, datetime) and start.tzinfo is not None:
        return now
    return now.replace(tzinfo=None)


class IcalSpider(SourceSpider):
    """Yield one record per VEVENT of each calendar file."""

    kind = "ical"

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        """Parse the calendar and yield its events."""
        url = response.url
        try:
            calendar = parse_calendar(response.body)
        except InvalidIcal as exc:
            self.count(INVALID_ICAL_STAT)
            self.logger.error("%s is not an iCalendar file: %s", url, exc)
            return
        rules = dict(self.source.fields or {})
        key_field = self.source.section().key
        now = self.fetched_at()
        for event in calendar.walk("VEVENT"):
            try:
                item, bad_rrule = event_item(event, now)
            except NoDtstart as exc:
                self.drop("no_dtstart", url, detail=str(exc))
                continue
            if bad_rrule:
                self.count(BAD_RRULE_STAT)
                self.logger.warning("%s: unreadable RRULE %s", url, item["rrule"])
            fields = jmespath_fields(item, rules)
            key = key_of(fields, key_field)
            record = self.unique_record(key, url, fields)
            if record is not None:
                yield record
