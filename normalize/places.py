"""Places: PLZ gazetteer, PLZ repair, city geocoding, WKT points, addresses, distances.

The gazetteer is the GeoNames postal-code table shipped as ``normalize/data/plz.csv``
(see ``data/PROVENANCE.md``; CC BY 4.0, the site must show the attribution line
``GAZETTEER_ATTRIBUTION``). ``load_gazetteer()`` reads it once per process; every other
function here is pure and takes the gazetteer as an argument.

Column meanings, checked against the data: ``state`` is the Bundesland (partly in English,
"Bavaria", "Land Berlin": mapped to the German names), ``province`` is the
*Regierungsbezirk* (empty in most states), ``community`` is the *Kreis* ("Landkreis
Görlitz", "Kreisfreie Stadt Leipzig", "Berlin, Stadt"). ``landkreis`` is therefore taken
from ``community``, not from ``province``.

PLZ repair: a 4-digit PLZ lost its leading zero (MINT Zukunft schaffen: "2708" = 02708
Löbau); the repaired code must exist and, when a city is given, name it. City names are
compared without qualifiers ("Halle (Saale)" = "Halle", "Jessen" = "Jessen (Elster)") and
by the parts of merged municipalities ("Pockau-Lengefeld" = the gazetteer's "Lengefeld").

Per PLZ: latitude/longitude are the mean over all rows of the PLZ (one PLZ may cover
several places, e.g. 02708 Löbau and eight villages); Bundesland and Landkreis are the most
frequent values among its rows.

City-only geocoding (no PLZ): the city name is matched case-insensitively against the
place names, ignoring a parenthesised qualifier ("Halle (Saale)" -> "Halle"); names like
"Frankfurt am Main" are also reachable by their first word ("Frankfurt"). Candidates are
grouped by (place, Bundesland, Kreis). A qualifier or a given Bundesland narrows the groups
("Halle (Westf.)" -> the group in Nordrhein-Westfalen); a qualifier that is itself a place
name narrows to the groups in its Kreis ("Ostenfeld (Husum)" -> Ostenfeld in Kreis
Nordfriesland, not in Rendsburg-Eckernförde). Of the remaining groups, the one
with the most PLZ wins ("Halle" -> Halle (Saale), 13 PLZ, not the one-PLZ villages;
"Frankfurt" -> Frankfurt am Main, not Frankfurt (Oder)); between groups with equally many
PLZ, the one whose Kreis is named after the place wins ("Borken" -> Kreis Borken in
Nordrhein-Westfalen, not Borken in Hessen; "Amberg" -> the kreisfreie Stadt); a remaining
tie is ambiguous and gives ``None`` ("Garching", "Seefeld"). "St." is read as "Sankt".
Coordinates are the mean over that group's rows.

Bundesland numbers: the MINT Zukunft schaffen lists use "1" and "7" in the Bundesland
column, but only for schools abroad (1 = Zagreb/Kroatien, 7 = Teheran/Iran; a German row
with an empty Bundesland is Nauen, Brandenburg). The data proves no numeric code for a
German state, so ``normalize_bundesland`` maps every number to ``None``. The GeoNames
``state_code`` numbers (01 = Baden-Württemberg, …) are a different scheme and are not
applied to source values either.
"""

from __future__ import annotations

import csv
import functools
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources

__all__ = [
    "Address",
    "BUNDESLAENDER",
    "BUNDESLAND_CODES",
    "CityMatch",
    "GAZETTEER_ATTRIBUTION",
    "Gazetteer",
    "PlzInfo",
    "haversine_km",
    "load_gazetteer",
    "normalize_bundesland",
    "parse_wkt_point",
    "read_gazetteer",
    "repair_plz",
    "split_address",
]

GAZETTEER_ATTRIBUTION = (
    "PLZ-Koordinaten: GeoNames (geonames.org), CC BY 4.0, via zauberware/postal-codes-json-xml-csv"
)

BUNDESLAND_CODES: dict[str, str] = {
    "BW": "Baden-Württemberg",
    "BY": "Bayern",
    "BE": "Berlin",
    "BB": "Brandenburg",
    "HB": "Bremen",
    "HH": "Hamburg",
    "HE": "Hessen",
    "MV": "Mecklenburg-Vorpommern",
    "NI": "Niedersachsen",
    "NW": "Nordrhein-Westfalen",
    "RP": "Rheinland-Pfalz",
    "SL": "Saarland",
    "SN": "Sachsen",
    "ST": "Sachsen-Anhalt",
    "SH": "Schleswig-Holstein",
    "TH": "Thüringen",
}
BUNDESLAENDER: tuple[str, ...] = tuple(sorted(BUNDESLAND_CODES.values()))

_STATE_ALIASES: dict[str, str] = {
    # English / GeoNames spellings and common variants
    "bavaria": "Bayern",
    "freistaat bayern": "Bayern",
    "land berlin": "Berlin",
    "lower saxony": "Niedersachsen",
    "saxony": "Sachsen",
    "freistaat sachsen": "Sachsen",
    "saxony-anhalt": "Sachsen-Anhalt",
    "thuringia": "Thüringen",
    "freistaat thüringen": "Thüringen",
    "mecklenburg-western pomerania": "Mecklenburg-Vorpommern",
    "north rhine-westphalia": "Nordrhein-Westfalen",
    "rhineland-palatinate": "Rheinland-Pfalz",
    "hesse": "Hessen",
    "freie hansestadt bremen": "Bremen",
    "freie und hansestadt hamburg": "Hamburg",
    "baden-wuerttemberg": "Baden-Württemberg",
    "thueringen": "Thüringen",
    "nrw": "Nordrhein-Westfalen",
}


def _state_key(text: str) -> str:
    text = unicodedata.normalize("NFC", text).strip().casefold()
    text = re.sub(r"\s*-\s*", "-", text)
    return re.sub(r"\s+", " ", text)


_STATE_LOOKUP: dict[str, str] = {
    **{_state_key(name): name for name in BUNDESLAENDER},
    **{code.casefold(): name for code, name in BUNDESLAND_CODES.items()},
    **{f"de-{code.casefold()}": name for code, name in BUNDESLAND_CODES.items()},
    **_STATE_ALIASES,
}


def normalize_bundesland(raw: str | None) -> str | None:
    """Return the German name of a Bundesland given by name, code ("SN", "DE-SN") or alias.

    Numbers ("1", "7") give ``None``: in the sample data they mark schools abroad (see the
    module docstring). Anything unknown gives ``None``.
    """
    if raw is None:
        return None
    key = _state_key(str(raw))
    if not key or key.isdigit():
        return None
    return _STATE_LOOKUP.get(key)


# --- gazetteer ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlzInfo:
    """What the gazetteer knows about one PLZ."""

    plz: str
    lat: float
    lon: float
    places: tuple[str, ...]
    bundesland: str | None
    landkreis: str | None


@dataclass(frozen=True, slots=True)
class CityMatch:
    """A city name resolved to coordinates (mean of the place's rows)."""

    name: str
    lat: float
    lon: float
    bundesland: str | None
    landkreis: str | None
    plz_count: int


_QUALIFIER_RE = re.compile(r"\s*[(\[]([^)\]]*)[)\]]\s*")
_ALIAS_SPLIT_RE = re.compile(r"\s+(?:am|an der|an den|im|in der|bei|ob der|vor der)\s+|\s*/\s*")


def _place_key(name: str) -> tuple[str, str]:
    """Return (base key, qualifier key) of a place name; both casefolded."""
    name = unicodedata.normalize("NFC", name[:200]).strip()
    if "/" in name and "(" not in name:  # "Frankfurt/Oder", "Halle/Saale"
        head, _, tail = name.partition("/")
        name = f"{head} ({tail})"
    qualifier = " ".join(m.group(1) for m in _QUALIFIER_RE.finditer(name))
    base = _QUALIFIER_RE.sub(" ", name)
    base = re.sub(r"\s+", " ", base).strip(" ,").casefold()
    base = re.sub(r"^st\.\s*", "sankt ", base)  # "St. Ingbert" -> "Sankt Ingbert"
    base = re.sub(r"\s*-\s*", "-", base)
    qualifier = re.sub(r"[^\w ]", "", qualifier).strip().casefold()
    return base, qualifier


@dataclass
class _Group:
    name: str
    bundesland: str | None
    landkreis: str | None
    plz: set[str]
    lats: list[float]
    lons: list[float]


class Gazetteer:
    """PLZ -> coordinates/places/Bundesland/Kreis, and place name -> coordinates.

    Build it from rows shaped like the GeoNames CSV (``zipcode``, ``place``, ``state``,
    ``community``, ``latitude``, ``longitude``); rows with unusable coordinates are skipped.
    """

    def __init__(self, rows: Iterable[Mapping[str, str]]) -> None:
        by_plz: dict[str, list[Mapping[str, str]]] = defaultdict(list)
        groups: dict[tuple[str, str | None, str | None], _Group] = {}
        for row in rows:
            plz = (row.get("zipcode") or "").strip()
            if not re.fullmatch(r"\d{5}", plz):
                continue
            try:
                lat = float(row.get("latitude") or "")
                lon = float(row.get("longitude") or "")
            except ValueError:
                continue
            by_plz[plz].append(row)
            place = (row.get("place") or "").strip()
            state = normalize_bundesland(row.get("state"))
            kreis = (row.get("community") or "").strip() or None
            gkey = (place, state, kreis)
            group = groups.get(gkey)
            if group is None:
                group = groups[gkey] = _Group(place, state, kreis, set(), [], [])
            group.plz.add(plz)
            group.lats.append(lat)
            group.lons.append(lon)

        self._plz: dict[str, PlzInfo] = {}
        for plz, prow in by_plz.items():
            lats = [float(r["latitude"]) for r in prow]
            lons = [float(r["longitude"]) for r in prow]
            states = Counter(s for r in prow if (s := normalize_bundesland(r.get("state"))))
            kreise = Counter(k for r in prow if (k := (r.get("community") or "").strip()))
            places = tuple(dict.fromkeys((r.get("place") or "").strip() for r in prow))
            self._plz[plz] = PlzInfo(
                plz=plz,
                lat=round(sum(lats) / len(lats), 5),
                lon=round(sum(lons) / len(lons), 5),
                places=tuple(p for p in places if p),
                bundesland=states.most_common(1)[0][0] if states else None,
                landkreis=kreise.most_common(1)[0][0] if kreise else None,
            )

        # name index: base key -> [(exact?, qualifier, group)]
        self._names: dict[str, list[tuple[bool, str, _Group]]] = defaultdict(list)
        for group in groups.values():
            if not group.name:
                continue
            base, qualifier = _place_key(group.name)
            self._names[base].append((True, qualifier, group))
            short = _ALIAS_SPLIT_RE.split(base, maxsplit=1)[0].strip()
            if short and short != base:
                self._names[short].append((False, qualifier, group))

    def __len__(self) -> int:
        return len(self._plz)

    def __contains__(self, plz: object) -> bool:
        return isinstance(plz, str) and plz in self._plz

    def lookup(self, plz: str | None) -> PlzInfo | None:
        """Return the entry for a 5-digit PLZ, or ``None`` if unknown."""
        if not plz:
            return None
        return self._plz.get(plz)

    def plz_matches_city(self, plz: str, city: str) -> bool:
        """True if ``city`` names one of the places of ``plz`` (qualifiers ignored)."""
        info = self._plz.get(plz)
        if info is None:
            return False
        want, _ = _place_key(city)
        if not want:
            return False
        for place in info.places:
            have, _ = _place_key(place)
            if have == want or have.startswith(want + " ") or want.startswith(have + " "):
                return True
            # merged municipalities: "Pockau-Lengefeld" vs the gazetteer's "Lengefeld"
            if have in want.split("-") or want in have.split("-"):
                return True
        return False

    def geocode_city(self, city: str | None, bundesland: str | None = None) -> CityMatch | None:
        """Resolve a place name without PLZ; see the module docstring for the rules."""
        if not city:
            return None
        base, qualifier = _place_key(city)
        if not base:
            return None
        entries = self._names.get(base)
        if not entries:
            # "Weiden in der Oberpfalz": the name before "in der", the rest as qualifier
            head, *rest = _ALIAS_SPLIT_RE.split(base, maxsplit=1)
            if rest and self._names.get(head.strip()):
                entries = self._names[head.strip()]
                qualifier = (qualifier + " " + rest[0]).strip()
        if not entries:
            # "Leipzig-Grünau", "Berlin Mitte": try the part before the district
            head = re.split(r"[-,/]| ot ", base, maxsplit=1)[0].strip()
            if head and head != base:
                entries = self._names.get(head)
        if not entries:
            return None
        # an exact, unqualified name beats qualified names and "X am Y" aliases
        exact = [e for e in entries if e[0] and (e[1] == qualifier or not e[1])]
        groups = exact or list(entries)
        if qualifier:
            q_words = [w for w in qualifier.split() if len(w) >= 3]
            narrowed = [
                e
                for e in groups
                if e[1] == qualifier
                or any(
                    w in (e[2].bundesland or "").casefold()
                    or w in (e[2].landkreis or "").casefold()
                    for w in q_words
                )
            ]
            if not narrowed:
                # "Ostenfeld (Husum)": the qualifier is a nearby place; keep the candidates
                # in a Kreis where a place of that name lies
                kreise = {e[2].landkreis for e in self._names.get(qualifier, []) if e[0]}
                narrowed = [e for e in groups if e[2].landkreis and e[2].landkreis in kreise]
            if narrowed:
                groups = narrowed
        state = normalize_bundesland(bundesland)
        if state:
            in_state = [e for e in groups if e[2].bundesland == state]
            if in_state:
                groups = in_state

        def rank(entry: tuple[bool, str, _Group]) -> tuple[int, bool]:
            group = entry[2]
            seat = _place_key(group.name)[0] in (group.landkreis or "").casefold()
            return len(group.plz), seat

        ranked = sorted(groups, key=rank, reverse=True)
        if len(ranked) > 1 and rank(ranked[0]) == rank(ranked[1]):
            return None
        group = ranked[0][2]
        return CityMatch(
            name=group.name,
            lat=round(sum(group.lats) / len(group.lats), 5),
            lon=round(sum(group.lons) / len(group.lons), 5),
            bundesland=group.bundesland,
            landkreis=group.landkreis,
            plz_count=len(group.plz),
        )


def read_gazetteer(path: str) -> Gazetteer:
    """Build a gazetteer from a GeoNames-style CSV file at ``path``."""
    with open(path, encoding="utf-8", newline="") as handle:
        return Gazetteer(csv.DictReader(handle))


@functools.lru_cache(maxsize=1)
def load_gazetteer() -> Gazetteer:
    """Load the shipped PLZ table once per process (cached)."""
    source = resources.files("normalize").joinpath("data", "plz.csv")
    with source.open("r", encoding="utf-8", newline="") as handle:
        return Gazetteer(csv.DictReader(handle))


# --- PLZ repair -----------------------------------------------------------------------------

_PLZ_PREFIX_RE = re.compile(r"^\s*(?:DE?\s*-\s*|DE\s+)", re.IGNORECASE)


def repair_plz(
    raw: str | None, city: str | None = None, gazetteer: Gazetteer | None = None
) -> str | None:
    """Return a valid 5-digit German PLZ or ``None``.

    Accepts "04103", " 04103 ", "D-04103", "04103 Leipzig". A 4-digit value gets its lost
    leading zero back ("2708" -> "02708"); with a gazetteer the result must exist and, when
    ``city`` is given, belong to that city. Other lengths (foreign codes such as
    "1939613663") give ``None``; with a gazetteer, 5-digit codes that do not exist give
    ``None`` too (e.g. "10000" Zagreb).
    """
    if raw is None:
        return None
    text = _PLZ_PREFIX_RE.sub("", str(raw))
    match = re.match(r"^\s*(\d+)(?:\s|$|[,;])", text)
    if not match:
        return None
    digits = match.group(1)
    if len(digits) == 5:
        if gazetteer is not None and digits not in gazetteer:
            return None
        return digits
    if len(digits) == 4:
        candidate = "0" + digits
        if gazetteer is None:
            return candidate
        if candidate not in gazetteer:
            return None
        if city and not gazetteer.plz_matches_city(candidate, city):
            return None
        return candidate
    return None


# --- WKT, distance --------------------------------------------------------------------------

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_WKT_RE = re.compile(
    rf"^\s*(?:SRID=\d+\s*;\s*)?POINT\s*(?:Z\s*)?\(\s*({_NUM})\s+({_NUM})(?:\s+{_NUM})?\s*\)\s*$",
    re.IGNORECASE,
)


def parse_wkt_point(text: str | None) -> tuple[float, float] | None:
    """Parse "Point(lon lat)" into ``(lat, lon)``; ``None`` if malformed or out of range."""
    if not text:
        return None
    match = _WKT_RE.match(str(text))
    if not match:
        return None
    lon, lat = float(match.group(1)), float(match.group(2))
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return None
    return lat, lon


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres (mean Earth radius 6371.0088 km)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


# --- addresses ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Address:
    """Parts of a free-text address; missing parts are ``None``."""

    street: str | None = None
    house_number: str | None = None
    plz: str | None = None
    city: str | None = None


_HOUSE_NO = r"\d{1,4}\s?[a-zA-Z]?(?:\s?[-–/+]\s?\d{1,4}\s?[a-zA-Z]?)?"
_STREET_RE = re.compile(rf"^(?P<street>.*?\D)\s*(?P<no>{_HOUSE_NO})$")
_PLZ_CITY_RE = re.compile(r"^(?:D-\s*)?(?P<plz>\d{5})\s+(?P<city>\D.*)$")
_INLINE_RE = re.compile(
    rf"^(?P<street>.*?\D)\s+(?P<no>{_HOUSE_NO})\s+(?P<plz>\d{{5}})\s+(?P<city>\D.*)$"
)


def split_address(text: str | None) -> Address:
    """Split a free-text address into street, house number, PLZ and city.

    Handles "Leipzig, Peterssteinweg 18", "Peterssteinweg 18, 04107 Leipzig",
    "Peterssteinweg 18 04107 Leipzig" and "Karl-Marx-Straße 32-34"; never raises.
    """
    if not text:
        return Address()
    text = " ".join(str(text).split())
    inline = _INLINE_RE.match(text)
    if inline and "," not in text:
        return Address(
            inline.group("street").strip(" ,"),
            inline.group("no").replace(" ", ""),
            inline.group("plz"),
            inline.group("city").strip(" ,"),
        )
    street = number = plz = city = None
    leftovers: list[str] = []
    for part in (p.strip() for p in re.split(r"[,;\n]", text)):
        if not part:
            continue
        pc = _PLZ_CITY_RE.match(part)
        if pc and plz is None:
            plz, city = pc.group("plz"), pc.group("city").strip()
            continue
        if re.fullmatch(r"\d{5}", part) and plz is None:
            plz = part
            continue
        st = _STREET_RE.match(part)
        if st and street is None and re.search(r"[A-Za-zÄÖÜäöüß]", st.group("street")):
            street, number = st.group("street").strip(), st.group("no").replace(" ", "")
            continue
        leftovers.append(part)
    for part in leftovers:
        if city is None and not re.search(r"\d", part):
            city = part
        elif street is None:
            street = part
    return Address(street, number, plz, city)
