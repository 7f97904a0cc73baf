"""Dates and times in German offer text.

- ``parse_date("11.04.2018")`` -> ``date(2018, 4, 11)``; also "11.4.18", "11. April 2018",
  "2018-04-11" and ISO timestamps.
- ``parse_iso_datetime("2026-01-28T10:00:00+01:00")`` -> aware ``datetime`` (offset kept;
  "Z" is UTC; a naive timestamp stays naive).
- ``parse_date_range("Mi | 28.01.2026 - So | 15.03.2026")`` -> (start, end); one date gives
  (d, d); "28.01. - 15.03.2026" takes the year from the end date.
- ``parse_time_range("14:00 - 18:00 Uhr")`` -> (time(14), time(18)).
- ``parse_weekdays("Dienstag bis Donnerstag")`` -> {1, 2, 3} (Monday = 0); "Mo - Fr",
  "Di und Do", "jeden Dienstag", "Sa/So".
- ``parse_opening_hours("Mo bis Do 9:00 - 18:00 Uhr, Fr 9:00 - 12:00 Uhr")`` -> list of
  ``OpeningSpan(weekdays, start, end)``; a time range without weekdays inherits the
  weekdays of the span before it ("Di und Do 10:00 - 12:00 Uhr und 14:00 - 17:00 Uhr").
- ``parse_dates(text, now=...)`` -> ``DateInfo`` with start/end dates, weekdays, times and
  whether the text describes a recurrence ("jeden Dienstag", "wöchentlich").

Dates without a year ("16. März bis 31. Oktober") give no start/end unless ``now`` is passed,
in which case they are placed in ``now``'s year. Nothing here reads the clock.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

__all__ = [
    "DateInfo",
    "OpeningSpan",
    "parse_date",
    "parse_date_range",
    "parse_dates",
    "parse_iso_datetime",
    "parse_opening_hours",
    "parse_time_range",
    "parse_weekdays",
]

MONTHS = {
    "januar": 1,
    "jan": 1,
    "jänner": 1,
    "februar": 2,
    "feb": 2,
    "märz": 3,
    "maerz": 3,
    "mär": 3,
    "mrz": 3,
    "april": 4,
    "apr": 4,
    "mai": 5,
    "juni": 6,
    "jun": 6,
    "juli": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sep": 9,
    "sept": 9,
    "oktober": 10,
    "okt": 10,
    "november": 11,
    "nov": 11,
    "dezember": 12,
    "dez": 12,
}
WEEKDAYS = {
    "montag": 0,
    "mo": 0,
    "dienstag": 1,
    "di": 1,
    "mittwoch": 2,
    "mi": 2,
    "donnerstag": 3,
    "do": 3,
    "freitag": 4,
    "fr": 4,
    "samstag": 5,
    "sa": 5,
    "sonnabend": 5,
    "sonntag": 6,
    "so": 6,
}
_MONTH_ALT = "|".join(sorted(MONTHS, key=len, reverse=True))
_FULL_DAYS = "|".join(sorted((d for d in WEEKDAYS if len(d) > 2), key=len, reverse=True))
# two-letter abbreviations only capitalised: "so", "da", "do" are ordinary words
_DAY_ALT = rf"(?i:{_FULL_DAYS})|Mo|Di|Mi|Do|Fr|Sa|So"

_NUMERIC_DATE = r"(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4}|\d{2})?(?!\d)"
_NUMERIC_DATE_RE = re.compile(rf"(?<![\d.]){_NUMERIC_DATE}")
_NAMED_DATE_RE = re.compile(
    rf"(?<![\d.])(\d{{1,2}})\.?\s*({_MONTH_ALT})\.?(?:\s+(\d{{4}}))?\b", re.IGNORECASE
)
# "6. bis 10. Juli 2026", "6.-10.07.2026": the first day shares month and year
_DAY_RANGE_RE = re.compile(
    rf"(?<![\d.])(\d{{1,2}})\.\s*(?:-|bis)\s*(\d{{1,2}})\.\s*(?:({_MONTH_ALT})\.?|(\d{{1,2}})\.)"
    rf"\s*(\d{{4}}|\d{{2}}(?!\d))?",
    re.IGNORECASE,
)
# "bis März 2015": a month of a year without a day (the whole month)
_MONTH_YEAR_RE = re.compile(rf"(?<![\d.])\b({_MONTH_ALT})\.?\s+(\d{{4}})\b", re.IGNORECASE)
_ISO_DATE_RE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?")
_TIME = r"(\d{1,2})(?:[:.](\d{2}))?"
_TIME_RANGE_RE = re.compile(
    rf"(?<![\d.]){_TIME}\s*(?:uhr\s*)?(?:-|–|bis)\s*{_TIME}\s*(?:uhr|h\b)?", re.IGNORECASE
)
_DAY_RE = re.compile(rf"\b({_DAY_ALT})\b\.?")
_DAILY_RE = re.compile(r"\btäglich\b|\bjeden tag\b", re.IGNORECASE)
_RECURRING_RE = re.compile(
    r"\bjede[nrs]?\b|wöchentlich|täglich|monatlich|regelmäßig|\bimmer\b", re.IGNORECASE
)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _year(text: str | None) -> int | None:
    if not text:
        return None
    value = int(text)
    return 2000 + value if len(text) == 2 else value


# longer input is cut: real date texts are far shorter, and it bounds the work
MAX_CHARS = 2000


def _prepare(text: str) -> str:
    text = unicodedata.normalize("NFKC", str(text)[:MAX_CHARS])
    return text.replace("\u2013", "-").replace("\u2014", "-")


def parse_iso_datetime(text: str | None) -> datetime | None:
    """Parse an ISO 8601 timestamp ("…T10:00:00+01:00", "…Z"); ``None`` if it is not one."""
    if not text:
        return None
    value = str(text).strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class _Found:
    day: int
    month: int
    year: int | None
    start: int


def _find_dates(text: str) -> list[_Found]:
    found: list[_Found] = []
    taken: list[tuple[int, int]] = []
    for match in _ISO_DATE_RE.finditer(text):
        y, m, d = (int(g) for g in match.groups())
        found.append(_Found(d, m, y, match.start()))
        taken.append(match.span())
    for match in _DAY_RANGE_RE.finditer(text):
        if any(match.start() < e and s < match.end() for s, e in taken):
            continue
        first, last = int(match.group(1)), int(match.group(2))
        month = MONTHS[match.group(3).casefold()] if match.group(3) else int(match.group(4))
        year = _year(match.group(5))
        if 1 <= first <= 31 and 1 <= last <= 31 and 1 <= month <= 12:
            found.append(_Found(first, month, year, match.start()))
            found.append(_Found(last, month, year, match.start(2)))
            taken.append(match.span())
    for regex, named in ((_NUMERIC_DATE_RE, False), (_NAMED_DATE_RE, True)):
        for match in regex.finditer(text):
            if any(match.start() < e and s < match.end() for s, e in taken):
                continue
            day = int(match.group(1))
            month = MONTHS[match.group(2).casefold()] if named else int(match.group(2))
            year = _year(match.group(3))
            if not (1 <= day <= 31 and 1 <= month <= 12):
                continue
            found.append(_Found(day, month, year, match.start()))
            taken.append(match.span())
    for match in _MONTH_YEAR_RE.finditer(text):
        if any(match.start() < e and s < match.end() for s, e in taken):
            continue
        found.append(
            _Found(
                WHOLE_MONTH, MONTHS[match.group(1).casefold()], int(match.group(2)), match.start()
            )
        )
    return sorted(found, key=lambda f: f.start)


#: ``_Found.day`` of a month given without a day: its first day as a start (or a single
#: date), its last day as the end of a range.
WHOLE_MONTH = 0


def _day_of(item: _Found, year: int, *, end: bool) -> date | None:
    if item.day != WHOLE_MONTH:
        return _safe_date(year, item.month, item.day)
    if not end:
        return _safe_date(year, item.month, 1)
    following = _safe_date(year + item.month // 12, item.month % 12 + 1, 1)
    return following - timedelta(days=1) if following else None


def parse_date(text: str | None) -> date | None:
    """Parse the first complete date (with year) in ``text``; ``None`` if there is none."""
    if not text:
        return None
    for found in _find_dates(_prepare(text)):
        if found.year is not None:
            result = _day_of(found, found.year, end=False)
            if result:
                return result
    return None


def parse_date_range(
    text: str | None, *, now: datetime | date | None = None
) -> tuple[date | None, date | None]:
    """Return (start, end) from the first and last date in ``text``.

    A date without a year takes the year of the next dated one ("28.01. - 15.03.2026"),
    else ``now``'s year if ``now`` is given, else it is ignored.
    """
    if not text:
        return None, None
    found = _find_dates(_prepare(text))
    resolved: list[tuple[date, date]] = []  # (first day, last day) of each date found
    for i, item in enumerate(found):
        year = item.year
        if year is None:
            later = next((f.year for f in found[i + 1 :] if f.year is not None), None)
            year = later if later is not None else (now.year if now is not None else None)
        if year is None:
            continue
        first, last = _day_of(item, year, end=False), _day_of(item, year, end=True)
        if first and last:
            resolved.append((first, last))
    if not resolved:
        return None, None
    start, end = resolved[0][0], resolved[-1][1]
    if end < start:
        end = start
    return start, end


def _time(hour: str, minute: str | None) -> time | None:
    h, m = int(hour), int(minute or 0)
    if h == 24 and m == 0:
        return time(23, 59)
    if 0 <= h <= 23 and 0 <= m <= 59:
        return time(h, m)
    return None


def _time_ranges(text: str) -> list[tuple[int, time, time]]:
    out = []
    for match in _TIME_RANGE_RE.finditer(text):
        if not (match.group(2) or match.group(4) or re.search(r"uhr|h\b", match.group(0), re.I)):
            continue  # "5 - 12" alone is not a time range
        start, end = _time(match.group(1), match.group(2)), _time(match.group(3), match.group(4))
        if start and end:
            out.append((match.start(), start, end))
    return out


def parse_time_range(text: str | None) -> tuple[time, time] | None:
    """Parse the first time range ("14:00 - 18:00 Uhr", "9 bis 12 Uhr")."""
    if not text:
        return None
    ranges = _time_ranges(_prepare(text))
    return (ranges[0][1], ranges[0][2]) if ranges else None


def _weekday_spans(text: str) -> list[tuple[int, int, frozenset[int]]]:
    """(start, end, days) for each weekday expression: "Mo bis Fr", "Di und Do", "Sa/So"."""
    days = [(m.start(), m.end(), WEEKDAYS[m.group(1).casefold()]) for m in _DAY_RE.finditer(text)]
    spans: list[tuple[int, int, frozenset[int]]] = [
        (m.start(), m.end(), frozenset(range(7))) for m in _DAILY_RE.finditer(text)
    ]
    i = 0
    while i < len(days):
        start, end, day = days[i]
        if i + 1 < len(days):
            between = text[end : days[i + 1][0]].strip().casefold()
            if between in ("-", "bis", "–"):
                last = days[i + 1][2]
                rng = range(day, last + 1) if last >= day else [*range(day, 7), *range(0, last + 1)]
                spans.append((start, days[i + 1][1], frozenset(rng)))
                i += 2
                continue
        spans.append((start, end, frozenset([day])))
        i += 1
    spans.sort()
    # merge neighbours joined by "und", ",", "/", "&"
    merged: list[tuple[int, int, frozenset[int]]] = []
    for span in spans:
        if merged and text[merged[-1][1] : span[0]].strip().casefold() in ("und", ",", "/", "&"):
            prev = merged[-1]
            merged[-1] = (prev[0], span[1], prev[2] | span[2])
        else:
            merged.append(span)
    return merged


def parse_weekdays(text: str | None) -> set[int]:
    """All weekdays named in ``text`` (Monday = 0), ranges expanded."""
    if not text:
        return set()
    prepared = _prepare(text)
    if _DAILY_RE.search(prepared):
        return set(range(7))
    result: set[int] = set()
    for _, _, days in _weekday_spans(prepared):
        result |= days
    return result


@dataclass(frozen=True, slots=True)
class OpeningSpan:
    """Open on ``weekdays`` (Monday = 0; empty = not stated) from ``start`` to ``end``."""

    weekdays: frozenset[int]
    start: time
    end: time


def parse_opening_hours(text: str | None) -> list[OpeningSpan]:
    """Structured opening hours where the text allows; free text without times gives []."""
    if not text:
        return []
    prepared = _prepare(text)
    spans = _weekday_spans(prepared)
    result: list[OpeningSpan] = []
    current: frozenset[int] = frozenset()
    for pos, start, end in _time_ranges(prepared):
        before = [s for s in spans if s[1] <= pos]
        if before:
            current = before[-1][2]
        result.append(OpeningSpan(current, start, end))
    return result


@dataclass(frozen=True, slots=True)
class DateInfo:
    """What a date text says: a date range, weekdays, times, recurrence."""

    start: date | None = None
    end: date | None = None
    weekdays: set[int] = field(default_factory=set)
    times: list[tuple[time, time]] = field(default_factory=list)
    recurring: bool = False


def parse_dates(text: str | list[str] | None, *, now: datetime | date | None = None) -> DateInfo:
    """Parse a date/time text; never raises, unknown text gives an empty ``DateInfo``."""
    if text is None:
        return DateInfo()
    if isinstance(text, (list, tuple)):
        text = ", ".join(str(t) for t in text if t)
    prepared = _prepare(text)
    if not prepared.strip():
        return DateInfo()
    iso = parse_iso_datetime(prepared)
    if iso is not None:
        return DateInfo(start=iso.date(), end=iso.date())
    start, end = parse_date_range(prepared, now=now)
    return DateInfo(
        start=start,
        end=end,
        weekdays=parse_weekdays(prepared),
        times=[(s, e) for _, s, e in _time_ranges(prepared)],
        recurring=bool(_RECURRING_RE.search(prepared)),
    )
