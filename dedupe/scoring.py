"""Pairwise similarity of two offers: per-field similarities, a weighted score, a decision.

Each field similarity is in [0, 1] or ``None`` when either side lacks the field; missing
fields are left out of the weighted mean (they neither help nor hurt). Three *gates* then
cap the score below the match threshold, because a weighted mean alone would let
agreement on provider and place outvote a different title:

* title gate: titles not similar enough → not the same offer, however much else agrees.
  Titles that differ in a variant marker ("Junior", a year) or where each has a word
  the other lacks ("FerienUni-Herbst" / "FerienUni-Sommer") count as similarity 0.5,
  below the gate;
* provider gate: both providers known and different → not the same offer ("Guter
  Studienstart" at RWTH Aachen and at FH Aachen);
* place gate: both places known and far apart → not the same offer.

The rule this encodes: same provider and a similar title in the same place is a match;
one provider's different offers in one town ("Mathecamp" / "Schülerzirkel") are not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from rapidfuzz import fuzz, process, utils
from rapidfuzz.distance import OSA

from dedupe.keys import (
    GENERIC_TITLE_WORDS,
    LISTING_WORDS,
    SUBJECT_TITLE_WORDS,
    city_matches,
    stem,
    variants_conflict,
)
from dedupe.model import NameWords, Prepared

__all__ = [
    "MATCH_THRESHOLD",
    "WEIGHTS",
    "Comparison",
    "Decision",
    "compare",
    "compound_match",
    "date_similarity",
    "decide",
    "distance_km",
    "name_similarity",
    "place_similarity",
    "audience_similarity",
    "quick_score",
    "titles_contrast",
    "title_candidates",
]

Decision = Literal["match", "no_match"]

#: Weight of each field in the score; fields missing on either side are not counted.
WEIGHTS: dict[str, float] = {
    "title": 0.40,
    "provider": 0.20,
    "place": 0.20,
    "url": 0.15,
    "website": 0.10,
    "dates": 0.10,
    "subjects": 0.05,
    "formats": 0.05,
    "audience": 0.05,
}
#: Score at or above which two offers are the same offer.
MATCH_THRESHOLD = 0.75
#: Titles below this similarity never match.
TITLE_GATE = 0.6
#: Providers below this similarity never match.
PROVIDER_GATE = 0.5
#: Value a gate caps the score at (below `MATCH_THRESHOLD`).
GATE_CAP = 0.6
#: Distance up to which two coordinates are the same place, and where similarity hits 0.
NEAR_KM, FAR_KM = 1.0, 25.0
#: Audiences below this similarity never match.
AUDIENCE_GATE = 0.5

_PROCESS = utils.default_process


@dataclass(slots=True)
class Comparison:
    """Outcome of comparing two prepared offers."""

    similarities: dict[str, float | None]
    raw_score: float
    score: float
    gates: list[str] = field(default_factory=list)

    @property
    def decision(self) -> Decision:
        """`decide` applied to the (gated) score."""
        return decide(self.score)


def decide(score: float) -> Decision:
    """``"match"`` when *score* reaches `MATCH_THRESHOLD`, else ``"no_match"``."""
    return "match" if score >= MATCH_THRESHOLD else "no_match"


def name_similarity(
    a: Sequence[str], b: Sequence[str], generic: frozenset[str] = GENERIC_TITLE_WORDS
) -> float | None:
    """Similarity of two token sequences (titles or provider names) in [0, 1].

    * Sharing a specific (not *generic*) word: rapidfuzz's ``token_set_ratio`` — word
      order and extra words on one side do not matter ("Uni Halle" ⊂ "Uni Halle Institut
      für Informatik", "SummerBYTE & BioBYTE" ~ "SUMMERBYTE – Schnupperwoche …").
    * Sharing only generic words ("Robotik-Workshop" / "Chemie-Workshop"): the share of
      all characters that sit in shared words, so most of both names must agree.
    * Sharing no word: only spelling variants count ("Mathecamp" / "Mathe-Camp"): the
      character ratio of the words written together, rescaled so that chance overlap of
      different words ("mathematik" / "informatik", ratio 0.5) scores 0.
    """
    return _words_similarity(NameWords.of(a, generic), NameWords.of(b, generic))


def _generic_overlap(a: NameWords, b: NameWords, shared: frozenset[str]) -> float:
    union = a.words | b.words
    return sum(map(len, shared)) / sum(map(len, union))


def _words_similarity(a: NameWords | None, b: NameWords | None) -> float | None:
    if a is None or b is None:
        return None
    shared = a.words & b.words
    if shared & a.specific or _share_misspelt(a, b):
        return fuzz.token_set_ratio(a.spaced, b.spaced) / 100.0
    if shared:
        return _generic_overlap(a, b, shared)
    ratio = fuzz.ratio(a.compact, b.compact) / 100.0
    return max(0.0, (ratio - 0.5) * 2.0)


#: Two words this long or longer with this character ratio count as the same word
#: ("Lehrerfortbildung" / "Lehrerfortbildungen"); shorter words must be equal, or, from
#: `TYPO_MIN_LENGTH` letters on, differ by one typo (one letter added, dropped, changed
#: or two swapped: "Knobelafgaben", "Pilez").
SAME_WORD_MIN_LENGTH, SAME_WORD_RATIO = 7, 88.0
TYPO_MIN_LENGTH = 4


@lru_cache(maxsize=1 << 18)
def same_word(word: str, other: str) -> bool:
    """Whether two (folded, stemmed) words are the same word up to a typo or an ending."""
    if word == other:
        return True
    lw, lo = len(word), len(other)
    if lw < TYPO_MIN_LENGTH or lo < TYPO_MIN_LENGTH or word.isdigit() or other.isdigit():
        return False
    diff = lw - lo
    if -1 <= diff <= 1 and OSA.distance(word, other, score_cutoff=1) <= 1:
        return True
    # A typo plus an ending the light stemmer took off one side only ("juunge" → "juung"
    # / "junge", "anfassenn" → "anfassen" / "anfass"): two edits, same first letter.
    if (
        lw >= TYPO_MIN_LENGTH + 1
        and lo >= TYPO_MIN_LENGTH + 1
        and -2 <= diff <= 2
        and word[0] == other[0]
        and OSA.distance(word, other, score_cutoff=2) <= 2
    ):
        return True
    return (
        lw >= SAME_WORD_MIN_LENGTH
        and lo >= SAME_WORD_MIN_LENGTH
        and abs(diff) <= (lw + lo) * (1.0 - SAME_WORD_RATIO / 100.0)
        and bool(fuzz.ratio(word, other, processor=None, score_cutoff=SAME_WORD_RATIO))
    )


def _share_misspelt(a: NameWords, b: NameWords) -> bool:
    """Whether a specific word of *a* is a misspelling of a word of *b*."""
    for word in a.specific - b.words:
        if len(word) >= TYPO_MIN_LENGTH and any(same_word(word, other) for other in b.words):
            return True
    return False


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def place_similarity(a: Prepared, b: Prepared) -> float | None:
    """1 for the same PLZ or town (or coordinates within `NEAR_KM`); 0 for two different
    named towns (a programme run in Felsberg and in Gudensberg is two offers, however close
    the towns); otherwise falling to 0 with distance. ``None`` when the two offers share
    no kind of place information."""
    if a.plz and b.plz and a.plz == b.plz:
        return 1.0
    geo: float | None = None
    if a.lat is not None and b.lat is not None and a.lon is not None and b.lon is not None:
        d = distance_km(a.lat, a.lon, b.lat, b.lon)
        geo = min(1.0, max(0.0, 1.0 - (d - NEAR_KM) / (FAR_KM - NEAR_KM)))
    if a.city and b.city:
        return 1.0 if city_matches(a.city, b.city) or geo == 1.0 else 0.0
    candidates: list[float] = []
    if a.plz and b.plz:
        candidates.append(0.5 if a.plz[:2] == b.plz[:2] else 0.0)
    if geo is not None:
        candidates.append(geo)
    return max(candidates) if candidates else None


def date_similarity(a: Prepared, b: Prepared) -> float | None:
    """1 when the date ranges overlap, decaying to 0 over 60 days apart; ``None`` if either
    offer has no start date."""
    if a.start is None or b.start is None:
        return None
    a_end, b_end = a.end or a.start, b.end or b.start
    gap = max((b.start - a_end).days, (a.start - b_end).days, 0)
    return max(0.0, 1.0 - gap / 60.0)


def _provider_similarity(a: Prepared, b: Prepared) -> float | None:
    """`name_similarity` of the provider names; 1 when one name is the other's acronym
    ("HTWK" / "Hochschule für Technik, Wirtschaft und Kultur")."""
    sim = _words_similarity(a.provider_words, b.provider_words)
    if sim is not None and sim < 1.0 and a.provider_words and b.provider_words:
        if (a.provider_acronym and a.provider_acronym in b.provider_words.words) or (
            b.provider_acronym and b.provider_acronym in a.provider_words.words
        ):
            return 1.0
    return sim


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float | None:
    if not a or not b:
        return None
    return len(a & b) / len(a | b)


def _overlap(a: frozenset[str], b: frozenset[str]) -> float | None:
    """Overlap coefficient: shared items over the smaller set's size."""
    if not a or not b:
        return None
    return len(a & b) / min(len(a), len(b))


def _ranges_overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def audience_similarity(a: Prepared, b: Prepared) -> float | None:
    """Whom the offers are for, in [0, 1]; ``None`` when not comparable.

    The lowest of: grade ranges (1 if they overlap, else 0), audience groups, and for two
    records of the *same* platform the audience wording (``token_set_ratio``; a platform
    describes one offer's audience the same way each time it lists it, while two
    platforms word it differently). Groups are compared by Jaccard within a platform and
    across platforms by overlap with the shorter list: each platform names some of the
    groups an offer is for (the brochure "pupils and parents", the 2016 list "pupils and
    teachers" for the IHK's Tecnopedia), so a group only one side names is no
    disagreement, while groups that do not meet are. A tour for primary pupils and the
    same tour for apprentices are two offers.
    """
    sims: list[float] = []
    if a.grades and b.grades:
        sims.append(1.0 if _ranges_overlap(a.grades, b.grades) else 0.0)
    same_platform = a.source_id == b.source_id
    groups = _jaccard(a.groups, b.groups) if same_platform else _overlap(a.groups, b.groups)
    if groups is not None:
        sims.append(groups)
    if same_platform and a.audience and b.audience:
        sims.append(fuzz.token_set_ratio(a.audience, b.audience, processor=_PROCESS) / 100.0)
    return min(sims) if sims else None


def _url_similarity(a: Prepared, b: Prepared) -> float | None:
    """1 for the same offer page (host and a non-empty path); otherwise not counted: every
    platform links its own detail page, so different URLs say nothing."""
    if a.url and b.url and a.url == b.url and "/" in a.url:
        return 1.0
    return None


def _website_similarity(a: Prepared, b: Prepared) -> float | None:
    """1 for the same page, 0.8 for the same host (same organisation), else 0.2."""
    if not a.website or not b.website:
        return None
    if a.website == b.website:
        return 1.0
    return 0.8 if a.website_host == b.website_host else 0.2


def title_candidates(a: NameWords, others: Sequence[NameWords | None]) -> list[int]:
    """Positions in *others* whose title similarity to *a* passes the title gate.

    Batch form of `name_similarity`: two rapidfuzz ``process.extract`` screens in C over
    all partners (``token_set_ratio`` of the words, for titles sharing a word or a
    misspelt one; the character ratio of the words written together, for spelling
    variants such as "Mathecamp" / "Mathe-Camp"), then the exact similarity only for the
    pairs that passed a screen, so most pairs of a block are ruled out without a
    Python-level comparison each.
    """
    positions = [p for p, other in enumerate(others) if other is not None]
    if not positions:
        return []
    present = [others[p] for p in positions]
    hits: set[int] = set()
    for query, attr, scorer, cutoff in (
        (a.spaced, "spaced", fuzz.token_set_ratio, TITLE_GATE),
        (a.compact, "compact", fuzz.ratio, 0.5 + TITLE_GATE / 2.0),
    ):
        found = process.extract(
            query,
            [getattr(o, attr) for o in present],
            scorer=scorer,
            processor=None,  # name words are normalised already
            score_cutoff=cutoff * 100.0 - 1e-9,
            limit=None,
        )
        hits.update(positions[index] for _, _, index in found)
    passed = []
    for position in sorted(hits):
        sim = _words_similarity(a, others[position])
        if sim is not None and sim >= TITLE_GATE:
            passed.append(position)
    return passed


_SUBJECT_STEMS = frozenset(stem(w) for w in SUBJECT_TITLE_WORDS)
_LISTING_STEMS = frozenset(stem(w) for w in LISTING_WORDS)


#: Shortest word that counts as a part of a German compound (`compound_match`).
COMPOUND_PART_MIN = 4


@lru_cache(maxsize=1 << 16)
def _compound_parts(word: str, parts: frozenset[str]) -> frozenset[str]:
    """The two words of *parts* that *word* is written together from, with or without a
    linking "s" ("ausstellungsbesuch" → ausstellung, besuch); empty if there are none."""
    n = len(word)
    for cut in range(COMPOUND_PART_MIN, n - COMPOUND_PART_MIN + 1):
        head, tail = word[:cut], word[cut:]
        if tail in parts:
            if head in parts:
                return frozenset((head, tail))
            if head.endswith("s") and head[:-1] in parts:
                return frozenset((head[:-1], tail))
    return frozenset()


def compound_match(word: str, own: frozenset[str], others: frozenset[str]) -> bool:
    """Whether *word* of a title whose words are *own* is matched by the other title's
    words *others* through a German compound, both parts present on both sides: *word*
    is two words of *others* written together ("ausstellungsbesuch" / "besuch der
    ausstellung"), or a word of *others* is *word* written together with another word of
    *own* ("besuch" / "ausstellungsbesuch" when the first title also has "ausstellung").
    A compound whose other part only one title has stays a different word:
    "Wirtschaftsinformatik" is not "Informatik". Parts have at least `COMPOUND_PART_MIN`
    letters."""
    n = len(word)
    if n < COMPOUND_PART_MIN:
        return False
    for other in others:
        m = len(other)
        if m > n + COMPOUND_PART_MIN:
            if word in other and word in _compound_parts(other, own):
                return True
        elif COMPOUND_PART_MIN <= m <= n - COMPOUND_PART_MIN and word.endswith(other):
            head = word[: n - m]
            if head in others or (head.endswith("s") and head[:-1] in others):
                return True
    return False


def _unmatched(words: frozenset[str], own: frozenset[str], others: frozenset[str]) -> bool:
    """Whether some word of *words* (taken from a title whose words are *own*) has no
    equal or near-equal word in *others*, nor is compounded from or into them
    (`compound_match`)."""
    return any(
        word not in others
        and not any(same_word(word, other) for other in others)
        and not compound_match(word, own, others)
        for word in words
    )


def titles_contrast(a: Prepared, b: Prepared) -> bool:
    """Whether *each* title has a word the other lacks.

    "WHZ FerienUni-Herbst" / "WHZ FerienUni-Sommer", "Lebensraum Wald" / "Lebensraum
    Wiese", "Mentoring für Schülerinnen" / "Team-Mentoring": the words that differ are
    what tells the offers apart. When only one side has extra words it is the same offer
    described at more length. Words that match up to a typo (`same_word`) are equal.
    Words that do not count: listing words a platform adds ("Ferienangebot: …", see
    `dedupe.keys.LISTING_WORDS`), and a word that names the *other* offer's provider or
    town (or the provider's acronym: "HTWK" for "Hochschule für Technik, Wirtschaft und
    Kultur"): "Ferienhochschule der HTWK" / "Ferienhochschule. Schnupperstudium in den
    Ferien" is one offer. A word that *both* records' provider or town contain still
    counts ("Studentin auf Probe am Standort Elsfleth" / "… Oldenburg" by the "Jade
    Hochschule Wilhelmshaven Oldenburg Elsfleth").
    """
    if a.title_words is None or b.title_words is None:
        return False
    a_words, b_words = a.title_words.words, b.title_words.words
    a_extra = a_words - b_words - (b.context - a.context) - _LISTING_STEMS
    b_extra = b_words - a_words - (a.context - b.context) - _LISTING_STEMS
    return _unmatched(a_extra, a_words, b_words) and _unmatched(b_extra, b_words, a_words)


def title_adds_subject(a: Prepared, b: Prepared) -> bool:
    """Whether one title names a subject the other lacks: "SchnupperUni" / "Schnupperuni
    Informatik für Schülerinnen", "Schülerlabore der RWTH" / "Schülerlabor Informatik der
    RWTH": the longer title is a narrower offer of the same provider, not the same one.

    Subjects a title lists in parentheses, two or more of them, do not count: "Erneuerbare
    Energie (Physik/Chemie/Biologie)" notes the school subjects the lab day serves, it is
    not a narrower offer than "Erneuerbare Energie" (two such notes that differ still
    make the titles contrast, see `titles_contrast`; one subject in parentheses still
    counts: "Schnupperstudium (Informatik)")."""
    if a.title_words is None or b.title_words is None:
        return False
    a_words, b_words = a.title_words.words, b.title_words.words
    a_extra = a_words - b_words - (b.context - a.context) - a.title_notes
    b_extra = b_words - a_words - (a.context - b.context) - b.title_notes
    return bool(
        (a_extra & _SUBJECT_STEMS and _unmatched(a_extra & _SUBJECT_STEMS, a_words, b_words))
        or (b_extra & _SUBJECT_STEMS and _unmatched(b_extra & _SUBJECT_STEMS, b_words, a_words))
    )


def _variants_misspelt(a: Prepared, b: Prepared) -> bool:
    """Whether every variant word that only one title has is a misspelling of a word of
    the other title ("für Mädchen" / "für Mdächen"); numbers must still agree."""
    words_a, words_b = a.title.split(), b.title.split()
    only_a = {t for t in a.title_variants - b.title_variants if not t.isdigit()}
    only_b = {t for t in b.title_variants - a.title_variants if not t.isdigit()}
    if any(t.isdigit() for t in a.title_variants ^ b.title_variants):
        return False
    return all(any(same_word(t, w) for w in words_b) for t in only_a) and all(
        any(same_word(t, w) for w in words_a) for t in only_b
    )


@lru_cache(maxsize=1 << 14)
def _town_words(city_a: str, city_b: str) -> frozenset[str]:
    """Stemmed words of two town names."""
    return frozenset(stem(t) for t in f"{city_a} {city_b}".split())


def _share_only_town(a: NameWords, b: NameWords, city_a: str, city_b: str) -> bool:
    """Whether the only specific word two titles share is the name of a town they are in:
    "MINT Paderborn" (a regional network) / "Goerdeler-Gymnasium Paderborn" (a school)
    share the place, not the offer, so the titles are compared as if the town were a
    generic word (`name_similarity`: most of both titles must agree; the variant,
    contrast and subject rules still apply when they do)."""
    towns = _town_words(city_a, city_b)
    if a.words.isdisjoint(towns):  # the common case: no town in the title
        return False
    shared = a.words & b.words
    if shared.isdisjoint(towns) or (shared & (a.specific | b.specific)) - towns:
        return False
    return not _share_misspelt(a, b)


def _title_similarity(
    a: Prepared, b: Prepared, words: float | None = None
) -> tuple[float | None, str | None]:
    """Title similarity after the variant and contrast rules, and which rule applied;
    *words* is the plain similarity of the title words when already known."""
    title = _words_similarity(a.title_words, b.title_words) if words is None else words
    if (
        title is None
        or title <= 0.5
        or a.title_words is None
        or b.title_words is None
        or a.title_words.compact == b.title_words.compact  # "MINT 4 Girls" = "MINT4Girls"
    ):
        return title, None
    if _share_only_town(a.title_words, b.title_words, a.city, b.city):
        shared = a.title_words.words & b.title_words.words
        title = _generic_overlap(a.title_words, b.title_words, shared)
        if title <= 0.5:
            return title, None
    if variants_conflict(a.title_variants, b.title_variants) and not _variants_misspelt(a, b):
        return 0.5, "variant"
    if _one_typo_apart(a.title_words.compact, b.title_words.compact):
        return title, None
    if titles_contrast(a, b):
        return 0.5, "contrast"
    if title_adds_subject(a, b):
        return 0.5, "subject"
    return title, None


#: Length from which two titles written together may differ by one typo and still be
#: the same words ("Computer-Führung" / "Compute-rFührung").
COMPACT_TYPO_LENGTH = 10


def _one_typo_apart(a: str, b: str) -> bool:
    """Whether two long titles written together differ by one typo ("Computer-Führung" /
    "Compute-rFührung"): then the contrast and subject rules do not apply (the variant
    rule still does: "Mathecamp 2019" / "Mathecamp 2020")."""
    if min(len(a), len(b)) < COMPACT_TYPO_LENGTH or abs(len(a) - len(b)) > 1:
        return False
    return OSA.distance(a, b, score_cutoff=1) <= 1


_TITLE_RULES = frozenset({"variant", "contrast", "subject"})


def compare(a: Prepared, b: Prepared) -> Comparison:
    """Compare two prepared offers: per-field similarities, weighted score, gates."""
    return _compare(a, b, _title_similarity(a, b))


def _compare(a: Prepared, b: Prepared, title_result: tuple[float | None, str | None]) -> Comparison:
    title, rule = title_result
    gates: list[str] = [rule] if rule else []
    sims: dict[str, float | None] = {
        "title": title,
        "provider": _provider_similarity(a, b),
        "place": place_similarity(a, b),
        "url": _url_similarity(a, b),
        "website": _website_similarity(a, b),
        "dates": date_similarity(a, b),
        "subjects": _jaccard(a.subjects, b.subjects),
        "formats": _jaccard(a.formats, b.formats),
        "audience": audience_similarity(a, b),
    }
    total = weight = 0.0
    for name, sim in sims.items():
        if sim is not None:
            total += WEIGHTS[name] * sim
            weight += WEIGHTS[name]
    raw = total / weight if weight else 0.0
    if title is None or title < TITLE_GATE:
        gates.append("title")
    provider, place = sims["provider"], sims["place"]
    if provider is not None and provider < PROVIDER_GATE:
        gates.append("provider")
    if place is not None and place == 0.0:
        gates.append("place")
    audience = sims["audience"]
    if audience is not None and audience < AUDIENCE_GATE:
        gates.append("audience")
    # One platform files one offer under the same formats each time it lists it.
    if a.source_id == b.source_id and sims["formats"] == 0.0:
        gates.append("formats")
    score = min(raw, GATE_CAP) if set(gates) - _TITLE_RULES else raw
    return Comparison(similarities=sims, raw_score=raw, score=score, gates=gates)


def quick_score(a: Prepared, b: Prepared, words: float | None = None) -> float:
    """`compare(a, b).score` for pairs that pass the title gate, else 0.0.

    Pairs failing the title gate score at most `GATE_CAP` anyway, which is below every
    clustering threshold, so the other fields need not be computed for them. *words* is
    the plain title-word similarity (`name_similarity`) when the caller has it already.
    """
    title_result = _title_similarity(a, b, words)
    if title_result[0] is None or title_result[0] < TITLE_GATE:
        return 0.0
    return _compare(a, b, title_result).score
