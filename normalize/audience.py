"""Target groups: ages, school grades, group vocabulary and the girls flag.

``parse_audience(text)`` reads German target-group text such as "Schülergruppen ab Klasse 5,
Erwachsenengruppen", "Mädchen der 10. bis 12. Klasse" or "Kinder ab 5 Jahre".

Rules:

- Ages only where the text states ages ("5-10 Jahre", "ab 8", "bis 14", "zw. 8 und 12",
  "10- bis 16-Jährige", "im Alter von 10 bis 16 Jahren"); grades only where it states grades
  ("Klasse 5 - 12", "ab Klassenstufe 9", "9. bis 12. Klasse", "1.-4. Klasse"). Several
  statements are combined as a union: the lowest lower bound, and the highest upper bound
  unless a statement is open beyond every stated upper bound ("10 bis 16 Jahren sowie
  Erwachsene ab 18 Jahre" -> 10, None); an "ab" and a "bis" that bracket each other are one
  range ("Kindergarten (ab 4 Jahre) bis Grundschule (7 Jahre)" -> 4, 7). A bare "ab 8",
  "bis 14" or "9. bis 12." counts only when it is the whole text.
- Numbers are never invented: "Kinder" or "Grundschule" give groups, not ages or grades.
  Ages given for children stay the audience's ages when parents come along.
- ``groups`` is a closed vocabulary (``GROUPS``), in that order. Naming grades implies
  ``schueler``. "Gymnasium" and "weiterführende Schule(n)" give ``sek1`` and ``sek2``;
  "Hort" (after-school care for primary pupils) gives ``grundschule``; "Vorschule" gives
  ``kita``; "Eltern" give ``familien``; "Erzieher", "Multiplikatoren" give ``paedagogen``;
  "Lehrlinge", "Berufsbildung", "BSZ" give ``auszubildende``.
- ``girls`` is true only for offers addressed to girls or women specifically (Mädchen,
  Schülerinnen, Frauen, weibliche Studierende) and not also to boys: gender-inclusive forms
  ("Schüler/-innen", "Schülerinnen und Schüler") do not set it.

Named school stages, used consistently by ``stage_grades``/``effective_grades`` (which
derive a grade range for filtering; the parsed ``grade_min``/``grade_max`` stay ``None``):

- ``grundschule`` = grades 1-4. Berlin and Brandenburg have a six-year Grundschule
  (grades 1-6); ``stage_grades("grundschule", bundesland)`` returns 1-6 there.
- ``sek1`` (Sekundarstufe I: Oberschule, Mittelschule, Realschule, lower Gymnasium) = 5-10
  (7-10 in Berlin/Brandenburg).
- ``sek2`` (Sekundarstufe II: gymnasiale Oberstufe, berufliches Gymnasium) = 11-13 (11-12
  where the Abitur is taken after 12 years; 13 is used as the safe upper end).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

__all__ = ["Audience", "GROUPS", "effective_grades", "parse_audience", "stage_grades"]

GROUPS: tuple[str, ...] = (
    "kita",
    "grundschule",
    "sek1",
    "sek2",
    "schueler",
    "jugendliche",
    "kinder",
    "familien",
    "erwachsene",
    "senioren",
    "lehrkraefte",
    "paedagogen",
    "studierende",
    "auszubildende",
    "alle",
)
_GROUP_ORDER = {g: i for i, g in enumerate(GROUPS)}
# longer input is cut: real target-group texts are far shorter, and it bounds the work
MAX_CHARS = 2000


@dataclass(frozen=True, slots=True)
class Audience:
    """Parsed target group; every number is ``None`` unless the text states it."""

    age_min: int | None = None
    age_max: int | None = None
    grade_min: int | None = None
    grade_max: int | None = None
    groups: list[str] = field(default_factory=list)
    girls: bool = False


# --- groups ---------------------------------------------------------------------------------

_GROUP_RULES: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (
        re.compile(
            r"\bkita|kindergarten|kindergärten|vorschul|\bvor-\s*und\s*grund|elementar"
            r"|frühkindlich|\(vor-\)\s*schül"
        ),
        ("kita",),
    ),
    (
        re.compile(r"grundschul|grundschül|grundschlule|\bgrund-\s*(?:,|und|/)|primarstufe|\bhort"),
        ("grundschule",),
    ),
    (
        re.compile(
            r"oberschul|mittelschul|realschul|hauptschul|\bober-\s*(?:,|und)"
            r"|\bmittel-\s*(?:,|und)|\bsek\w*\.?\s*i\b(?!i)"
        ),
        ("sek1",),
    ),
    (
        re.compile(
            r"\bsek\w*\.?\s*ii\b|\bsek\w*\.?\s*i\s*(?:und|/|bis|-)\s*ii\b"
            r"|\bab\s+sek\w*\.?\s*i\b|oberstufe|\bbsz\b|\bbgy\b|abitur"
        ),
        ("sek2",),
    ),
    (re.compile(r"gymnasi|weiterführende"), ("sek1", "sek2")),
    (
        re.compile(r"schüler|schueler|schulklasse|schulen\b|^alle schul(?:arten|typen|formen)"),
        ("schueler",),
    ),
    (re.compile(r"jugendlich|teenager|junge menschen|kinder-\s*und\s*jugend"), ("jugendliche",)),
    (re.compile(r"kinder\b|\bkind\b|kindern\b"), ("kinder",)),
    (re.compile(r"famili|eltern"), ("familien",)),
    (re.compile(r"erwachsene|berufstätig|akademiker|berufseinsteiger"), ("erwachsene",)),
    (re.compile(r"senior"), ("senioren",)),
    (re.compile(r"lehrer|lehrkräft|lehrkraeft|lehrerfortbildung"), ("lehrkraefte",)),
    (
        re.compile(r"pädagog|paedagog|erzieher|multiplikator|kindergärtner|fachkräfte"),
        ("paedagogen",),
    ),
    (re.compile(r"student|studierend"), ("studierende",)),
    (
        re.compile(
            r"auszubildend|azubi|lehrling|berufsbildung|berufsschul|ausbildungsstätte|\bbsz\b"
        ),
        ("auszubildende",),
    ),
    (
        re.compile(
            r"^alle$|^alles möglich$|jede altersgruppe|alle alters-?\s*und\s*zielgruppen"
            r"|^alle altersgruppen|generationsübergreifend"
            r"|breite öffentlichkeit|interessent\S*\s+aller\s+altersstufen"
        ),
        ("alle",),
    ),
]

# --- girls ----------------------------------------------------------------------------------

_INCLUSIVE_RE = re.compile(r"\s*(?:/\s*-?\s*|\*|:|_)innen\b|\(innen\)|(?<=[a-zäöü])innen\b(?=\s*/)")
_FEMALE_RE = re.compile(
    r"mädchen|maedchen|\bfrauen\b|weiblich|\b(?:schüler|student|gymnasiast|teilnehmer)innen\b"
    r"|\bstudentinnen\b"
)
_MALE_RE = re.compile(
    r"\bjungen\b|\bjungs\b|männer|männlich|\bschüler\b|\bstudenten\b"
    r"|\bgymnasiasten\b|\bteilnehmer\b"
)


def _is_for_girls(text: str) -> bool:
    text = re.sub(r"(?<=[a-zäöüß])Innen\b", "", text)  # "SchülerInnen" is inclusive
    low = text.casefold()
    low = _INCLUSIVE_RE.sub("", low)
    if not _FEMALE_RE.search(low):
        return False
    return not _MALE_RE.search(low)


# --- numbers --------------------------------------------------------------------------------

_DASH = r"\s*(?:-|–|—|bis|/)\s*"
_AGE_WORD = r"(?:lebens)?jahr(?:e|en)?\b|j\.(?=\W|$)|-?\s*jährig\w*"
_GRADE_WORD = r"(?:klassen?stufen?|klassen?|jahrgangsstufen?|jahrgänge|jahrgang|kl\.)"
_N = r"(\d{1,2})"

_AGE_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # 10- bis 16-Jährige, 5-10 Jahre, im Alter von 10 bis 16 Jahren
    (re.compile(rf"{_N}\s*-?{_DASH}{_N}\s*(?:{_AGE_WORD})"), "range"),
    (re.compile(rf"(?:zwischen|zw\.)\s*{_N}\s*und\s*{_N}(?:\s*(?:{_AGE_WORD}))?"), "range"),
    (re.compile(rf"\bab\s*{_N}\s*(?:{_AGE_WORD})"), "from"),
    (re.compile(rf"\b(?:bis|unter)\s*{_N}\s*(?:{_AGE_WORD})"), "to"),
    (re.compile(rf"\bab\s*(?:dem\s*)?alter\s*(?:von\s*)?{_N}\b"), "from"),
    (re.compile(rf"{_N}\s*\+\s*(?:{_AGE_WORD})?"), "from"),
    (re.compile(rf"\bbis\b[^,;\d]{{0,60}}?\(\s*{_N}\s*(?:{_AGE_WORD})\s*\)"), "to"),
    # a single age; not a duration ("seit 5 Jahren", "vor 10 Jahren", "alle 2 Jahre")
    (re.compile(rf"(?<![\d.])(?<!seit )(?<!vor )(?<!alle )\b{_N}\s*(?:{_AGE_WORD})"), "point"),
]
_BARE_AGE_RE = re.compile(r"^\s*(ab|bis)\s*(\d{1,2})\s*$")
_BARE_GRADE_RE = re.compile(r"^\s*(\d{1,2})\.\s*(?:-|bis)\s*(\d{1,2})\.\s*$")
# educators named after their workplace: "Kita- und Hort-Erzieher" are not a kita audience
_WORKPLACE_RE = re.compile(
    r"\b(?:kita|hort|kindergarten)-\s*(?:und\s*(?:kita|hort|kindergarten)-\s*)?"
    r"(?=erzieher|pädagog|fachkr)"
)
_STAGE_ORDER = ("kita", "grundschule", "sek1", "sek2")
_STAGE_TERMS = (
    (r"kindergarten\w*|kita\w*|vorschul\w*", "kita"),
    (r"primarstufe|grundschul\w*", "grundschule"),
    (r"sek\w*\.?\s*ii\b", "sek2"),
    (r"sek\w*\.?\s*i\b", "sek1"),
)
_STAGE_ALT = "|".join(f"(?:{t})" for t, _ in _STAGE_TERMS)
_STAGE_RANGE_RE = re.compile(rf"({_STAGE_ALT})\s+bis\s+(?:zur\s+|schule\s+)?({_STAGE_ALT})")


def _stage_of(term: str) -> str | None:
    for pattern, stage in _STAGE_TERMS:
        if re.fullmatch(pattern, term):
            return stage
    return None


def _stage_range_groups(low: str) -> set[str]:
    """Fill stages between "Primarstufe bis Sekundarstufe II" and similar."""
    found: set[str] = set()
    for match in _STAGE_RANGE_RE.finditer(low):
        first, last = _stage_of(match.group(1)), _stage_of(match.group(2))
        if first and last:
            i, j = _STAGE_ORDER.index(first), _STAGE_ORDER.index(last)
            found.update(_STAGE_ORDER[min(i, j) : max(i, j) + 1])
    return found


_GRADE_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Klasse(n)/Klassenstufe (der) 5 - 12, Klassen 9. bis 12., Klassenstufe (1) 2 - 4
    (
        re.compile(
            rf"{_GRADE_WORD}\s*(?:der\s*|von\s*)?(?:\(\s*(\d{{1,2}})\s*\)\s*)?{_N}\.?"
            rf"(?:{_DASH}|\s*und\s*){_N}\.?(?!\d)(?!\s*(?:{_AGE_WORD}))"
        ),
        "range3",
    ),
    # 1.-4. Klasse, 6. bis 9. Klasse, 3. /4. Klasse, 10. und 12. (13.) Klasse
    (
        re.compile(
            rf"(?<!ab ){_N}\.(?:{_DASH}|\s*und\s*|\s*oder\s*){_N}\.\s*(?:\(\s*{_N}\.?\s*\)\s*)?"
            rf"{_GRADE_WORD}"
        ),
        "range_pre",
    ),
    (re.compile(rf"\bab\s*(?:der\s*)?{_GRADE_WORD}\s*{_N}\b"), "from"),
    (re.compile(rf"\bab\s*(?:der\s*)?{_N}\.\s*(?:/\s*\d{{1,2}}\.\s*)?{_GRADE_WORD}"), "from"),
    (re.compile(rf"\b(?:bis|unter)\s*(?:zur\s*)?{_GRADE_WORD}\s*{_N}\b"), "to"),
    (re.compile(rf"\b(?:bis|unter)\s*(?:zur\s*)?{_N}\.\s*{_GRADE_WORD}"), "to"),
    (re.compile(rf"(?:^|[\s(,;:])(?:der\s*)?{_N}\.\s*{_GRADE_WORD}"), "point"),
    (re.compile(rf"{_GRADE_WORD}\s*{_N}\b(?!\s*\.\s*\d)"), "point"),
]


def _spans_overlap(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in taken)


def _collect(
    text: str, patterns: list[tuple[re.Pattern[str], str]], low: int, high: int
) -> tuple[int | None, int | None]:
    bounds: list[tuple[int | None, int | None]] = []
    taken: list[tuple[int, int]] = []
    for pattern, kind in patterns:
        for match in pattern.finditer(text):
            if _spans_overlap(match.span(), taken):
                continue
            nums = [int(g) for g in match.groups() if g is not None]
            if not nums or any(n < low or n > high for n in nums):
                continue
            if kind in ("range", "range3", "range_pre"):
                lo, hi = min(nums), max(nums)
            elif kind == "from":
                lo, hi = nums[0], None
            elif kind == "to":
                lo, hi = None, nums[0]
            else:
                lo = hi = nums[0]
            taken.append(match.span())
            bounds.append((lo, hi))
    if not bounds:
        return None, None
    lows = [b[0] for b in bounds if b[0] is not None]
    highs = [b[1] for b in bounds if b[1] is not None]
    # "ab 4 Jahre ... bis (7 Jahre)" is one range; "10-16 ... sowie Erwachsene ab 18" is open
    open_top = any(
        b[1] is None and not any(h >= b[0] for h in highs) for b in bounds if b[0] is not None
    )
    open_bottom = any(
        b[0] is None and not any(lo <= b[1] for lo in lows) for b in bounds if b[1] is not None
    )
    lo_val = None if open_bottom or not lows else min(lows)
    hi_val = None if open_top or not highs else max(highs)
    if lo_val is not None and hi_val is not None and hi_val < lo_val:
        return lo_val, None
    return lo_val, hi_val


def _prepare(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\u2013", "-").replace("\u2014", "-").replace("\u2011", "-")
    return " ".join(text.split())


def parse_audience(text: str | list[str] | None) -> Audience:
    """Parse a German target-group text (or list of labels) into an ``Audience``.

    Never raises; unknown text gives an empty ``Audience``.
    """
    if text is None:
        return Audience()
    if isinstance(text, (list, tuple)):
        text = ", ".join(str(t) for t in text if t)
    original = _prepare(str(text)[:MAX_CHARS])
    low = original.casefold()
    if not low:
        return Audience()

    bare = _BARE_AGE_RE.match(low)
    if bare:
        value = int(bare.group(2))
        age_min, age_max = (value, None) if bare.group(1) == "ab" else (None, value)
    else:
        age_min, age_max = _collect(low, _AGE_PATTERNS, 0, 99)
    # ages must not be read as grades and vice versa: blank out age phrases for grades
    grade_text = low
    for pattern, _ in _AGE_PATTERNS:
        grade_text = pattern.sub(lambda m: " " * len(m.group(0)), grade_text)
    bare_grade = _BARE_GRADE_RE.match(low)
    if bare_grade:
        nums = sorted(int(g) for g in bare_grade.groups())
        grade_min, grade_max = (
            (nums[0], nums[1]) if 1 <= nums[0] and nums[1] <= 13 else (None, None)
        )
    else:
        grade_min, grade_max = _collect(grade_text, _GRADE_PATTERNS, 1, 13)

    group_text = _WORKPLACE_RE.sub("", low)
    groups: set[str] = _stage_range_groups(group_text)
    for pattern, ids in _GROUP_RULES:
        if pattern.search(group_text):
            groups.update(ids)
    if grade_min is not None or grade_max is not None:
        groups.add("schueler")
    return Audience(
        age_min=age_min,
        age_max=age_max,
        grade_min=grade_min,
        grade_max=grade_max,
        groups=sorted(groups, key=_GROUP_ORDER.__getitem__),
        girls=_is_for_girls(original),
    )


_SIX_YEAR_PRIMARY = {"Berlin", "Brandenburg"}


def stage_grades(group: str, bundesland: str | None = None) -> tuple[int, int] | None:
    """Grade range of a named school stage (see the module docstring), else ``None``."""
    six = bundesland in _SIX_YEAR_PRIMARY
    if group == "grundschule":
        return (1, 6) if six else (1, 4)
    if group == "sek1":
        return (7, 10) if six else (5, 10)
    if group == "sek2":
        return (11, 13)
    return None


def effective_grades(
    audience: Audience, bundesland: str | None = None
) -> tuple[int | None, int | None]:
    """Stated grades, else the range implied by named stages (for filters, not display)."""
    if audience.grade_min is not None or audience.grade_max is not None:
        return audience.grade_min, audience.grade_max
    ranges = [r for g in audience.groups if (r := stage_grades(g, bundesland))]
    if not ranges:
        return None, None
    return min(r[0] for r in ranges), max(r[1] for r in ranges)
