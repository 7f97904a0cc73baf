"""German-aware normalisation of names, titles, places and URLs for comparison.

Everything here is pure string processing. The functions return *comparison keys*, not
display values: lower case, umlauts folded (``ä`` → ``ae``, ``ß`` → ``ss``), punctuation
turned into spaces, legal forms and listing noise removed.

>>> normalize_provider("HANDS on TECHNOLOGY e. V.")
'hands on technology'
>>> normalize_city("Halle (Saale)"), normalize_city("Frankfurt a.M.")
('halle', 'frankfurt')
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from urllib.parse import urlsplit

__all__ = [
    "GENERIC_PROVIDER_WORDS",
    "GENERIC_TITLE_WORDS",
    "LISTING_WORDS",
    "STOPWORDS",
    "SUBJECT_TITLE_WORDS",
    "VARIANT_TOKENS",
    "city_matches",
    "fold",
    "normalize_city",
    "normalize_plz",
    "normalize_provider",
    "normalize_title",
    "normalize_url",
    "stem",
    "content_tokens",
    "variant_tokens",
    "variants_conflict",
]

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ẞ": "ss"})
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_SPACES = re.compile(r"\s+")

#: Function words that carry no identity in German offer titles and provider names.
STOPWORDS: frozenset[str] = frozenset(
    """
    der die das den dem des ein eine einer eines einem einen und oder fuer mit von vom zu zum
    zur im in am an auf bei aus fuer ueber unter the of and for at a an to
    """.split()
)

#: Tokens that mark a *variant* of an offer ("FIRST LEGO League" vs "… Junior"): two titles
#: that differ in one of these are different offers however similar the rest is.
VARIANT_TOKENS: frozenset[str] = frozenset(
    """
    junior juniors senior seniors kids teens teen mini maxi plus pro profi profis advanced
    basic basics einsteiger anfaenger fortgeschrittene fortgeschritten grundschule grundschueler
    oberstufe unterstufe mittelstufe sek sekundarstufe primarstufe teil level stufe girls boys
    maedchen jungen ii iii iv vi vii viii ix
    """.split()
)

#: Words that many different offers share ("Robotik-Workshop" / "Chemie-Workshop"): a
#: title match resting on these alone needs most of both titles to agree.
GENERIC_TITLE_WORDS: frozenset[str] = frozenset(
    """
    workshop workshops camp camps kurs kurse ferien ferienkurs ferienkurse ferienprogramm
    ferienangebot ferienangebote ferienakademie projekt projekte projekttag projekttage
    projektwoche programm programme angebot angebote ag ags arbeitsgemeinschaft labor labore
    schuelerlabor schuelerlabore werkstatt werkstaetten tag tage woche wochen mint stem
    mathematik mathe informatik physik chemie biologie technik naturwissenschaft
    naturwissenschaften umwelt umweltbildung forschen forscher forscherinnen experimente
    experimentieren schule schulen schueler schuelerinnen kinder jugendliche jugend lehrer
    lehrerinnen lehrkraefte fortbildung fortbildungen vortrag vortraege fuehrung fuehrungen
    exkursion exkursionen museum online digital digitale club wettbewerb akademie uni
    hochschule studium schnupperstudium kinderuni klasse klassen ausstellung kurs seminar
    seminare schnuppertag schnupperwoche girls day zukunftstag
    """.split()
)
#: Words a platform adds to describe the listing, not the offer ("Ferienangebot: …",
#: "MINT: …"): they never tell two offers apart.
LISTING_WORDS: frozenset[str] = frozenset(
    "angebot angebote ferienangebot ferienangebote mint neu new tipp aktuell".split()
)
#: Subject words: a title that adds one the other lacks names a narrower offer
#: ("Schnupperuni" / "Schnupperuni Informatik für Schülerinnen").
SUBJECT_TITLE_WORDS: frozenset[str] = frozenset(
    """
    mathematik mathe informatik physik chemie biologie robotik elektrotechnik elektronik
    maschinenbau mechatronik astronomie geografie geographie geologie oekologie botanik
    zoologie mikrotechnologie nanotechnologie biotechnologie programmieren bionik
    """.split()
)
#: The same for organiser names ("Gymnasium …", "Institut für …").
GENERIC_PROVIDER_WORDS: frozenset[str] = frozenset(
    """
    uni hochschule fh tu th haw institut institute fakultaet fachbereich lehrstuhl verein
    stiftung zentrum gymnasium schule oberschule grundschule gesamtschule realschule
    gesellschaft verband museum akademie deutscher deutsche deutsches kv landesverband
    stadt amt bildung bildungszentrum netzwerk initiative foerderverein freunde
    kammer ingenieurkammer handwerkskammer ihk industrie handelskammer landkreis kreis
    volkshochschule vhs
    """.split()
)

# Legal forms, matched on folded text *before* punctuation is removed (so "e. V." and
# "e.V." both match). Order matters: longer forms first.
_LEGAL_FORMS = re.compile(
    r"""
    \b(?:
        gemeinnuetzige\s+gmbh | gemeinnuetziger?\s+(?:e\.?\s?v\.?|verein)
      | ug\s*\(haftungsbeschraenkt\) | gmbh\s*&\s*co\.?\s*kg | co\.?\s*kg
      | ggmbh | gmbh | mbh | gug | ggbr | gbr | kdoer | aoer | ag\b(?=\s*$) | kg\b(?=\s*$)
      | e\.\s?v\b\.? | ev\b(?=\s*$|\s*[-,(])
    )
    """,
    re.VERBOSE,
)
_PROVIDER_NOISE = re.compile(r"\((?:traeger|geschaeftsstelle)\)")
_INSTITUTION_SYNONYMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\btechnische\s+universitaet\b"), "tu"),
    (re.compile(r"\btechnische\s+hochschule\b"), "th"),
    (re.compile(r"\bfachhochschule\b"), "fh"),
    (re.compile(r"\buniversitaet(?:en)?\b"), "uni"),
    (re.compile(r"\buniversity\b"), "uni"),
    (re.compile(r"\bhochschule\s+fuer\s+angewandte\s+wissenschaften\b"), "haw"),
    (re.compile(r"\bhs\b"), "hochschule"),
    (re.compile(r"\bgym\b\.?"), "gymnasium"),
)

# Listing noise in titles: status markers and link texts that crawlers sometimes pick up.
_TITLE_NOISE = re.compile(
    r"""
    \((?:ausgebucht|abgesagt|entfaellt|verschoben|neu|new|online|warteliste|restplaetze)\)
  | \b(?:ausgebucht|abgesagt|entfaellt|projektbeschreibung|mehr\s+erfahren|weiterlesen)\b
  | \b(?:warteliste|jetzt\s+anmelden|anmeldung\s+offen|restplaetze)\b
  | ^\s*(?:neu|new)\b\s*[:!-]?
  | \b(?:neu|new)\s*[:!]
  | \bneu\s*$
    """,
    re.VERBOSE,
)

# City qualifiers: "Frankfurt a.M.", "Halle (Saale)", "Halle/Saale", "Freiburg i. Br.",
# "Brandenburg an der Havel".
_CITY_ABBREVIATIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\ba\.\s*m\.?(?=\s|$|\))"), " am main"),
    (re.compile(r"\ba\.\s*d\.\s*"), " an der "),
    (re.compile(r"\bi\.\s*br\.?"), " im breisgau"),
    (re.compile(r"\bi\.\s*"), " im "),
    (re.compile(r"\bb\.\s*"), " bei "),
    (re.compile(r"\bst\.\s*"), "sankt "),
)
_CITY_QUALIFIER = re.compile(
    r"\s*(?:\((?P<paren>[^)]*)\)|/(?P<slash>.*)|\s(?:am|an\s+der|an\s+dem|im|in|ob\s+der|bei)\s(?P<prep>.*))"
)
# Bases whose qualifier tells two different places apart; the value is the qualifier that
# is assumed when none is given (dropped from the key), ``None`` when there is no default.
_AMBIGUOUS_CITIES: dict[str, str | None] = {
    "frankfurt": "main",
    "halle": "saale",
    "offenbach": "main",
    "freiburg": "breisgau",
    "muehlheim": None,
    "muelheim": "ruhr",
    "neustadt": None,
    "weiden": None,
    "rheinfelden": None,
    "marktredwitz": None,
}
_CITY_QUALIFIER_ALIASES = {"westf": "westfalen", "m": "main", "br": "breisgau", "s": "saale"}


def fold(text: str | None) -> str:
    """Casefold, fold German umlauts and ß, strip other accents; keep punctuation.

    >>> fold("Größe Übung Café")
    'groesse uebung cafe'
    """
    if not text:
        return ""
    text = text.casefold().translate(_UMLAUTS)
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def _squash(text: str) -> str:
    """Turn every run of non-alphanumerics into one space and trim."""
    return _NON_ALNUM.sub(" ", text).strip()


def content_tokens(key: str) -> list[str]:
    """Tokens of a normalised key without stopwords (all tokens if nothing else is left)."""
    tokens = key.split()
    kept = [t for t in tokens if t not in STOPWORDS]
    return kept or tokens


_SUFFIXES = (("ungen", "ung"), ("en", ""), ("e", ""), ("n", ""), ("s", ""))


@lru_cache(maxsize=1 << 18)
def stem(word: str) -> str:
    """Light German suffix folding for comparison: plural and inflection endings of words of
    six letters or more ("Lehrerfortbildungen" → "lehrerfortbildung", "Workshops" →
    "workshop", "Schülerlabore" → "schuelerlabor"). Not a linguistic stemmer: it only has
    to map forms of one word onto the same key.

    >>> stem("lehrerfortbildungen"), stem("workshops"), stem("schule"), stem("mint")
    ('lehrerfortbildung', 'workshop', 'schul', 'mint')
    """
    if len(word) < 6 or not word.isalpha():
        return word
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix):
            return word[: -len(suffix)] + replacement
    return word


def variant_tokens(key: str) -> frozenset[str]:
    """Variant markers (see `VARIANT_TOKENS`) and numbers (years, editions) in a key."""
    return frozenset(t for t in key.split() if t in VARIANT_TOKENS or t.isdigit())


def variants_conflict(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether two sets from `variant_tokens` mark different variants.

    Variant words count when only one side has them ("FIRST LEGO League" / "… Junior");
    numbers only when both sides have numbers and they differ ("Mathecamp 2019" /
    "Mathecamp 2020", but not "Mathecamp" / "Mathecamp 2020").
    """
    if a == b:
        return False
    a_words = {t for t in a if not t.isdigit()}
    b_words = {t for t in b if not t.isdigit()}
    if a_words != b_words:
        return True
    a_numbers, b_numbers = a - a_words, b - b_words
    return bool(a_numbers and b_numbers and a_numbers != b_numbers)


@lru_cache(maxsize=1 << 16)
def normalize_title(text: str | None) -> str:
    """Comparison key of an offer title: folded, listing noise removed, punctuation → space.

    >>> normalize_title("NEU: Mathe-Camp (ausgebucht)")
    'mathe camp'
    """
    folded = fold(text).replace("&", " ")
    folded = _TITLE_NOISE.sub(" ", folded)
    return _squash(folded)


@lru_cache(maxsize=1 << 16)
def normalize_provider(text: str | None) -> str:
    """Comparison key of an organiser name: legal forms dropped, universities unified.

    "Stiftung" is kept: it is part of many names ("Telekom Stiftung" is not "Telekom").

    >>> normalize_provider("VDI - GaraGe gemeinnützige GmbH")
    'vdi garage'
    >>> normalize_provider("Technische Universität Dresden") == normalize_provider("TU Dresden")
    True
    """
    folded = fold(text)
    folded = _PROVIDER_NOISE.sub(" ", folded)
    folded = _LEGAL_FORMS.sub(" ", folded)
    for pattern, replacement in _INSTITUTION_SYNONYMS:
        folded = pattern.sub(replacement, folded)
    key = _squash(folded)
    # "Uni" as its own word after squashing ("Uni-Leipzig" → "uni leipzig").
    return key


@lru_cache(maxsize=1 << 16)
def normalize_city(text: str | None) -> str:
    """Comparison key of a town name.

    Qualifiers such as "(Saale)", "a.M.", "/Oder" or "an der Havel" are dropped, except for
    a short list of names shared by distinct towns, where a qualifier other than the
    default one is kept: "Frankfurt a.M." → ``frankfurt``, "Frankfurt (Oder)" →
    ``frankfurt oder``.

    >>> normalize_city("Frankfurt am Main"), normalize_city("Frankfurt (Oder)")
    ('frankfurt', 'frankfurt oder')
    """
    folded = fold(text).strip()
    if not folded:
        return ""
    for pattern, replacement in _CITY_ABBREVIATIONS:
        folded = pattern.sub(replacement, folded)
    folded = _SPACES.sub(" ", folded).strip()
    base, qualifier = folded, ""
    match = _CITY_QUALIFIER.search(folded)
    if match and match.start() > 0:
        base = folded[: match.start()]
        qualifier = match.group("paren") or match.group("slash") or match.group("prep") or ""
    base = _squash(base)
    qualifier_tokens = [
        _CITY_QUALIFIER_ALIASES.get(t, t)
        for t in _squash(qualifier).split()
        if t not in {"am", "an", "der", "dem", "im", "in", "ob", "bei"}
    ]
    qualifier = " ".join(qualifier_tokens)
    if base in _AMBIGUOUS_CITIES and qualifier and qualifier != _AMBIGUOUS_CITIES[base]:
        return f"{base} {qualifier}"
    return base


def city_matches(a: str, b: str) -> bool:
    """Whether two *normalised* city keys name the same place.

    Equal keys match; so does a town and one of its districts written with the town
    first ("berlin" / "berlin adlershof").
    """
    if not a or not b:
        return False
    if a == b:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return long_.startswith(short + " ") and short.split()[0] not in _AMBIGUOUS_CITIES


def normalize_plz(text: str | None) -> str | None:
    """Five-digit German postcode, restoring a lost leading zero ("2708" → "02708").

    >>> normalize_plz("D-04103"), normalize_plz("2708"), normalize_plz("keine Angabe")
    ('04103', '02708', None)
    """
    if not text:
        return None
    digits = re.sub(r"\D", "", str(text))
    if len(digits) == 4:
        digits = "0" + digits
    return digits if len(digits) == 5 else None


_INDEX_PAGE = re.compile(r"/(?:index|home|start)\.(?:html?|php5?|aspx?)$")
# scheme://host/path?query#fragment with a plain ASCII host (no port, user or brackets;
# underscores occur in real host names and urlsplit keeps them as they are).
_SIMPLE_URL = re.compile(
    r"https?://([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+)((?:/[^?#\s]*)?)(?:[?#]\S*)?$"
)


@lru_cache(maxsize=1 << 16)
def normalize_url(text: str | None) -> str | None:
    """Host plus path of a URL, for equality: scheme, ``www.``, query, fragment, case and
    trailing slash ignored. Accepts bare hosts ("www.inspirata.de").

    >>> normalize_url("https://WWW.Inspirata.de/") == normalize_url("www.inspirata.de")
    True
    """
    if not text:
        return None
    text = text.strip()
    if not text or " " in text:
        return None
    simple = _SIMPLE_URL.match(text)
    if simple:  # the common case, without urlsplit (same result as `_split_url`)
        host = simple.group(1).lower().removeprefix("www.")
        path = _INDEX_PAGE.sub("", simple.group(2).rstrip("/"))
        return host + path
    return _split_url(text)


def _split_url(text: str) -> str | None:
    """`normalize_url` of a stripped text without spaces, by urlsplit (any URL)."""
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    host = fold(parts.hostname or "")
    if not host or "." not in host:
        return None
    host = host.removeprefix("www.")
    path = parts.path.rstrip("/")
    path = _INDEX_PAGE.sub("", path)
    return host + path


def url_host(normalised: str | None) -> str | None:
    """Host part of a key from `normalize_url`."""
    if not normalised:
        return None
    return normalised.split("/", 1)[0]
