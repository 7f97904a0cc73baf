"""Subject and format vocabularies and the mappers from each source's own labels.

The ids are fixed by ``docs/design.md`` ("Normalized offer"); the German display labels are
``SUBJECT_LABELS`` and ``FORMAT_LABELS``. Results are always in vocabulary order.

Mapping a source label (``map_subjects``/``map_formats``):

1. the label table (``SUBJECT_MAP``/``FORMAT_MAP``), keyed by the casefolded label with a
   leading URI/CURIE and a trailing year removed ("http://leipzig-data.de/Data/Tag/Technik"
   -> "technik", "MINT-Schule.2015" -> "mint-schule");
2. otherwise the keyword rules below, applied to the label itself (this is how free-text
   labels such as Leipzig's ``ld:Art`` "Regionaler Aufgabenwettbewerb" are mapped);
3. otherwise the label is returned as *unmapped*, verbatim, so that the caller can keep and
   count it. Nothing is dropped silently.

Decisions worth knowing (komm-mach-mint "Art des Projekts", 16 options): "Berufsorientierung"
and "Karriereangebote" -> studienorientierung; "Messen" -> veranstaltung; "Treffs" and
"Schulprojekt" -> ag (regular group activity at or around school); "Workshops und Vorträge"
-> workshop and veranstaltung; "Wiedereinstiegsangebote" (career re-entry for adults) has
no format and stays unmapped. MINT Zukunft schaffen awards ("MINT-freundliche Schule",
"Digitale Schule") -> mint_schule; "Digitale Schule" also gives informatik. Leipzig's
"Energie" tag -> technik and umwelt; "Umweltbildung" -> umwelt.

Ganztagsangebot (``gta``, Leipzig's ``ld:GTA`` per focus, ``map_gta``): a "ja" means schools
can book the offer as a Ganztagsangebot, a regular activity at school in the all-day
programme, so it gives ag, in addition to the formats from labels or text. "nein" and the
conditional answers ("nach Absprache", "ggf.", "optional, nur mit Partner") give nothing;
any other answer is returned unmapped. The place-level tag "GTA" (the place offers some
Ganztagsangebote) is less specific and stays an unmapped tag.

``subjects_from_text``/``formats_from_text`` run the keyword rules on free text; the record
normalizer uses them only when a source gives no usable labels.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

__all__ = [
    "FORMAT_LABELS",
    "FORMAT_MAP",
    "SUBJECT_LABELS",
    "SUBJECT_MAP",
    "formats_from_text",
    "label_key",
    "map_formats",
    "map_gta",
    "map_subjects",
    "subjects_from_text",
]

SUBJECT_LABELS: dict[str, str] = {
    "mathematik": "Mathematik",
    "informatik": "Informatik",
    "naturwissenschaften": "Naturwissenschaften",
    "biologie": "Biologie",
    "chemie": "Chemie",
    "physik": "Physik",
    "geowissenschaften": "Geowissenschaften",
    "umwelt": "Umwelt",
    "astronomie": "Astronomie",
    "technik": "Technik",
}

FORMAT_LABELS: dict[str, str] = {
    "schuelerlabor": "Schülerlabor",
    "workshop": "Workshop/Kurs",
    "ag": "AG",
    "ferien": "Ferienangebot/Camp",
    "wettbewerb": "Wettbewerb",
    "studienorientierung": "Studienorientierung/Schnupperstudium",
    "praktikum": "Praktikum",
    "mentoring": "Mentoring",
    "museum": "Museum/Ausstellung",
    "veranstaltung": "Veranstaltung",
    "mint_schule": "MINT-freundliche Schule",
    "netzwerk": "Netzwerk/Initiative",
    "stipendium": "Stipendium",
    "online": "Online-Angebot",
    "information": "Informationsangebot",
}

_SUBJECT_ORDER = {sid: i for i, sid in enumerate(SUBJECT_LABELS)}
_FORMAT_ORDER = {fid: i for i, fid in enumerate(FORMAT_LABELS)}


def label_key(label: str) -> str:
    """Normalize a source label for table lookup (casefold, no URI prefix, no year)."""
    text = unicodedata.normalize("NFC", str(label)).strip()
    text = re.sub(r"^(?:https?://\S*[/#]|[a-zA-Z][\w-]*:(?!//))", "", text)
    text = re.sub(r"[._ ](?:19|20)\d\d$", "", text)
    text = " ".join(text.split()).casefold()
    return text.strip(" .,;:")


SUBJECT_MAP: dict[str, tuple[str, ...]] = {
    # own labels of every vocabulary term
    **{label_key(label): (sid,) for sid, label in SUBJECT_LABELS.items()},
    # komm-mach-mint MINT-Bereich classes / Leipzig tags
    "mathe": ("mathematik",),
    "naturwissenschaft": ("naturwissenschaften",),
    "umweltbildung": ("umwelt",),
    "energie": ("technik", "umwelt"),
    "geographie": ("geowissenschaften",),
    "geografie": ("geowissenschaften",),
    "geologie": ("geowissenschaften",),
    "biology": ("biologie",),
    "chemistry": ("chemie",),
    "physics": ("physik",),
    "mathematics": ("mathematik",),
    "computer science": ("informatik",),
    "engineering": ("technik",),
    "robotik": ("technik", "informatik"),
    "digitale schule": ("informatik",),
    "digitale-schule": ("informatik",),
}

FORMAT_MAP: dict[str, tuple[str, ...]] = {
    **{label_key(label): (fid,) for fid, label in FORMAT_LABELS.items()},
    # komm-mach-mint "Art des Projekts" (select name=project_type, 16 options)
    "ausstellungen": ("museum",),
    "berufsorientierung": ("studienorientierung",),
    "ferienangebote und camps": ("ferien",),
    "informationsangebote": ("information",),
    "karriereangebote": ("studienorientierung",),
    "mentoring": ("mentoring",),
    "messen": ("veranstaltung",),
    "netzwerke": ("netzwerk",),
    "schüler/innenlabore und werkstätten": ("schuelerlabor",),
    "schulprojekt": ("ag",),
    "stipendien": ("stipendium",),
    "studienorientierung": ("studienorientierung",),
    "treffs": ("ag",),
    "wettbewerbe": ("wettbewerb",),
    "workshops und vorträge": ("workshop", "veranstaltung"),
    # MINT Zukunft schaffen awards, Leipzig school tags
    "mint-freundliche schule": ("mint_schule",),
    "digitale schule": ("mint_schule",),
    "digitale-schule": ("mint_schule",),
    "mint-schule": ("mint_schule",),
    "mint-ec-schule": ("mint_schule",),
    # short forms
    "schülerlabor": ("schuelerlabor",),
    "schuelerlabor": ("schuelerlabor",),
    "workshop": ("workshop",),
    "kurs": ("workshop",),
    "ferienangebot": ("ferien",),
    "camp": ("ferien",),
    "wettbewerb": ("wettbewerb",),
    "praktikum": ("praktikum",),
    "museum": ("museum",),
    "ausstellung": ("museum",),
    "veranstaltung": ("veranstaltung",),
    "netzwerk": ("netzwerk",),
    "initiative": ("netzwerk",),
    "stipendium": ("stipendium",),
    "online": ("online",),
    "online-angebot": ("online",),
    "informationsangebot": ("information",),
}

# keyword rules on casefolded text: (pattern, ids)
_SUBJECT_RULES: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (re.compile(r"mathe|rechenk|geometrie|stochastik"), ("mathematik",)),
    (
        re.compile(
            r"informatik|programmier|coding|\bcode\b|software|\bki\b|künstliche intelligenz"
            r"|digital|computer|hacker|app-entwicklung|\bit-"
        ),
        ("informatik",),
    ),
    (re.compile(r"robotik|roboter"), ("technik", "informatik")),
    (re.compile(r"naturwissenschaft|experimentier|experimente\b"), ("naturwissenschaften",)),
    (
        re.compile(r"biolog|botani|zoolog|\bzoo|pflanzen|genetik|ökologie|ökologisch|tierwelt"),
        ("biologie",),
    ),
    (re.compile(r"chemi"), ("chemie",)),
    (re.compile(r"physik|\boptik|mechanik\b|elektrizität"), ("physik",)),
    (
        re.compile(r"geowissenschaft|geolog|geograph|geograf|mineral|meteorolog"),
        ("geowissenschaften",),
    ),
    (
        re.compile(r"umwelt|nachhaltig|klimaschutz|klimawandel|naturschutz|energiewende"),
        ("umwelt",),
    ),
    (re.compile(r"astronom|sternwarte|planetari|weltraum|raumfahrt|\bsterne\b"), ("astronomie",)),
    (
        re.compile(
            r"technik|technisch|technolog|ingenieur|elektro|mechatron|maschinenbau"
            r"|\bmint\b.*werkstatt|werkstätte"
        ),
        ("technik",),
    ),
]

_FORMAT_RULES: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (
        re.compile(r"schülerlabor|schuelerlabor|schüler/innenlabor|lernlabor|schülerwerkstatt"),
        ("schuelerlabor",),
    ),
    (
        re.compile(r"workshop|\bkurs|seminar|fortbildung|weiterbildung|lehrgang|schulung"),
        ("workshop",),
    ),
    (
        re.compile(
            r"arbeitsgemeinschaft|(?:-|\b(?:eine|die|der|als|in|unsere|zur|keine)\s+)ags?\b"
            r"|zirkel|\bclub\b|\bklub\b|\btreff\b"
        ),
        ("ag",),
    ),
    (
        re.compile(
            r"ferien|camps?\b|sommerschule|herbstschule|winterschule"
            r"|herbst- und winterschule"
        ),
        ("ferien",),
    ),
    (re.compile(r"wettbewerb|olympiade|\bcontest|challenge|jugend forscht"), ("wettbewerb",)),
    (
        re.compile(
            r"studienorientierung|schnupperstudium|berufsorientierung|studieninhalte"
            r"|kinderuni|kinder-uni|ferienuni|schnupperuni|karriere"
        ),
        ("studienorientierung",),
    ),
    (re.compile(r"praktik(?:um|a)\b|praktikums"), ("praktikum",)),
    (re.compile(r"mentoring|mentor(?:in|en|innen)?\b"), ("mentoring",)),
    (re.compile(r"museum|ausstellung|exponat|science center|planetarium"), ("museum",)),
    (
        re.compile(
            r"veranstaltung|vortrag|vorträge|\bmesse\b|messebesuch|tag der offenen"
            r"|führung|exkursion|stadtrallye|kindergeburtstag|festival|lange nacht"
        ),
        ("veranstaltung",),
    ),
    (re.compile(r"mint-freundliche schule|digitale schule|mint-schule|mint-ec"), ("mint_schule",)),
    (re.compile(r"netzwerk|\binitiative\b|bündnis|\bverbund\b|cluster"), ("netzwerk",)),
    (re.compile(r"stipendi"), ("stipendium",)),
    (
        re.compile(r"\bonline|webinar|e-learning|internetportal|technik-portal|\bportal\b"),
        ("online",),
    ),
    (
        re.compile(r"informationsangebot|\bberatung|informationsmaterial|\bportal\b|broschüre"),
        ("information",),
    ),
]


def _scan(text: str, rules: list[tuple[re.Pattern[str], tuple[str, ...]]]) -> set[str]:
    key = unicodedata.normalize("NFC", text).casefold()
    found: set[str] = set()
    for pattern, ids in rules:
        if pattern.search(key):
            found.update(ids)
    return found


def subjects_from_text(text: str | None) -> list[str]:
    """Subject ids whose keywords occur in free text (fallback when a source has no labels)."""
    if not text:
        return []
    return sorted(_scan(str(text), _SUBJECT_RULES), key=_SUBJECT_ORDER.__getitem__)


def formats_from_text(text: str | None) -> list[str]:
    """Format ids whose keywords occur in free text (fallback when a source has no labels)."""
    if not text:
        return []
    return sorted(_scan(str(text), _FORMAT_RULES), key=_FORMAT_ORDER.__getitem__)


def _map(
    labels: Iterable[str] | str | None,
    table: dict[str, tuple[str, ...]],
    rules: list[tuple[re.Pattern[str], tuple[str, ...]]],
    order: dict[str, int],
) -> tuple[list[str], list[str]]:
    if labels is None:
        return [], []
    if isinstance(labels, str):
        labels = [labels]
    ids: set[str] = set()
    unmapped: list[str] = []
    for label in labels:
        if label is None:
            continue
        raw = " ".join(str(label).split())
        if not raw:
            continue
        key = label_key(raw)
        hit: set[str] = set(table.get(key, ()))
        if not hit and key:
            hit = _scan(key, rules)
        if hit:
            ids.update(hit)
        elif raw not in unmapped:
            unmapped.append(raw)
    return sorted(ids, key=order.__getitem__), unmapped


def map_subjects(labels: Iterable[str] | str | None) -> tuple[list[str], list[str]]:
    """Map a source's subject labels to ``(subject ids, unmapped labels)``."""
    return _map(labels, SUBJECT_MAP, _SUBJECT_RULES, _SUBJECT_ORDER)


def map_formats(labels: Iterable[str] | str | None) -> tuple[list[str], list[str]]:
    """Map a source's format/type labels to ``(format ids, unmapped labels)``."""
    return _map(labels, FORMAT_MAP, _FORMAT_RULES, _FORMAT_ORDER)


_GTA_YES_RE = re.compile(r"\bja\b|^nur gta$")
_GTA_NO_RE = re.compile(
    r"^(?:nein\b|nach absprache$|ggf\.?$|gegebenenfalls$|optional\b|auf anfrage$)"
)


def map_gta(value: str | None) -> tuple[list[str], list[str]]:
    """Map a Ganztagsangebot answer to ``(format ids, unmapped)``: "ja" -> ``["ag"]``."""
    text = " ".join((value or "").split())
    key = text.casefold()
    if not key:
        return [], []
    if _GTA_NO_RE.search(key):
        return [], []
    if _GTA_YES_RE.search(key):
        return ["ag"], []
    return [], [text]
