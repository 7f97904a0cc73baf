"""One raw record -> one ``NormalizedOffer`` (pure: gazetteer and ``now`` are passed in).

Input are the canonical raw field names of ``docs/design.md``; any may be missing, and any
may be a list where a string was expected (lists are joined with ", "). Unknown keys are
ignored, except ``country`` (MINT Zukunft schaffen's ``Land``): a country other than
Germany means no German PLZ, Bundesland or gazetteer coordinates are derived.

Order of precedence:

- url: only the record's ``url`` field (the offer's detail page). ``RawRecord.url`` is the
  page or document the record was read from, shared by every record of a list page, RDF
  document or CSV file, so it is provenance, not a link to the offer.
- title: ``title``, else ``provider``; neither -> ``NormalizeError`` (the caller counts the
  record as dropped).
- address: the parts as given; ``address`` (one free-text string) only fills parts that are
  missing. ``street`` carries the house number ("Peterssteinweg 18").
- coordinates: explicit ``lat``/``lon`` (comma decimals accepted; an obviously swapped pair
  for Germany is swapped back), else ``wkt``, else the PLZ (mean of its gazetteer rows),
  else the city name (see ``normalize.places``). Bundesland: as given, else from the PLZ or
  city; Landkreis: from the PLZ, else the city.
- subjects/formats: the source's own ``subjects``/``formats`` labels plus ``tags``; only when
  these give nothing, keywords in title and description. Labels that map to nothing are
  kept in ``unmapped`` under their field name (``tags`` only when a tag maps to neither
  subjects nor formats); ``gta`` "ja" (Ganztagsangebot) adds ag to the formats, an answer
  ``map_gta`` does not know is kept under ``gta``; audience labels that yield nothing and
  cost text of kind ``unknown`` are recorded there too, for the coverage report.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from crawlers.records import RawRecord
from normalize.audience import parse_audience
from normalize.costs import parse_costs
from normalize.dates import parse_dates
from normalize.places import (
    Gazetteer,
    normalize_bundesland,
    parse_wkt_point,
    repair_plz,
    split_address,
)
from normalize.text import clean_text
from normalize.vocab import (
    FORMAT_LABELS,
    SUBJECT_LABELS,
    formats_from_text,
    map_formats,
    map_gta,
    map_subjects,
    subjects_from_text,
)

__all__ = ["RAW_FIELDS_READ", "NormalizeError", "NormalizedOffer", "normalize_record"]

#: The raw fields ``normalize_record`` reads. Every other raw field (``participants``,
#: ``opening_hours``, ``school_type``, ``venue``, a source's own keys) has
#: no place in ``NormalizedOffer`` yet and stays only in the raw store; the coverage report
#: (``normalize.coverage.unread_raw_fields``) lists them per source with their values, so
#: none is dropped in silence.
RAW_FIELDS_READ: frozenset[str] = frozenset(
    {
        "title", "description", "provider", "url", "website", "street", "house_number",
        "plz", "city", "district", "address", "country", "bundesland", "lat", "lon", "wkt",
        "subjects", "formats", "tags", "gta", "audience", "costs", "dates",
    }
)  # fmt: skip


class NormalizeError(ValueError):
    """A raw record cannot become an offer (e.g. it has neither title nor provider)."""


class NormalizedOffer(BaseModel):
    """An offer in the one schema that filters can trust (``docs/design.md``)."""

    model_config = ConfigDict(extra="forbid")

    source_id: str
    source_key: str
    url: str | None = None
    title: str
    description: str = ""
    provider: str | None = None
    #: URI of the organiser where a platform links it instead of naming it (Leipzig Open
    #: Data: ``http://leipzig-data.de/Data/Ort/Inspirata``); dedupe resolves it to the
    #: provider that other records with the same URI name (`dedupe.providers`).
    provider_ref: str | None = None
    website: str | None = None
    street: str | None = None
    plz: str | None = None
    city: str | None = None
    district: str | None = None
    bundesland: str | None = None
    landkreis: str | None = None
    lat: float | None = None
    lon: float | None = None
    subjects: list[str] = Field(default_factory=list)
    formats: list[str] = Field(default_factory=list)
    unmapped: dict[str, list[str]] = Field(default_factory=dict)
    audience_text: str | None = None
    age_min: int | None = None
    age_max: int | None = None
    grade_min: int | None = None
    grade_max: int | None = None
    groups: list[str] = Field(default_factory=list)
    girls: bool = False
    costs_text: str | None = None
    cost_kind: str = "unknown"
    price_eur: float | None = None
    dates_text: str | None = None
    start: date | None = None
    end: date | None = None


_GERMANY = {"", "deutschland", "germany", "de", "d", "deu", "bundesrepublik deutschland"}


def _raw(fields: dict, name: str) -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        parts = [str(v) for v in value if v is not None and str(v).strip()]
        return ", ".join(parts) if parts else None
    return str(value)


def _text(fields: dict, name: str) -> str | None:
    """Cleaned single-line text of a field, ``None`` when empty."""
    raw = _raw(fields, name)
    if raw is None:
        return None
    text = " ".join(clean_text(raw).split())
    return text or None


def _labels(fields: dict, name: str) -> list[str]:
    value = fields.get(name)
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else [value]
    out = []
    for item in items:
        text = " ".join(clean_text(item).split()) if item is not None else ""
        if text:
            out.append(text)
    return out


def _url(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().split()[0] if value.strip() else ""
    if not value:
        return None
    if re.match(r"^https?://", value, re.IGNORECASE):
        return value
    if re.match(r"^(?:www\.)?[\w-]+(?:\.[\w-]+)+(?:[/?#].*)?$", value):
        return "http://" + value
    return value


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    text = value.strip().replace(",", ".")
    try:
        number = float(text)
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def _coordinates(fields: dict) -> tuple[float | None, float | None]:
    lat, lon = _float(_raw(fields, "lat")), _float(_raw(fields, "lon"))
    if lat is not None and lon is not None:
        # a pair swapped for Germany (lat 5-16, lon 47-56) is swapped back
        if 5.0 <= lat <= 16.0 and 47.0 <= lon <= 56.0:
            lat, lon = lon, lat
        if -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0 and (lat, lon) != (0.0, 0.0):
            return lat, lon
    point = parse_wkt_point(_raw(fields, "wkt"))
    if point is not None:
        return point
    return None, None


def _merge(*id_lists: list[str], order: list[str]) -> list[str]:
    found = {i for ids in id_lists for i in ids}
    return [i for i in order if i in found]


def normalize_record(record: RawRecord, *, gazetteer: Gazetteer, now: datetime) -> NormalizedOffer:
    """Normalize one raw record; raises ``NormalizeError`` if it has no title or provider."""
    fields = dict(record.fields or {})
    provider = _text(fields, "provider")
    title = _text(fields, "title") or provider
    if not title:
        raise NormalizeError(
            f"{record.source_id}:{record.source_key}: no title and no provider; "
            "check the source's title rule in sources.yaml"
        )

    # --- place --------------------------------------------------------------------------
    country = (_text(fields, "country") or "").casefold()
    abroad = country not in _GERMANY
    street = _text(fields, "street")
    number = _text(fields, "house_number")
    city = _text(fields, "city")
    raw_plz = _raw(fields, "plz")
    parsed = split_address(_text(fields, "address"))
    if street is None:
        street = parsed.street
        number = number or parsed.house_number
    if city is None:
        city = parsed.city
    if raw_plz is None:
        raw_plz = parsed.plz
    if street and number and not street.endswith(number):
        street = f"{street} {number}"

    plz = None if abroad else repair_plz(raw_plz, city, gazetteer)
    bundesland = None if abroad else normalize_bundesland(_raw(fields, "bundesland"))
    landkreis = None
    lat, lon = _coordinates(fields)
    info = gazetteer.lookup(plz) if plz else None
    if info is not None:
        bundesland = bundesland or info.bundesland
        landkreis = info.landkreis
        if lat is None:
            lat, lon = info.lat, info.lon
        if city is None and len(info.places) == 1:
            city = info.places[0]
    elif not abroad and city:
        match = gazetteer.geocode_city(city, bundesland)
        if match is not None:
            bundesland = bundesland or match.bundesland
            landkreis = match.landkreis
            if lat is None:
                lat, lon = match.lat, match.lon

    # --- vocabularies -------------------------------------------------------------------
    description = clean_text(_raw(fields, "description"))
    unmapped: dict[str, list[str]] = {}
    subj_ids, subj_un = map_subjects(_labels(fields, "subjects"))
    fmt_ids, fmt_un = map_formats(_labels(fields, "formats"))
    tags = _labels(fields, "tags")
    tag_subj, tag_subj_un = map_subjects(tags)
    tag_fmt, tag_fmt_un = map_formats(tags)
    tag_un = [t for t in tag_subj_un if t in tag_fmt_un]
    subjects = _merge(subj_ids, tag_subj, order=list(SUBJECT_LABELS))
    formats = _merge(fmt_ids, tag_fmt, order=list(FORMAT_LABELS))
    fallback_text = f"{title}\n{description}"
    if not subjects:
        subjects = subjects_from_text(fallback_text)
    if not formats:
        formats = formats_from_text(fallback_text)
    gta_fmt, gta_un = map_gta(_text(fields, "gta"))
    formats = _merge(formats, gta_fmt, order=list(FORMAT_LABELS))
    named = (("subjects", subj_un), ("formats", fmt_un), ("tags", tag_un), ("gta", gta_un))
    for name, values in named:
        if values:
            unmapped[name] = values

    # --- audience, costs, dates ---------------------------------------------------------
    audience_labels = _labels(fields, "audience")
    audience_text = ", ".join(audience_labels) or None
    nothing = parse_audience(None)
    audience = parse_audience(audience_labels) if audience_labels else nothing
    if len(audience_labels) == 1:
        empty_audience = audience_labels if audience == nothing else []
    else:
        empty_audience = [label for label in audience_labels if parse_audience(label) == nothing]
    if empty_audience:
        unmapped["audience"] = empty_audience
    costs_text = _text(fields, "costs")
    costs = parse_costs(costs_text)
    if costs_text and costs.kind == "unknown":
        unmapped["costs"] = [costs_text]
    dates_text = _text(fields, "dates")
    dates = parse_dates(dates_text, now=now)

    return NormalizedOffer(
        source_id=record.source_id,
        source_key=record.source_key,
        url=_url(_text(fields, "url")),
        title=title,
        description=description,
        provider=provider,
        provider_ref=_text(fields, "provider_ref"),
        website=_url(_text(fields, "website")),
        street=street,
        plz=plz,
        city=city,
        district=_text(fields, "district"),
        bundesland=bundesland,
        landkreis=landkreis,
        lat=lat,
        lon=lon,
        subjects=subjects,
        formats=formats,
        unmapped=unmapped,
        audience_text=audience_text,
        age_min=audience.age_min,
        age_max=audience.age_max,
        grade_min=audience.grade_min,
        grade_max=audience.grade_max,
        groups=list(audience.groups),
        girls=audience.girls,
        costs_text=costs_text,
        cost_kind=costs.kind,
        price_eur=costs.price_eur,
        dates_text=dates_text,
        start=dates.start,
        end=dates.end,
    )
