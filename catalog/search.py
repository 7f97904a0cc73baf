"""German full-text search with facets over the catalogue (tantivy, in-process).

The index is derived from the ``cluster`` table (one :class:`SearchDoc` per catalogue entry)
and replaced atomically; the SQL database stays the record.

Analysis (decided after measuring tantivy-py 0.27): tantivy's own analyzer chain does all
we need, so no Python stemming is involved: ``simple`` tokenizer (splits on every
non-alphanumeric character) -> ``remove_long(40)`` -> ``lowercase`` -> ``ascii_fold`` ->
``split_compound`` -> Snowball ``stemmer("german")``. Compounds are split into parts from
the maintained list ``catalog/data/compound_parts.txt`` when they consist of listed parts
only ("Schülerlabor" -> "schul" "labor", so "Labor" finds it; "Roboterbau" -> "robot"
"bau"). Umlauts fold to the bare vowel (``ä -> a``, ``ö -> o``,
``ü -> u``) and ``ß`` to ``ss`` (``Schüler``/``Schuler`` -> ``schul``,
``Straße``/``Strasse`` -> ``strass``, ``Roboter``/``Robotern`` -> ``robot``). The analyzer
is registered under :data:`ANALYZER` on every open (tantivy does not persist custom
analyzers). Spellings with ``ue``/``ae``/``oe`` ("Schueler") are caught as typos (below).

Queries: user text never reaches tantivy's query parser. It is cut to
:data:`MAX_QUERY_CHARS`, analyzed with the same analyzer into stems (at most
:data:`MAX_TERMS` distinct words) and the query is built from term queries. Every word
must match (AND). Matching costs one term per word wherever possible, because a union of
terms inside an intersection is read in whole windows of 4,096 documents while a single
term is looked up through its skip list; a word matches through

- its stem in ``text`` (all text fields in one field), for a compound all of its parts;
- or, for a word of a synonym group (``catalog/data/synonyms.yaml``), the group token in
  ``syn`` instead: each entry holds the token of every group one of whose members occurs
  in its text (computed at build time; named by the group's members, so an edit of the
  file never makes an older index match the wrong group), so the word and all its
  synonyms are one term;
- for the last word, if the index does not hold it as a whole word (typed half, 3+
  characters), its beginning: ``pre`` holds the beginnings (3..30 characters) of the
  folded words of every field but the description ("Robo" finds "Roboter"); a typed-out
  word gets no prefix (its compounds are found through their parts);
- for a word the index does not hold at all (a typo): a fuzzy term query (distance 1, 6+
  characters) on ``head``, and its correction: the closest word of the index's vocabulary
  (rapidfuzz, optimal string alignment distance <= 1, <= 2 from 6 characters; boosts x0.5).
  The corrected query is returned as ``suggestion`` ("Meinten Sie …?") if it finds
  anything. The vocabulary (folded word -> commonest spelling, document count) is written
  into each generation at build time.

Scoring is separate from matching: the word's match is a constant-score clause and each
score is a should clause nested around it (must match, should score), so tantivy moves
only the match through the candidates and looks the score terms up for the documents it
scores. Scores (BM25) add up: the stem in ``text`` (1), ``head_stems`` (all but the
description, 1) and ``title`` (1.5), so a title word counts 3.5, a topic, provider or place
word 2 and a description word 1; the group token (x0.5, a synonym anywhere); the best
synonym in the title or head fields (x0.8, each synonym with its own rarity) for entries
without the word itself, so the word outranks its synonyms and many synonyms do not add
up; the prefix (constant 1), the correction and the fuzzy match.

Date filters are exclusions (MustNot clauses of the query they restrict, see
``_Excluded``), never a nested "all but" query of their own.

Place: ``geo`` holds each entry's "lat,lon" (4 decimals) once. A radius filter takes the
distinct places inside the bounding box (a terms aggregation over lat/lon range queries),
keeps those within the exact great-circle distance and filters with a term set (cached
per generation and place). Sorting by distance aggregates the matching entries' places,
orders them by distance and fetches only the places covering the requested page.
Dates: ``start_day``/``end_day`` (day numbers) and ``dated``; date filters keep entries
whose range overlaps, the date sort pages through running/upcoming (by start), past
(latest first) and undated entries.

A query with no words left (empty, whitespace, only punctuation or emoji) lists all
documents by title. Filters (facet values, ``free``, ``girls``, ``age``, ``grade``, place
and radius, dates) are constant-score clauses, so they narrow without changing the ranking.
Age and grade: an entry keeps its age range and its grade range; a missing one is derived
from the other (grade = age - 6, i.e. ages a..b -> grades a-6..b-5; grades g..h -> ages
g+5..h+6), and entries without either match every age and grade.

Facets (``subjects``, ``formats``, ``bundesland``, ``platforms``) are counted with
``Searcher.aggregate`` (terms aggregation). Counts are disjunctive: a facet's counts use the
query with every filter except that facet's own selection. Each selected facet is counted
in one aggregation over the query with the other facets' selections; the last of these
also counts the unselected facets and the total under a filter aggregation with its own
selection (``_aggregate_disjunctive``). No aggregation runs over the query without any
selection, the largest set: with the entries stored by Bundesland, a query with a
Bundesland selected reads only that region's blocks. Selection values that cannot be
written as query text (quotes, backslashes, control characters) fall back to one
aggregation per selected facet. Counting needs no scores, so it uses the word query
without its score clauses. A terms aggregation over a multi-valued field costs ~6 ms
per facet (100k offers), over a single-valued field ~0.2 ms. So each facet is also indexed
as one single-valued "combination" value (the sorted values joined by ``\x1f``); the
combinations are counted and summed per value in Python (exact). The multi-valued field
serves the filters, and the exact but slow count if a facet ever has more than
:data:`MAX_COMBINATIONS` combinations. Counting per value with one count query each was
slower (~1 ms per value).

Each generation keeps the counts, the total and the suggestion of the last
:data:`COUNTS_CACHE_SIZE` requests (keyed by words and filters, not page or sort): the next
page of a result list, or a popular request, only fetches its page of hits.

PyStemmer is not needed: tantivy's ``Filter.stemmer("german")`` is the same Snowball
algorithm and runs inside the native analyzer, so index and query analysis cannot drift.

Files: ``index_dir/gen-<n>/`` holds one generation, ``index_dir/CURRENT`` names the live
one (written to a temporary file and swapped in with ``os.replace``). A build keeps the
previous generation for readers that still hold it and removes older ones.

Errors: :class:`IndexNotFoundError` when ``index_dir`` has no index yet. ``search()`` does
not raise for any user input.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import math
import os
import re
import shutil
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import tantivy
import yaml
from rapidfuzz import process
from rapidfuzz.distance import OSA

ANALYZER = "de_stem"
FOLD_ANALYZER = "de_fold"
PREFIX_ANALYZER = "de_prefix"
MAX_QUERY_CHARS = 1000
MAX_TERMS = 16
MAX_FACET_VALUES = 50
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
#: tantivy allocates ``offset + limit`` slots up front: deeper pages are answered empty.
MAX_WINDOW = 10_000
PREFIX_MIN_LEN = 3
FUZZY_MIN_LEN = 6
SNIPPET_CHARS = 200
#: distinct value combinations per facet counted in one pass (see ``_aggregate``)
MAX_COMBINATIONS = 5_000
COMBO_SEP = "\x1f"
#: index writer: one indexing thread (documents are made in Python, one core, and fed to it)
#: with a heap large enough that 1M entries make few segments (each segment is searched on
#: its own; merging many small ones cost most of a large build)
WRITER_THREADS = 1
WRITER_HEAP = 1_500_000_000
#: requests (without page and sort) whose counts and suggestion a generation keeps
COUNTS_CACHE_SIZE = 1024
#: characters a facet value may not contain to be counted in one pass (query syntax)
_UNQUOTABLE = re.compile(r'["\\\x00-\x1f]')
#: words kept in a generation's vocabulary for suggestions (most frequent first)
MAX_VOCABULARY = 50_000
#: distinct places counted for the radius filter and the distance sort
MAX_GEO_KEYS = 100_000
MAX_RADIUS_KM = 1000.0
EARTH_RADIUS_KM = 6371.0088
SORTS = ("relevance", "distance", "date")
#: factor on the field boosts for a synonym of a query word
SYNONYM_BOOST = 0.8
#: factor on the group token of a query word's synonyms (a synonym anywhere in the text)
SYNONYM_TEXT_BOOST = 0.5
#: share of the other synonyms' scores added to the best one
SYNONYM_TIE = 0.1
#: factor on the field boosts for the correction of a word the index does not hold
CORRECTION_BOOST = 0.5
#: age <-> school grade: a child of age ``a`` is in grade ``a - 6`` or ``a - 5``
GRADE_AGE_OFFSET = 6

DATA_DIR = Path(__file__).resolve().parent / "data"
SYNONYMS_FILE = DATA_DIR / "synonyms.yaml"
COMPOUND_PARTS_FILE = DATA_DIR / "compound_parts.txt"
VOCABULARY_FILE = "vocabulary.json"

#: scored text fields -> boost. ``text`` holds every text field (title, topics, provider,
#: place, description), ``head_stems`` all but the description, ``title`` the title, so a
#: word in the title scores in all three (1 + 1 + 1.5), in topics, provider or place in two
#: (2) and in the description in one (1). (Tuned on tests/test_relevance.py.)
SCORE_FIELDS: dict[str, float] = {"text": 1.0, "head_stems": 1.0, "title": 1.5}
#: the field every word is matched in (counts, facets and the hits' candidates)
MATCH_FIELD = "text"
#: the field of synonym group tokens (``g<n>``, one per text field holding a group member)
SYNONYM_FIELD = "syn"
#: the field of word beginnings (folded words outside the description, 3..30 characters)
PREFIX_FIELD = "pre"
PREFIX_MAX_LEN = 30
PREFIX_BOOST = 1.0
FUZZY_BOOST = 0.3

#: facet name -> index field
FACETS: dict[str, str] = {
    "subjects": "f_subjects",
    "formats": "f_formats",
    "bundesland": "f_bundesland",
    "platforms": "f_platforms",
}

CURRENT_FILE = "CURRENT"
GEN_PREFIX = "gen-"
_GEN_RE = re.compile(r"^gen-(\d+)$")


class IndexNotFoundError(FileNotFoundError):
    """``index_dir`` holds no built index yet; build one (``mintsuche rebuild``)."""


class IndexOutdatedError(IndexNotFoundError):
    """The index was built with another schema (an older version); rebuild it."""


# --- data ------------------------------------------------------------------------------------


@dataclass
class SearchDoc:
    """One catalogue entry as the index sees it.

    ``subjects``/``formats`` are vocabulary ids and ``platforms`` source ids (facet values,
    matched exactly); put their display labels and other search words into ``keywords``.
    """

    cluster_id: str
    title: str
    provider: str | None = None
    city: str | None = None
    plz: str | None = None
    bundesland: str | None = None
    subjects: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    platforms: list[str] = field(default_factory=list)
    description: str = ""
    lat: float | None = None
    lon: float | None = None
    age_min: int | None = None
    age_max: int | None = None
    grade_min: int | None = None
    grade_max: int | None = None
    free: bool = False
    girls: bool = False
    keywords: list[str] = field(default_factory=list)
    start: date | None = None
    end: date | None = None


@dataclass
class SearchQuery:
    """A search request. ``page`` is 1-based; ``per_page`` is clamped to 1..100.

    Facet lists select values (OR within a facet, AND between facets); ``free``/``girls``
    filter when not None; ``age`` keeps entries whose age range (or grade range, taken as
    ages grade+5..grade+6) contains it, and entries without any age information; ``grade``
    likewise with the grade range (or the age range, taken as grades age-6..age-5).

    ``near`` (lat, lon) with ``radius_km`` keeps entries within that distance (exact
    great-circle distance of their place); ``date_from``/``date_to`` keep entries with a
    date range overlapping [from, to] and, unless ``dated_only``, entries without dates.
    ``today`` is "now" for the date sort (upcoming and running first, then past, then
    undated); it is passed in, never read from the clock. With ``today`` set, entries whose
    dates all lie before it (past events) drop out unless ``include_past`` or an explicit
    ``date_from`` asks for them; undated entries stay. ``sort`` is ``relevance``,
    ``distance`` (needs ``near``; entries without a place last) or ``date``.
    """

    q: str = ""
    subjects: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    bundesland: list[str] = field(default_factory=list)
    platforms: list[str] = field(default_factory=list)
    free: bool | None = None
    girls: bool | None = None
    age: int | None = None
    grade: int | None = None
    near: tuple[float, float] | None = None
    radius_km: float | None = None
    date_from: date | None = None
    date_to: date | None = None
    dated_only: bool = False
    today: date | None = None
    include_past: bool = False
    sort: str = "relevance"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE


@dataclass
class Hit:
    """One result. ``snippet`` is HTML: escaped text with matches in ``<b>``."""

    cluster_id: str
    score: float
    title: str
    provider: str | None
    city: str | None
    subjects: list[str]
    formats: list[str]
    platforms: list[str]
    snippet: str
    bundesland: str | None = None
    plz: str | None = None
    lat: float | None = None
    lon: float | None = None
    distance_km: float | None = None
    start: date | None = None
    end: date | None = None
    age_min: int | None = None
    age_max: int | None = None
    grade_min: int | None = None
    grade_max: int | None = None
    free: bool = False
    girls: bool = False


@dataclass
class SearchResult:
    """Hits of one page, the total number of matches and the facet counts.

    ``suggestion`` is a corrected query ("Meinten Sie …?") when a word of the query occurs
    in no entry, a close word does (see ``_corrections``) and the corrected query finds
    something.
    """

    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    page: int
    per_page: int
    suggestion: str | None = None


# --- analysis --------------------------------------------------------------------------------


def _read_compound_parts(path: Path = COMPOUND_PARTS_FILE) -> list[str]:
    """Return the word parts compounds are split into (folded, sorted, deduplicated)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return sorted({line.strip() for line in lines if line.strip() and not line.startswith("#")})


COMPOUND_PARTS = _read_compound_parts()


def german_analyzer(parts: Sequence[str] | None = COMPOUND_PARTS) -> tantivy.TextAnalyzer:
    """Return the index/query analyzer: tokenize, fold umlauts and ß, split compounds, stem.

    A word is split only when it is composed entirely of ``parts`` (tantivy's
    ``split_compound``): "Schülerlabor" -> "schul" "labor", "Roboterbau" -> "robot" "bau".
    ``parts=None`` gives the same chain without splitting.
    """
    builder = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
    )
    if parts:
        builder = builder.filter(tantivy.Filter.split_compound(list(parts)))
    return builder.filter(tantivy.Filter.stemmer("german")).build()


def folding_analyzer() -> tantivy.TextAnalyzer:
    """Return the analyzer without stemming (the catch-all field, prefix and fuzzy terms)."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


def prefix_analyzer() -> tantivy.TextAnalyzer:
    """Return the analyzer of :data:`PREFIX_FIELD`: the beginnings (3..30 characters) of one
    folded word."""
    tokenizer = tantivy.Tokenizer.ngram(PREFIX_MIN_LEN, PREFIX_MAX_LEN, prefix_only=True)
    return tantivy.TextAnalyzerBuilder(tokenizer).build()


_STEM = german_analyzer()
_STEM_WHOLE = german_analyzer(None)
_FOLD = folding_analyzer()


@dataclass(frozen=True)
class Word:
    """One query word: its stem (term queries), folded form (prefix, fuzzy, suggestions)
    and, for a compound, the stems of its parts (as the index holds them)."""

    stem: str
    folded: str
    parts: tuple[str, ...] = ()


def _load_synonyms(path: Path = SYNONYMS_FILE) -> dict[str, list[tuple[str, ...]]]:
    """Map a word's stem to the other words of its synonym groups (each as index stems)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    groups = data.get("groups") or []
    out: dict[str, list[tuple[str, ...]]] = {}
    for group in groups:
        members = [str(m) for m in group if str(m).strip()]
        for member in members:
            whole = _STEM_WHOLE.analyze(member)
            if len(whole) != 1:
                continue  # multi-word entries serve only as alternatives
            alternatives = out.setdefault(whole[0], [])
            for other in members:
                stems = tuple(_STEM.analyze(other))
                if stems and other != member and stems not in alternatives:
                    if stems != (whole[0],):
                        alternatives.append(stems)
    return out


SYNONYMS = _load_synonyms()


@dataclass(frozen=True)
class _Groups:
    """Synonym groups as the index holds them: a document whose text contains all stems of
    some member of group ``n`` gets the group's token (:func:`_group_token`) in
    :data:`SYNONYM_FIELD`, so a query word from a group matches through one term instead
    of one per synonym and field.

    A group's token is named by its members, not by its place in the file: after an edit
    of ``synonyms.yaml``, an index built before it (until the next rebuild) still matches
    every unchanged group, and a changed or new group is never taken for another one (its
    words then match through their own stems, see :func:`_text_query`)."""

    #: member -> its stems (as the index analyzer gives them) per group
    members: tuple[tuple[tuple[str, ...], ...], ...]
    #: a query word's stem (whole, unsplit) -> the groups it belongs to
    of_stem: dict[str, tuple[int, ...]]
    #: first stem of a member -> (group, member stems): what to check for a document
    by_first: dict[str, tuple[tuple[int, tuple[str, ...]], ...]]
    #: per group its token's name (:func:`_group_key`)
    keys: tuple[str, ...] = ()

    def of_stems(self, stems: set[str]) -> set[int]:
        """The groups with a member all of whose stems are in ``stems``."""
        found: set[int] = set()
        for stem in stems & self.by_first.keys():
            for group, member in self.by_first[stem]:
                if group not in found and (len(member) == 1 or stems.issuperset(member)):
                    found.add(group)
        return found


def _load_groups(path: Path = SYNONYMS_FILE) -> _Groups:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    members: list[tuple[tuple[str, ...], ...]] = []
    of_stem: dict[str, list[int]] = {}
    by_first: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
    for group in data.get("groups") or []:
        number = len(members)
        stems = []
        for member in (str(m) for m in group if str(m).strip()):
            split = tuple(_STEM.analyze(member))
            if split and split not in stems:
                stems.append(split)
                by_first.setdefault(split[0], []).append((number, split))
            whole = _STEM_WHOLE.analyze(member)
            if len(whole) == 1 and number not in of_stem.setdefault(whole[0], []):
                of_stem[whole[0]].append(number)
        members.append(tuple(stems))
    return _Groups(
        tuple(members),
        {stem: tuple(groups) for stem, groups in of_stem.items()},
        {stem: tuple(pairs) for stem, pairs in by_first.items()},
        tuple(_group_key(stems) for stems in members),
    )


def _group_key(members: Sequence[Sequence[str]]) -> str:
    """A group's name in the index: a digest of its members' stems (order-free)."""
    text = "\n".join(sorted(" ".join(member) for member in members))
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


GROUPS = _load_groups()


def _group_token(group: int) -> str:
    """The token of group number ``group`` of :data:`GROUPS` in :data:`SYNONYM_FIELD`."""
    return f"g{GROUPS.keys[group]}"


def _clean(text: str) -> str:
    """Drop what cannot be encoded as UTF-8 (lone surrogates)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "ignore").decode("utf-8")
    return text


def query_words(text: object) -> list[Word]:
    """Split user text into at most :data:`MAX_TERMS` distinct words (never raises)."""
    if not isinstance(text, str):
        return []
    text = _clean(text[:MAX_QUERY_CHARS])
    words: list[Word] = []
    seen: set[str] = set()
    for fold in _FOLD.analyze(text):
        whole = _STEM_WHOLE.analyze(fold)
        stem = whole[0] if len(whole) == 1 else fold
        if stem in seen:
            continue
        seen.add(stem)
        parts = tuple(_STEM.analyze(fold))
        words.append(Word(stem, fold, parts if len(parts) > 1 else ()))
        if len(words) >= MAX_TERMS:
            break
    return words


def _combo_field(facet_field: str) -> str:
    return f"{facet_field}_combo"


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("cluster_id", stored=True, tokenizer_name="raw")
    # scored: every text field / all but the description / the title (see SCORE_FIELDS)
    sb.add_text_field("text", tokenizer_name=ANALYZER, index_option="freq")
    sb.add_text_field("head_stems", tokenizer_name=ANALYZER, index_option="freq")
    sb.add_text_field("title", tokenizer_name=ANALYZER, index_option="freq")
    # the description is kept for snippets (highlighting needs its analyzer)
    sb.add_text_field("description", stored=True, tokenizer_name=ANALYZER, index_option="basic")
    sb.add_text_field(SYNONYM_FIELD, tokenizer_name="whitespace", index_option="freq")
    sb.add_text_field(PREFIX_FIELD, tokenizer_name=PREFIX_ANALYZER, index_option="basic")
    # folded words: of every field (known words, suggestions), of all but the description
    # (fuzzy terms)
    sb.add_text_field("all", tokenizer_name=FOLD_ANALYZER, index_option="basic")
    sb.add_text_field("head", tokenizer_name=FOLD_ANALYZER, index_option="basic")
    for facet_field in FACETS.values():
        # multi-valued: filters, and exact (slow) counts when combinations overflow
        sb.add_text_field(facet_field, tokenizer_name="raw", fast=True)
        # single-valued: the sorted combination of a document's values, counted fast
        sb.add_text_field(_combo_field(facet_field), tokenizer_name="raw", fast=True)
    sb.add_boolean_field("free", indexed=True, fast=True)
    sb.add_boolean_field("girls", indexed=True, fast=True)
    sb.add_integer_field("age_lo", indexed=True, fast=True)
    sb.add_integer_field("age_hi", indexed=True, fast=True)
    sb.add_integer_field("grade_lo", indexed=True, fast=True)
    sb.add_integer_field("grade_hi", indexed=True, fast=True)
    # place: "lat,lon" rounded to 4 decimals (~10 m), one term per distinct place
    sb.add_text_field("geo", tokenizer_name="raw", fast=True)
    sb.add_float_field("lat", indexed=True, fast=True)
    sb.add_float_field("lon", indexed=True, fast=True)
    sb.add_boolean_field("located", indexed=True, fast=True)
    # dates as day numbers (date.toordinal); absent when the entry has no date
    sb.add_boolean_field("dated", indexed=True, fast=True)
    sb.add_integer_field("start_day", indexed=True, fast=True)
    sb.add_integer_field("end_day", indexed=True, fast=True)
    sb.add_unsigned_field("title_rank", fast=True)
    sb.add_bytes_field("payload", stored=True)
    return sb.build()


SCHEMA = _schema()


def _register(index: tantivy.Index) -> None:
    index.register_tokenizer(ANALYZER, german_analyzer())
    index.register_tokenizer(FOLD_ANALYZER, folding_analyzer())
    index.register_tokenizer(PREFIX_ANALYZER, prefix_analyzer())


def _title_key(title: str) -> tuple[str, str]:
    return (" ".join(_FOLD.analyze(title or "")), title or "")


def _age_bounds(doc: SearchDoc) -> tuple[int, int]:
    lo = doc.age_min if doc.age_min is not None else None
    hi = doc.age_max if doc.age_max is not None else None
    if lo is None and doc.grade_min is not None:
        lo = doc.grade_min + 5
    if hi is None and doc.grade_max is not None:
        hi = doc.grade_max + 6
    return (lo if lo is not None else 0, hi if hi is not None else 200)


def _grade_bounds(doc: SearchDoc) -> tuple[int, int]:
    lo = doc.grade_min
    hi = doc.grade_max
    if lo is None and doc.age_min is not None:
        lo = doc.age_min - GRADE_AGE_OFFSET
    if hi is None and doc.age_max is not None:
        hi = doc.age_max - GRADE_AGE_OFFSET + 1
    return (lo if lo is not None else -100, hi if hi is not None else 200)


def _valid_point(lat: object, lon: object) -> tuple[float, float] | None:
    try:
        lat_f = float(lat)  # type: ignore[arg-type]
        lon_f = float(lon)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    if isinstance(lat, bool) or isinstance(lon, bool):
        return None
    if not (math.isfinite(lat_f) and math.isfinite(lon_f)):
        return None
    if not (-90.0 <= lat_f <= 90.0 and -180.0 <= lon_f <= 180.0):
        return None
    return (lat_f, lon_f)


def _geo_key(lat: float, lon: float) -> str:
    return f"{lat:.4f},{lon:.4f}"


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in km between two (lat, lon) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _dates(doc: SearchDoc) -> tuple[date, date] | None:
    start = doc.start if isinstance(doc.start, date) else None
    end = doc.end if isinstance(doc.end, date) else None
    if start is None and end is None:
        return None
    start = start or end
    end = end or start
    assert start is not None and end is not None
    return (start, end) if start <= end else (end, start)


_WORD_RE = re.compile(r"\w+")


def _vocabulary(docs: Sequence[SearchDoc]) -> dict[str, list[Any]]:
    """Folded words of all text fields -> [most frequent spelling, document count]."""
    documents: Counter[str] = Counter()  # spelling -> number of entries holding it
    for doc in docs:
        texts = (doc.title, *doc.keywords, doc.provider, doc.city, doc.description)
        text = _clean("\n".join(str(t) for t in texts if t))
        documents.update(set(_WORD_RE.findall(text)))
    forms: dict[str, Counter[str]] = {}
    for token, count in documents.items():
        if len(token) < 3 or token.isdigit() or len(token) > 40:
            continue
        folded = _FOLD.analyze(token)
        if len(folded) == 1:
            forms.setdefault(folded[0], Counter())[token] += count
    ranked = sorted(
        ((sum(c.values()), key, c) for key, c in forms.items()), key=lambda t: (-t[0], t[1])
    )[:MAX_VOCABULARY]
    return {
        key: [sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[0][0], total]
        for total, key, c in ranked
    }


#: folded word -> its stems (as the index analyzer gives them); bounded, see ``_word_stems``
_WORD_STEMS: dict[str, tuple[str, ...]] = {}
_WORD_STEMS_SIZE = 500_000


def _word_stems(words: Iterable[str]) -> set[str]:
    """The stems of folded words (what ``_STEM`` makes of a text holding them; folding again
    changes nothing), each word analyzed once per process: a catalogue repeats its words."""
    stems: set[str] = set()
    cache = _WORD_STEMS
    for word in words:
        found = cache.get(word)
        if found is None:
            if len(cache) >= _WORD_STEMS_SIZE:
                cache.clear()
            found = cache[word] = tuple(_STEM.analyze(word))
        stems.update(found)
    return stems


def _to_document(doc: SearchDoc, rank: int) -> tantivy.Document:
    out = tantivy.Document()
    out.add_text("cluster_id", doc.cluster_id)
    head_values = [
        doc.title,
        *doc.subjects,
        *doc.formats,
        *doc.keywords,
        doc.provider,
        doc.city,
        doc.plz,
        doc.bundesland,
    ]
    head = "\n".join(_clean(str(v)) for v in head_values if v)
    description = _clean(str(doc.description or ""))
    text = f"{head}\n{description}" if description else head
    out.add_text("text", text)
    out.add_text("head_stems", head)
    if doc.title:
        out.add_text("title", _clean(str(doc.title)))
    if description:
        out.add_text("description", description)
    out.add_text("all", text)
    out.add_text("head", head)
    head_words = set(_FOLD.analyze(head))
    head_stems = _word_stems(head_words)
    in_head = GROUPS.of_stems(head_stems)
    more_words = set(_FOLD.analyze(description)) - head_words if description else None
    groups = GROUPS.of_stems(head_stems | _word_stems(more_words)) if more_words else in_head
    if groups:  # twice for a member outside the description (see SYNONYM_FIELD)
        tokens = [_group_token(g) for g in sorted(groups | in_head)]
        tokens += [_group_token(g) for g in sorted(in_head)]
        out.add_text(SYNONYM_FIELD, " ".join(tokens))
    for word in head_words:  # the analyzer makes its beginnings
        if len(word) >= PREFIX_MIN_LEN:
            out.add_text(PREFIX_FIELD, word)
    for facet, facet_field in FACETS.items():
        values = getattr(doc, facet)
        if isinstance(values, str):
            values = [values]
        clean = sorted({_clean(str(v)).replace(COMBO_SEP, " ") for v in values or [] if v})
        for value in clean:
            out.add_text(facet_field, value)
        if clean:
            out.add_text(_combo_field(facet_field), COMBO_SEP.join(clean))
    out.add_boolean("free", bool(doc.free))
    out.add_boolean("girls", bool(doc.girls))
    lo, hi = _age_bounds(doc)
    out.add_integer("age_lo", lo)
    out.add_integer("age_hi", hi)
    lo, hi = _grade_bounds(doc)
    out.add_integer("grade_lo", lo)
    out.add_integer("grade_hi", hi)
    point = _valid_point(doc.lat, doc.lon) if doc.lat is not None else None
    if point is not None:
        out.add_text("geo", _geo_key(*point))
        out.add_float("lat", point[0])
        out.add_float("lon", point[1])
    out.add_boolean("located", point is not None)
    dates = _dates(doc)
    if dates is not None:
        out.add_integer("start_day", dates[0].toordinal())
        out.add_integer("end_day", dates[1].toordinal())
    out.add_boolean("dated", dates is not None)
    out.add_unsigned("title_rank", rank)
    payload = {
        "title": doc.title,
        "provider": doc.provider,
        "city": doc.city,
        "plz": doc.plz,
        "bundesland": doc.bundesland,
        "subjects": list(doc.subjects),
        "formats": list(doc.formats),
        "platforms": list(doc.platforms),
        "lat": point[0] if point else None,
        "lon": point[1] if point else None,
        "start": dates[0].isoformat() if dates else None,
        "end": dates[1].isoformat() if dates else None,
        "age_min": doc.age_min,
        "age_max": doc.age_max,
        "grade_min": doc.grade_min,
        "grade_max": doc.grade_max,
        "free": bool(doc.free),
        "girls": bool(doc.girls),
    }
    out.add_bytes("payload", json.dumps(payload).encode("ascii"))
    return out


# --- generations -----------------------------------------------------------------------------


def _generations(root: Path) -> list[tuple[int, Path]]:
    gens = []
    for child in root.iterdir() if root.is_dir() else []:
        match = _GEN_RE.match(child.name)
        if match and child.is_dir():
            gens.append((int(match.group(1)), child))
    return sorted(gens)


def _read_current(root: Path) -> str | None:
    try:
        name = (root / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name if _GEN_RE.match(name) else None


def _write_current(root: Path, name: str) -> None:
    tmp = root / f".{CURRENT_FILE}.{os.getpid()}.{threading.get_ident()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, root / CURRENT_FILE)
    with contextlib.suppress(OSError):  # make the rename durable where directories sync
        dir_fd = os.open(root, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _new_generation_dir(root: Path) -> Path:
    gens = _generations(root)
    number = gens[-1][0] + 1 if gens else 1
    while True:
        path = root / f"{GEN_PREFIX}{number}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            number += 1


@contextlib.contextmanager
def _build_lock(root: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(root / ".build.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@dataclass(frozen=True)
class _Generation:
    name: str
    index: tantivy.Index
    searcher: tantivy.Searcher
    stamp: tuple[int, int]
    vocabulary: dict[str, list[Any]] = field(default_factory=dict)
    #: (lat, lon, radius) -> geo keys within the radius (see ``_geo_keys_within``)
    geo_cache: OrderedDict[tuple[float, float, float], list[str]] = field(
        default_factory=OrderedDict
    )
    #: request without paging and sort -> its counts (see ``SearchIndex._counted``)
    counts_cache: OrderedDict[tuple[Any, ...], _Counted] = field(default_factory=OrderedDict)


@dataclass(frozen=True)
class _Counted:
    """What a request computes independently of its page and sort order."""

    unknown: frozenset[str]
    corrections: dict[str, str]
    facets: dict[str, dict[str, int]]
    total: int
    suggestion: str | None


def _stamp(root: Path) -> tuple[int, int]:
    try:
        st = (root / CURRENT_FILE).stat()
    except FileNotFoundError:
        return (0, 0)
    return (st.st_ino, st.st_mtime_ns)


# --- the index -------------------------------------------------------------------------------


class SearchIndex:
    """A read-only view on the current generation of the index in ``index_dir``."""

    def __init__(self, index_dir: Path, generation: _Generation) -> None:
        self.index_dir = index_dir
        self._gen = generation
        self._lock = threading.Lock()
        #: requests whose counts are kept per generation (0: none; see ``_counts_key``)
        self.counts_cache_size = COUNTS_CACHE_SIZE

    # building and opening

    @classmethod
    def build(cls, index_dir: str | os.PathLike[str], docs: Iterable[SearchDoc]) -> SearchIndex:
        """Build a new generation from ``docs``, switch to it atomically and open it.

        Readers that opened the previous generation keep working; call
        :meth:`reload_if_changed` to move them on. Generations older than the previous
        one are removed. (:meth:`prepare` + :meth:`activate` + :meth:`open`.)
        """
        name = cls.prepare(index_dir, docs)
        cls.activate(index_dir, name)
        return cls.open(index_dir)

    @classmethod
    def prepare(cls, index_dir: str | os.PathLike[str], docs: Iterable[SearchDoc]) -> str:
        """Build a new generation from ``docs`` without switching readers to it; return its
        name for :meth:`activate` (or :meth:`discard`).

        The catalogue rebuild prepares the index first, then commits the database rows
        that name it, then activates it, so the switch readers see is a rename.
        """
        root = Path(index_dir)
        root.mkdir(parents=True, exist_ok=True)
        docs = sorted(docs, key=lambda d: (_title_key(d.title), d.cluster_id))
        # Stored grouped by Bundesland, within it free of charge first, then by title (the
        # title order itself is the ``title_rank`` fast field). The two filters visitors set
        # most then select neighbouring entries, and a query restricted by them reads only
        # those blocks of every posting list (measured, 100k synthetic offers, a word +
        # subject + free: 0.50 -> 0.19 ms against storage by Bundesland only). Results do
        # not depend on the order.
        order = sorted(
            range(len(docs)),
            key=lambda i: (str(docs[i].bundesland or ""), not docs[i].free, i),
        )
        with _build_lock(root):
            gen_dir = _new_generation_dir(root)
            try:
                index = tantivy.Index(SCHEMA, path=str(gen_dir), reuse=False)
                _register(index)
                writer = index.writer(heap_size=WRITER_HEAP, num_threads=WRITER_THREADS)
                for rank in order:
                    writer.add_document(_to_document(docs[rank], rank))
                writer.commit()
                writer.wait_merging_threads()
                vocabulary = json.dumps(_vocabulary(docs), ensure_ascii=False)
                (gen_dir / VOCABULARY_FILE).write_text(vocabulary, encoding="utf-8")
            except BaseException:
                shutil.rmtree(gen_dir, ignore_errors=True)
                raise
        return gen_dir.name

    @staticmethod
    def activate(index_dir: str | os.PathLike[str], name: str) -> None:
        """Switch readers to the prepared generation ``name`` (an atomic rename of the
        pointer file) and remove generations older than the one it replaces."""
        root = Path(index_dir)
        match = _GEN_RE.match(name)
        if match is None or not (root / name).is_dir():
            raise IndexNotFoundError(f"no prepared index generation {name!r} in {root}")
        with _build_lock(root):
            previous = _read_current(root)
            _write_current(root, name)
            keep = {name, previous}
            current_number = int(match.group(1))
            for number, path in _generations(root):
                if number < current_number and path.name not in keep:
                    shutil.rmtree(path, ignore_errors=True)

    @staticmethod
    def discard(index_dir: str | os.PathLike[str], name: str) -> None:
        """Remove a prepared generation that will not be activated (never the current one)."""
        root = Path(index_dir)
        if _GEN_RE.match(name) and name != _read_current(root):
            shutil.rmtree(root / name, ignore_errors=True)

    @classmethod
    def open(cls, index_dir: str | os.PathLike[str]) -> SearchIndex:
        """Open the current generation; raise :class:`IndexNotFoundError` if there is none."""
        root = Path(index_dir)
        return cls(root, cls._load(root))

    @staticmethod
    def exists(index_dir: str | os.PathLike[str]) -> bool:
        """Return True when ``index_dir`` holds a built index."""
        root = Path(index_dir)
        name = _read_current(root)
        return name is not None and (root / name).is_dir()

    @staticmethod
    def _load(root: Path) -> _Generation:
        stamp = _stamp(root)
        name = _read_current(root)
        if name is None or not (root / name).is_dir():
            raise IndexNotFoundError(
                f"no search index in {root}; build one first (mintsuche rebuild)"
            )
        index = tantivy.Index.open(str(root / name))
        if index.schema != SCHEMA:
            raise IndexOutdatedError(
                f"the search index in {root} was built by another version; "
                "rebuild it (mintsuche rebuild)"
            )
        _register(index)
        try:
            vocabulary = json.loads((root / name / VOCABULARY_FILE).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            vocabulary = {}
        return _Generation(name, index, index.searcher(), stamp, vocabulary)

    @property
    def generation(self) -> str:
        """Name of the generation this object searches (``gen-<n>``)."""
        return self._gen.name

    @property
    def num_docs(self) -> int:
        """Number of documents in the open generation."""
        return int(self._gen.searcher.num_docs)

    def reload_if_changed(self) -> bool:
        """Switch to the current generation if another one was built; return True if so."""
        if _stamp(self.index_dir) == self._gen.stamp:
            return False
        with self._lock:
            if _read_current(self.index_dir) == self._gen.name:
                self._gen = _Generation(
                    self._gen.name,
                    self._gen.index,
                    self._gen.searcher,
                    _stamp(self.index_dir),
                    self._gen.vocabulary,
                    self._gen.geo_cache,
                    self._gen.counts_cache,
                )
                return False
            try:
                self._gen = self._load(self.index_dir)
            except (IndexNotFoundError, ValueError, OSError):
                return False
            return True

    # searching

    def search(self, query: SearchQuery) -> SearchResult:
        """Answer ``query``: one page of hits, the total and disjunctive facet counts."""
        gen = self._gen
        searcher = gen.searcher
        per_page = _clamp_int(query.per_page, 1, MAX_PER_PAGE, DEFAULT_PER_PAGE)
        page = _clamp_int(query.page, 1, 10**9, 1)
        words = query_words(query.q)
        near = _near(query)
        selected = {name: _facet_values(getattr(query, name, None)) for name in FACETS}
        key = _counts_key(query, selected)
        counted = self._cached_counts(gen, key)

        if counted is None:
            unknown = {
                w.folded
                for i, w in enumerate(words)
                if not _known(searcher, w, last=i == len(words) - 1)
            }
            corrections = _corrections(gen, [w for w in words if w.folded in unknown])
        else:
            unknown, corrections = set(counted.unknown), counted.corrections
        text_q = (
            _text_query(words, corrections, unknown, searcher=searcher)
            if words
            else tantivy.Query.all_query()
        )
        base = [_filter(q) for q in _attribute_filters(query)]
        radius = _radius(query) if near is not None else None
        if near is not None and radius is not None:
            base.append(_filter(_geo_filter(searcher, gen, near, radius)))
        facet_qs = {
            name: _filter(_any_of(FACETS[name], values))
            for name, values in selected.items()
            if values
        }

        main = _and([text_q, *base, *facet_qs.values()])
        # the same documents without scores (see ``_text_query``): counting, date order
        match_q = (
            _text_query(words, corrections, unknown, scored=False, searcher=searcher)
            if words
            else tantivy.Query.all_query()
        )
        sort = query.sort if isinstance(query.sort, str) and query.sort in SORTS else "relevance"
        if sort == "distance" and near is None:
            sort = "relevance"
        offset = (page - 1) * per_page
        # the facet aggregations also count the matches (they need no scores); they run in
        # other threads while this one finds the page of hits (in the engine, holding the
        # interpreter lock), then their results are collected before the hits are read
        counting = (
            None
            if counted is not None
            else self._counting(searcher, match_q, base, facet_qs, selected)
        )
        try:
            total, raw_hits = self._find_page(
                searcher, query, sort, main, match_q, base, facet_qs, words, near, offset, per_page
            )
        finally:
            counts = counting() if counting is not None else None
        snippets = _Snippets(searcher, words if raw_hits else [])
        hits = [
            _hit(searcher, address, float(score) if words else 0.0, snippets, near)
            for score, address in raw_hits
        ]
        if counted is None:
            assert counts is not None
            suggestion = None
            if corrections:
                others = [*base, *facet_qs.values()]
                suggestion = _suggestion(gen, query.q, corrections, others)
            counted = _Counted(frozenset(unknown), corrections, *counts, suggestion)
            self._store_counts(gen, key, counted)
        return SearchResult(
            total=counted.total if total is None else total,
            hits=hits,
            facets={name: dict(values) for name, values in counted.facets.items()},
            page=page,
            per_page=per_page,
            suggestion=counted.suggestion,
        )

    def _find_page(
        self,
        searcher: tantivy.Searcher,
        query: SearchQuery,
        sort: str,
        main: tantivy.Query,
        match_q: tantivy.Query,
        base: list[Filter],
        facet_qs: dict[str, tantivy.Query],
        words: list[Word],
        near: tuple[float, float] | None,
        offset: int,
        per_page: int,
    ) -> tuple[int | None, RawHits]:
        """One page of hits (addresses) in ``sort`` order and, for the distance and date
        orders (which count as they page), the total."""
        total: int | None = None
        if offset + per_page > MAX_WINDOW:
            raw_hits: RawHits = []
        elif sort == "distance":
            assert near is not None
            unscored = _and([match_q, *base, *facet_qs.values()])
            total, raw_hits = _page_by_distance(
                searcher, main, near, offset, per_page, words, unscored
            )
        elif sort == "date":
            today = query.today if isinstance(query.today, date) else None
            unscored = _and([match_q, *base, *facet_qs.values()])
            total, raw_hits = _page_by_date(
                searcher, main, today, offset, per_page, words, unscored
            )
        else:  # top hits without counting: lets tantivy skip blocks that cannot make it
            raw_hits = _page(searcher, main, offset, per_page, words, count=False)[1]
        return total, raw_hits

    def _cached_counts(self, gen: _Generation, key: tuple[Any, ...]) -> _Counted | None:
        if self.counts_cache_size <= 0:
            return None
        with _COUNTS_LOCK:
            counted = gen.counts_cache.get(key)
            if counted is not None:
                gen.counts_cache.move_to_end(key)
            return counted

    def _store_counts(self, gen: _Generation, key: tuple[Any, ...], counted: _Counted) -> None:
        if self.counts_cache_size <= 0:
            return
        with _COUNTS_LOCK:
            gen.counts_cache[key] = counted
            while len(gen.counts_cache) > self.counts_cache_size:
                gen.counts_cache.popitem(last=False)

    def _counting(
        self,
        searcher: tantivy.Searcher,
        text_q: tantivy.Query,
        base: list[Filter],
        facet_qs: dict[str, tantivy.Query],
        selected: dict[str, list[str]],
    ) -> Callable[[], tuple[dict[str, dict[str, int]], int]]:
        """Start the disjunctive facet aggregations in the aggregation threads and return the
        function that waits for them and gives the counts and the number of entries matching
        ``text_q`` with all filters."""
        plain = [name for name in FACETS if name not in facet_qs]
        chosen = {name: selected[name] for name in facet_qs}
        requests = _disjunctive_requests(text_q, base, facet_qs, chosen, plain) or []
        pool = _pool()
        pending: list[Future[dict[str, Any]]] = []
        for q, aggs in requests:
            if pool is not None:
                pending.append(pool.submit(searcher.aggregate, q, aggs))
                continue
            done: Future[dict[str, Any]] = Future()  # no threads: aggregate right here
            try:
                done.set_result(searcher.aggregate(q, aggs))
            except ValueError as error:
                done.set_exception(error)
            pending.append(done)

        def finish() -> tuple[dict[str, dict[str, int]], int]:
            results, failed = [], False
            for future in pending:  # wait for all, even after a failure
                try:
                    results.append(future.result())
                except ValueError:
                    failed = True
            one_pass = None
            if results and not failed:
                one_pass = _disjunctive_counts(results, chosen, plain)
            return self._counted(searcher, text_q, base, facet_qs, selected, one_pass)

        return finish

    def _counted(
        self,
        searcher: tantivy.Searcher,
        text_q: tantivy.Query,
        base: list[Filter],
        facet_qs: dict[str, tantivy.Query],
        selected: dict[str, list[str]],
        one_pass: tuple[dict[str, dict[str, int]], int] | None,
    ) -> tuple[dict[str, dict[str, int]], int]:
        plain = [name for name in FACETS if name not in facet_qs]
        if one_pass is not None:
            counts, total = one_pass
        else:  # one aggregation per selected facet and one for the rest, here
            main = _and([text_q, *base, *facet_qs.values()])
            counts, total = _aggregate(searcher, main, plain, with_total=True)
            for name in facet_qs:
                others = [q for other, q in facet_qs.items() if other != name]
                counts.update(_aggregate(searcher, _and([text_q, *base, *others]), [name])[0])
        facets: dict[str, dict[str, int]] = {}
        for name in FACETS:
            values = counts.get(name, {})
            for value in selected[name]:
                values.setdefault(value, 0)
            facets[name] = dict(sorted(values.items(), key=lambda kv: (-kv[1], kv[0])))
        return facets, total

    def suggest(self, prefix: str, limit: int = 10) -> list[str]:
        """Return indexed words (folded, unstemmed) that start with ``prefix``."""
        words = query_words(prefix)
        if not words or len(words[-1].folded) < 2:
            return []
        limit = _clamp_int(limit, 1, 100, 10)
        try:
            terms = self._gen.searcher.terms_with_prefix("all", words[-1].folded, limit=limit * 5)
        except ValueError:
            return []
        terms = sorted(terms, key=lambda t: (-t[1], t[0]))
        return [term for term, _ in terms[:limit]]


# --- query building --------------------------------------------------------------------------


def _clamp_int(value: object, low: int, high: int, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(value)  # type: ignore[call-overload]
        except (TypeError, ValueError, OverflowError):
            return default
    return max(low, min(high, value))


def _facet_values(values: object) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, Iterable):
        return []
    out: list[str] = []
    for value in values:
        if isinstance(value, str):
            value = _clean(value[:200])
            if value and value not in out:
                out.append(value)
        if len(out) >= MAX_FACET_VALUES:
            break
    return out


@dataclass(frozen=True)
class _Excluded:
    """A filter that drops the documents matching ``query``: :func:`_and` joins it into the
    query it builds as a MustNot clause. (Nested as its own "all but" query it is read as a
    document set of its own: measured 1M synthetic offers, "not ended before today" on a
    word + subject + free aggregation, 3.0 -> 2.7 ms.)"""

    query: tantivy.Query


#: a filter: a query every document must match, or an exclusion
Filter = tantivy.Query | _Excluded


def _and(queries: Sequence[Filter]) -> tantivy.Query:
    """All of ``queries`` (exclusions as MustNot clauses)."""
    excluded = [q.query for q in queries if isinstance(q, _Excluded)]
    musts = [q for q in queries if not isinstance(q, _Excluded)]
    if not excluded and len(musts) == 1:
        return musts[0]
    if not musts:
        musts = [tantivy.Query.all_query()]
    return tantivy.Query.boolean_query(
        [(tantivy.Occur.Must, q) for q in musts] + [(tantivy.Occur.MustNot, q) for q in excluded]
    )


def _or(queries: Sequence[tantivy.Query]) -> tantivy.Query:
    if len(queries) == 1:
        return queries[0]
    return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in queries])


def _filter(query: Filter) -> Filter:
    """``query`` without a score (an exclusion scores nothing anyway)."""
    if isinstance(query, _Excluded):
        return query
    return tantivy.Query.const_score_query(query, 0.0)


def _any_of(field_name: str, values: list[str]) -> tantivy.Query:
    return _or([tantivy.Query.term_query(SCHEMA, field_name, value) for value in values])


def _attribute_filters(query: SearchQuery) -> list[Filter]:
    filters: list[Filter] = []
    for name in ("free", "girls"):
        value = getattr(query, name, None)
        if isinstance(value, bool):
            filters.append(tantivy.Query.term_query(SCHEMA, name, value))
    integer = tantivy.FieldType.Integer
    for name, low in (("age", 0), ("grade", 1)):
        value = getattr(query, name, None)
        if value is None or isinstance(value, bool):
            continue
        value = _clamp_int(value, low, 200, -1)
        if value >= low:
            filters.append(
                tantivy.Query.range_query(SCHEMA, f"{name}_lo", integer, upper_bound=value)
            )
            filters.append(
                tantivy.Query.range_query(SCHEMA, f"{name}_hi", integer, lower_bound=value)
            )
    filters.extend(_date_filters(query))
    return filters


def _date_filters(query: SearchQuery) -> list[Filter]:
    """Entries whose date range overlaps [date_from (or today), date_to] (+ undated, unless
    dated_only).

    Written as exclusions (ends before ``date_from``, starts after ``date_to``; undated
    entries have neither field) rather than as "overlaps or undated": a union inside the
    query is read in whole blocks, an exclusion is only looked up for the candidates."""
    date_from = query.date_from if isinstance(query.date_from, date) else None
    date_to = query.date_to if isinstance(query.date_to, date) else None
    dated_only = query.dated_only is True
    today = query.today if isinstance(query.today, date) else None
    if date_from is None and today is not None and query.include_past is not True:
        date_from = today  # past events drop out of search; undated entries stay
    filters: list[Filter] = []
    if dated_only:
        filters.append(tantivy.Query.term_query(SCHEMA, "dated", True))
    integer = tantivy.FieldType.Integer
    if date_from is not None:
        ended = tantivy.Query.range_query(
            SCHEMA, "end_day", integer, upper_bound=date_from.toordinal() - 1
        )
        filters.append(_Excluded(ended))
    if date_to is not None:
        later = tantivy.Query.range_query(
            SCHEMA, "start_day", integer, lower_bound=date_to.toordinal() + 1
        )
        filters.append(_Excluded(later))
    return filters


def _near(query: SearchQuery) -> tuple[float, float] | None:
    near = query.near
    if not isinstance(near, (tuple, list)) or len(near) != 2:
        return None
    return _valid_point(near[0], near[1])


def _radius(query: SearchQuery) -> float | None:
    radius = query.radius_km
    if radius is None or isinstance(radius, bool):
        return None
    try:
        value = float(radius)
    except (TypeError, ValueError, OverflowError):
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return min(value, MAX_RADIUS_KM)


_GEO_LOCK = threading.Lock()
_COUNTS_LOCK = threading.Lock()
_GEO_CACHE_SIZE = 256


def _geo_keys_within(
    searcher: tantivy.Searcher, gen: _Generation, near: tuple[float, float], radius: float
) -> list[str]:
    """Places (geo keys) of the index within ``radius`` km of ``near`` (exact distance).

    A bounding box on the ``geo`` field's values narrows the candidates in the engine (a
    terms aggregation over a range query gives each distinct place once); the exact
    great-circle distance is then checked per place. Cached per generation.
    """
    cache_key = (round(near[0], 5), round(near[1], 5), round(radius, 3))
    with _GEO_LOCK:
        cached = gen.geo_cache.get(cache_key)
        if cached is not None:
            gen.geo_cache.move_to_end(cache_key)
            return cached
    dlat = radius / 111.19 + 1e-4
    coslat = max(math.cos(math.radians(near[0])), 0.01)
    dlon = min(180.0, radius / (111.19 * coslat) + 1e-4)
    box = _and(
        [
            tantivy.Query.range_query(
                SCHEMA, "lat", tantivy.FieldType.Float, near[0] - dlat, near[0] + dlat
            ),
            tantivy.Query.range_query(
                SCHEMA, "lon", tantivy.FieldType.Float, near[1] - dlon, near[1] + dlon
            ),
        ]
    )
    keys = []
    for key, _ in _geo_buckets(searcher, box):
        point = _parse_geo_key(key)
        if point is not None and haversine_km(near, point) <= radius:
            keys.append(key)
    with _GEO_LOCK:
        gen.geo_cache[cache_key] = keys
        while len(gen.geo_cache) > _GEO_CACHE_SIZE:
            gen.geo_cache.popitem(last=False)
    return keys


def _geo_buckets(searcher: tantivy.Searcher, query: tantivy.Query) -> list[tuple[str, int]]:
    aggs = {"geo": {"terms": {"field": "geo", "size": MAX_GEO_KEYS}}}
    result = searcher.aggregate(query, aggs)
    buckets = (result.get("geo") or {}).get("buckets") or []
    return [(str(b["key"]), int(b["doc_count"])) for b in buckets]


def _parse_geo_key(key: str) -> tuple[float, float] | None:
    lat, _, lon = key.partition(",")
    return _valid_point(lat, lon)


def _geo_filter(
    searcher: tantivy.Searcher, gen: _Generation, near: tuple[float, float], radius: float
) -> tantivy.Query:
    keys = _geo_keys_within(searcher, gen, near, radius)
    if not keys:
        return tantivy.Query.empty_query()
    return tantivy.Query.term_set_query(SCHEMA, "geo", keys)


# --- paging ----------------------------------------------------------------------------------

RawHits = list[tuple[float, tantivy.DocAddress]]


def _count(searcher: tantivy.Searcher, query: tantivy.Query) -> int:
    return int(searcher.search(query, 1, count=True).count or 0)


def _page(
    searcher: tantivy.Searcher,
    query: tantivy.Query,
    offset: int,
    limit: int,
    words: list[Word],
    count: bool = True,
) -> tuple[int, RawHits]:
    """Hits by relevance, or by title when there are no words (and their number if
    ``count``, else 0)."""
    if words:
        found = searcher.search(query, limit, count=count, offset=offset)
    else:
        found = searcher.search(
            query,
            limit,
            count=count,
            offset=offset,
            order_by_field="title_rank",
            order=tantivy.Order.Asc,
        )
    return int(found.count or 0), list(found.hits)


def _page_by_distance(
    searcher: tantivy.Searcher,
    main: tantivy.Query,
    near: tuple[float, float],
    offset: int,
    limit: int,
    words: list[Word],
    unscored: tantivy.Query | None = None,
) -> tuple[int, RawHits]:
    """Hits nearest first, entries without a place last (``unscored``: the same documents
    as ``main``, cheaper to match; it finds their places).

    The matching entries' distinct places and their counts come from one aggregation; the
    places are sorted by exact distance and only those covering the page are fetched
    (within one place by relevance, or title).
    """
    located = []
    for key, count in _geo_buckets(searcher, unscored or main):
        point = _parse_geo_key(key)
        if point is not None:
            located.append((haversine_km(near, point), key, count))
    located.sort()
    hits: RawHits = []
    position = 0
    for _distance, key, count in located:
        if len(hits) < limit and position + count > offset:
            place = _and([main, tantivy.Query.term_query(SCHEMA, "geo", key)])
            skip = max(0, offset - position)
            hits.extend(_page(searcher, place, skip, limit - len(hits), words)[1])
        position += count
    unlocated = _and([main, tantivy.Query.term_query(SCHEMA, "located", False)])
    skip = max(0, offset - position)
    rest_total, rest = _page(searcher, unlocated, skip, max(1, limit - len(hits)), words)
    if len(hits) < limit:
        hits.extend(rest[: limit - len(hits)])
    return position + rest_total, hits


def _page_by_date(
    searcher: tantivy.Searcher,
    main: tantivy.Query,
    today: date | None,
    offset: int,
    limit: int,
    words: list[Word],
    unscored: tantivy.Query | None = None,
) -> tuple[int, RawHits]:
    """Hits by next date: running and upcoming (by start), then past (latest first),
    then entries without dates (by relevance, or title). ``unscored`` matches the same
    documents as ``main`` more cheaply; it serves the parts ordered by date."""
    by_date = unscored or main
    dated = tantivy.Query.term_query(SCHEMA, "dated", True)
    segments: list[tuple[tantivy.Query, tantivy.Order | None]] = []
    if today is None:
        segments.append((_and([by_date, dated]), tantivy.Order.Asc))
    else:
        day = today.toordinal()
        integer = tantivy.FieldType.Integer
        coming = tantivy.Query.range_query(SCHEMA, "end_day", integer, lower_bound=day)
        past = tantivy.Query.range_query(SCHEMA, "end_day", integer, upper_bound=day - 1)
        segments.append((_and([by_date, dated, coming]), tantivy.Order.Asc))
        segments.append((_and([by_date, dated, past]), tantivy.Order.Desc))
    segments.append((_and([main, tantivy.Query.term_query(SCHEMA, "dated", False)]), None))
    hits: RawHits = []
    total = 0
    for segment, order in segments:
        skip = max(0, offset - total)
        need = max(1, limit - len(hits))
        if order is None:
            count, found = _page(searcher, segment, skip, need, words)
        else:
            result = searcher.search(
                segment, need, count=True, offset=skip, order_by_field="start_day", order=order
            )
            count, found = int(result.count or 0), [(0.0, a) for _, a in result.hits]
        if len(hits) < limit:
            hits.extend(found[: limit - len(hits)])
        total += count
    return total, hits


# --- suggestions -----------------------------------------------------------------------------


def _corrections(gen: _Generation, words: list[Word]) -> dict[str, str]:
    """Corrections for unknown query words (see ``_known``; folded -> spelling).

    A word of 4+ letters is replaced by the closest word of the index's vocabulary (all
    text fields): optimal string alignment distance (a swap of two neighbouring
    letters counts 1) of at most 1, or 2 for words of 6+ letters; ties go to the more
    frequent word, then alphabetically.
    """
    vocabulary = gen.vocabulary
    if not vocabulary:
        return {}
    corrections: dict[str, str] = {}
    for word in words:
        folded = word.folded
        if len(folded) < 4 or folded.isdigit() or folded in corrections or folded in vocabulary:
            continue
        limit = 2 if len(folded) >= 6 else 1
        matches = process.extract(
            folded, list(vocabulary), scorer=OSA.distance, score_cutoff=limit, limit=20
        )
        if matches:
            best = min(matches, key=lambda m: (m[1], -int(vocabulary[m[0]][1]), m[0]))
            corrections[folded] = str(vocabulary[best[0]][0])
    return corrections


def _known(searcher: tantivy.Searcher, word: Word, last: bool) -> bool:
    """True if some entry holds the word as such, its stem, all its compound parts or a
    synonym, or (for the last word, which may be typed half) a word starting with it."""
    if searcher.doc_freq("all", word.folded) > 0:
        return True
    if searcher.doc_freq(MATCH_FIELD, word.stem) > 0:
        return True
    if word.parts and all(searcher.doc_freq(MATCH_FIELD, part) > 0 for part in word.parts):
        return True
    groups = GROUPS.of_stem.get(word.stem, ())
    if any(searcher.doc_freq(SYNONYM_FIELD, _group_token(g)) > 0 for g in groups):
        return True
    if last and len(word.folded) >= PREFIX_MIN_LEN:
        return searcher.doc_freq(PREFIX_FIELD, word.folded[:PREFIX_MAX_LEN]) > 0
    return False


def _suggestion(
    gen: _Generation, text: str, corrections: dict[str, str], filters: list[Filter]
) -> str | None:
    """The query with its corrected words ("Meinten Sie …?") if that finds something."""
    tokens = []
    for token in _WORD_RE.findall(_clean(text[:MAX_QUERY_CHARS])):
        folded = _FOLD.analyze(token)
        tokens.append(corrections.get(folded[0], token) if len(folded) == 1 else token)
    corrected = " ".join(tokens)
    new_words = query_words(corrected)
    if not new_words:
        return None
    if (
        _count(
            gen.searcher,
            _and([_text_query(new_words, scored=False, searcher=gen.searcher), *filters]),
        )
        == 0
    ):
        return None
    return corrected


def _term(field_name: str, text: str, boost: float = 1.0, scored: bool = True) -> tantivy.Query:
    if not scored:
        return tantivy.Query.term_query(SCHEMA, field_name, text, index_option="basic")
    query = tantivy.Query.term_query(SCHEMA, field_name, text)
    return query if boost == 1.0 else tantivy.Query.boost_query(query, boost)


def _scored_by(match: tantivy.Query, scores: Sequence[tantivy.Query]) -> tantivy.Query:
    """The documents of ``match``, scored by the sum of the ``scores`` they match.

    Nested pairs (must ``match``, should one score) instead of one boolean query with many
    should clauses: tantivy then moves only the required clause through the candidates and
    looks a score clause up (skip list) for the few documents that are scored, where a
    union of should clauses would be read in whole windows of 4,096 documents.
    """
    query = _filter(match)
    for score in scores:
        query = tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, query), (tantivy.Occur.Should, score)]
        )
    return query


def _stem_scores(stems: Sequence[str], factor: float) -> list[tantivy.Query]:
    return [
        _term(name, stem, boost * factor) for stem in stems for name, boost in SCORE_FIELDS.items()
    ]


def _synonym_scores(
    groups: Sequence[int], own: tuple[str, ...], searcher: tantivy.Searcher | None
) -> list[tantivy.Query]:
    """Scores of a word's synonyms: the group token (a synonym anywhere, x
    :data:`SYNONYM_TEXT_BOOST`) and the best synonym in the title or the fields outside the
    description (x :data:`SYNONYM_BOOST`; each synonym with its own rarity, and the best one
    counts, so several synonyms do not outrank the word itself)."""
    scores = [_term(SYNONYM_FIELD, _group_token(g), SYNONYM_TEXT_BOOST) for g in groups]
    best = []
    for member in {m for g in groups for m in GROUPS.members[g] if m != own and len(m) == 1}:
        for name in ("title", "head_stems"):
            if searcher is None or searcher.doc_freq(name, member[0]) > 0:
                best.append(_term(name, member[0], SCORE_FIELDS[name] * SYNONYM_BOOST))
    if best:  # only where the word itself is missing (it outranks its synonyms)
        synonym = tantivy.Query.disjunction_max_query(best, SYNONYM_TIE)
        word = _all_stems(own, scored=False)
        scores.append(
            tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, synonym), (tantivy.Occur.MustNot, word)]
            )
        )
    return scores


def _all_stems(stems: Sequence[str], scored: bool = True) -> tantivy.Query:
    """Every stem in the text (a compound's parts, a multi-word correction)."""
    return _and([_term(MATCH_FIELD, stem, scored=scored) for stem in stems])


def _text_query(
    words: list[Word],
    corrections: dict[str, str] | None = None,
    unknown: set[str] | None = None,
    scored: bool = True,
    searcher: tantivy.Searcher | None = None,
) -> tantivy.Query:
    """Every word must match: its stem (or all its compound parts) in the text, a word of
    its synonym group, its correction (see ``_corrections``), the beginning of a word
    outside the description (last word, 3+ characters, unless ``searcher`` holds it as a
    whole word: then it is typed out) or, for a word the index does not hold (``unknown``;
    all words if None), a fuzzy term outside the description.

    Matching is one term per word where possible: :data:`MATCH_FIELD` (the stem, or all
    compound parts), the group token in :data:`SYNONYM_FIELD` (the word and all its
    synonyms at once), the prefix term in :data:`PREFIX_FIELD`. The score adds up the
    word's stem in :data:`SCORE_FIELDS`, its synonyms (see ``_synonym_scores``: the word
    itself outranks them), the prefix (constant), the correction and the fuzzy match.

    ``scored=False`` gives the query matching the same documents, unscored (counting).
    """
    clauses = []
    for position, word in enumerate(words):
        groups = GROUPS.of_stem.get(word.stem, ())
        if groups and searcher is not None:
            # an index built before the last edit of synonyms.yaml lacks the tokens of
            # changed or new groups: without any, the word matches through its own stems
            groups = tuple(
                g for g in groups if searcher.doc_freq(SYNONYM_FIELD, _group_token(g)) > 0
            )
        own = list(word.parts) if word.parts else [word.stem]
        matches: list[tantivy.Query] = []
        scores: list[tantivy.Query] = []
        if groups:  # the word itself is a member of its groups
            matches.extend(_term(SYNONYM_FIELD, _group_token(g), scored=False) for g in groups)
        else:
            matches.append(_all_stems(own, scored=False))
        scores.extend(_stem_scores(own, 1.0))
        if groups:
            scores.extend(_synonym_scores(groups, tuple(own), searcher))
        correction = (corrections or {}).get(word.folded)
        if correction:
            stems = _STEM.analyze(correction)
            if stems:
                matches.append(_all_stems(stems, scored=False))
                scores.append(tantivy.Query.boost_query(_all_stems(stems), CORRECTION_BOOST))
        if position == len(words) - 1 and _typed_half(word, searcher):
            prefix = _term(PREFIX_FIELD, word.folded[:PREFIX_MAX_LEN], scored=False)
            matches.append(prefix)
            scores.append(tantivy.Query.const_score_query(prefix, PREFIX_BOOST))
        if (
            len(word.folded) >= FUZZY_MIN_LEN
            and not word.folded.isdigit()
            and (unknown is None or word.folded in unknown)
        ):
            fuzzy = tantivy.Query.fuzzy_term_query(SCHEMA, "head", word.folded, distance=1)
            matches.append(fuzzy)
            scores.append(tantivy.Query.boost_query(fuzzy, FUZZY_BOOST))
        match = _or(matches)
        clauses.append(_scored_by(match, scores) if scored else match)
    return _and(clauses)


def _typed_half(word: Word, searcher: tantivy.Searcher | None) -> bool:
    """Whether the last word may be the beginning of a longer word: 3+ characters and, with
    a ``searcher``, not a whole word of the index (a union with the prefix term would cost
    as much as the rest of the query; compounds are found through their parts anyway)."""
    if len(word.folded) < PREFIX_MIN_LEN:
        return False
    return searcher is None or searcher.doc_freq("all", word.folded) == 0


#: aggregation name of the match count (cannot clash with a facet name)
_TOTAL = "_total"


def _aggregate(
    searcher: tantivy.Searcher, query: tantivy.Query, names: list[str], with_total: bool = False
) -> tuple[dict[str, dict[str, int]], int]:
    """Count facet values of the documents matching ``query`` (and, if ``with_total``,
    the documents: a value count of ``title_rank``, which every document has; else 0).

    tantivy's terms aggregation is ~20x faster on single-valued fields, so it counts the
    combinations (one value per document) and the counts are summed per value here. Only
    if a facet has more than :data:`MAX_COMBINATIONS` combinations in the matching
    documents does it fall back to the multi-valued field.
    """
    aggs: dict[str, Any] = {
        name: {"terms": {"field": _combo_field(FACETS[name]), "size": MAX_COMBINATIONS}}
        for name in names
    }
    if with_total:
        aggs[_TOTAL] = {"value_count": {"field": "title_rank"}}
    if not aggs:
        return {}, 0
    result = searcher.aggregate(query, aggs)
    total = int((result.get(_TOTAL) or {}).get("value") or 0) if with_total else 0
    out: dict[str, dict[str, int]] = {}
    overflow = []
    for name in names:
        agg = result.get(name) or {}
        if agg.get("sum_other_doc_count"):
            overflow.append(name)
            continue
        counts: dict[str, int] = {}
        for bucket in agg.get("buckets") or []:
            for value in str(bucket["key"]).split(COMBO_SEP):
                counts[value] = counts.get(value, 0) + int(bucket["doc_count"])
        out[name] = counts
    if overflow:
        aggs = {name: {"terms": {"field": FACETS[name], "size": 10_000}} for name in overflow}
        result = searcher.aggregate(query, aggs)
        for name in overflow:
            buckets = (result.get(name) or {}).get("buckets") or []
            out[name] = {str(b["key"]): int(b["doc_count"]) for b in buckets}
    return out, total


def _sum_combos(agg: dict[str, Any]) -> dict[str, int] | None:
    """Counts per value from a terms aggregation over combinations; None if some
    combinations were left out (more than :data:`MAX_COMBINATIONS`)."""
    if agg.get("sum_other_doc_count"):
        return None
    counts: dict[str, int] = {}
    parts = _COMBO_PARTS
    for bucket in agg.get("buckets") or []:
        key = bucket["key"]
        values = parts.get(key)
        if values is None:
            if len(parts) >= _COMBO_PARTS_SIZE:
                parts.clear()
            values = parts[key] = tuple(str(key).split(COMBO_SEP))
        doc_count = int(bucket["doc_count"])
        for value in values:
            counts[value] = counts.get(value, 0) + doc_count
    return counts


#: combination -> its values (the same few hundred combinations recur in every count)
_COMBO_PARTS: dict[Any, tuple[str, ...]] = {}
_COMBO_PARTS_SIZE = 100_000


def _selection_filter(chosen: dict[str, list[str]]) -> str:
    """The selections as query text: a value of every facet (raw fields: one term each)."""
    return " AND ".join(
        "(" + " OR ".join(f'{FACETS[name]}:"{value}"' for value in values) + ")"
        for name, values in chosen.items()
    )


def _disjunctive_requests(
    text_q: tantivy.Query,
    base: list[Filter],
    facet_qs: dict[str, tantivy.Query],
    chosen: dict[str, list[str]],
    plain: list[str],
) -> list[tuple[tantivy.Query, dict[str, Any]]] | None:
    """The aggregations (query, request) that count all disjunctive facets and the matches:
    one per selected facet.

    A selected facet is counted over the query with the other facets' selections (all
    of them narrow it, so the engine reads only the blocks they select). The last of these
    aggregations also counts the facets without a selection and the total under a filter
    with that facet's own selection: no aggregation runs over the query without any
    selection. None (count separately) when nothing is selected or the last facet's values
    cannot be written as query text.
    """
    if not chosen:
        return None
    names = list(chosen)
    host = names[-1]
    if any(_UNQUOTABLE.search(value) for value in chosen[host]):
        return None
    requests = []
    for name in names:
        aggs: dict[str, Any] = {name: _combo_terms(name)}
        if name == host:
            aggs[_TOTAL] = {
                "filter": _selection_filter({host: chosen[host]}),
                "aggs": {other: _combo_terms(other) for other in plain},
            }
        others = [q for other, q in facet_qs.items() if other != name]
        requests.append((_and([text_q, *base, *others]), aggs))
    return requests


def _combo_terms(name: str) -> dict[str, Any]:
    return {"terms": {"field": _combo_field(FACETS[name]), "size": MAX_COMBINATIONS}}


def _disjunctive_counts(
    results: list[dict[str, Any]], chosen: dict[str, list[str]], plain: list[str]
) -> tuple[dict[str, dict[str, int]], int] | None:
    """Counts per facet and the total from the results of ``_disjunctive_requests`` (None
    if combinations overflowed)."""
    out: dict[str, dict[str, int]] = {}
    for name, result in zip(chosen, results, strict=True):
        counts = _sum_combos(result.get(name) or {})
        if counts is None:
            return None
        out[name] = counts
    main = results[-1].get(_TOTAL) or {}
    for name in plain:
        counts = _sum_combos(main.get(name) or {})
        if counts is None:
            return None
        out[name] = counts
    return out, int(main.get("doc_count") or 0)


def _aggregate_disjunctive(
    searcher: tantivy.Searcher,
    text_q: tantivy.Query,
    base: list[Filter],
    facet_qs: dict[str, tantivy.Query],
    chosen: dict[str, list[str]],
    plain: list[str],
) -> tuple[dict[str, dict[str, int]], int] | None:
    """All disjunctive facet counts and the number of matches (``_disjunctive_requests``,
    run one after the other here); None if they must be counted separately."""
    requests = _disjunctive_requests(text_q, base, facet_qs, chosen, plain)
    if requests is None:
        return None
    try:
        results = [searcher.aggregate(q, aggs) for q, aggs in requests]
    except ValueError:
        return None
    return _disjunctive_counts(results, chosen, plain)


#: threads that run the facet aggregations while a request fetches its page of hits
#: (tantivy releases the interpreter lock while it aggregates, not while it searches)
AGGREGATION_THREADS = 2
_POOL: tuple[int, ThreadPoolExecutor] | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor | None:
    """The aggregation threads of this process (a forked worker starts its own); None when
    :data:`AGGREGATION_THREADS` is 0."""
    global _POOL
    if AGGREGATION_THREADS <= 0:
        return None
    with _POOL_LOCK:
        if _POOL is None or _POOL[0] != os.getpid():
            _POOL = (os.getpid(), ThreadPoolExecutor(AGGREGATION_THREADS, "facets"))
        return _POOL[1]


def _counts_key(query: SearchQuery, selected: dict[str, list[str]]) -> tuple[Any, ...]:
    """What the counts of ``query`` depend on (not its page or sort)."""
    text = query.q if isinstance(query.q, str) else ""
    attributes = repr(
        (
            query.free,
            query.girls,
            query.age,
            query.grade,
            _near(query),
            _radius(query),
            query.date_from,
            query.date_to,
            query.dated_only,
            query.today,
            query.include_past,
        )
    )
    facets = tuple((name, tuple(values)) for name, values in selected.items())
    return (text[:MAX_QUERY_CHARS], facets, attributes)


class _Snippets:
    """Highlighted description excerpts for the words of one query."""

    def __init__(self, searcher: tantivy.Searcher, words: list[Word]) -> None:
        self._generator: Any = None
        if words:
            stems = sorted({s for w in words for s in (w.stem, *w.parts)})
            terms = [tantivy.Query.term_query(SCHEMA, "description", s) for s in stems]
            self._generator = tantivy.SnippetGenerator.create(
                searcher, _or(terms), SCHEMA, "description"
            )
            self._generator.set_max_num_chars(SNIPPET_CHARS)

    def __call__(self, doc: tantivy.Document) -> str:
        if self._generator is not None:
            snippet = self._generator.snippet_from_doc(doc)
            if snippet.highlighted():
                return str(snippet.to_html())
        text = " ".join(str(doc.get_first("description") or "").split())
        if len(text) > SNIPPET_CHARS:
            text = text[:SNIPPET_CHARS].rsplit(" ", 1)[0] + " …"
        return html.escape(text, quote=False)


def _date_or_none(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _hit(
    searcher: tantivy.Searcher,
    address: tantivy.DocAddress,
    score: float,
    snippets: _Snippets,
    near: tuple[float, float] | None = None,
) -> Hit:
    doc = searcher.doc(address)
    payload = json.loads(bytes(doc.get_first("payload") or b"{}").decode("utf-8"))
    point = _valid_point(payload.get("lat"), payload.get("lon"))
    distance = None
    if near is not None and point is not None:
        distance = round(haversine_km(near, point), 1)
    return Hit(
        cluster_id=str(doc.get_first("cluster_id")),
        score=score,
        title=payload.get("title") or "",
        provider=payload.get("provider"),
        city=payload.get("city"),
        subjects=list(payload.get("subjects") or []),
        formats=list(payload.get("formats") or []),
        platforms=list(payload.get("platforms") or []),
        snippet=snippets(doc),
        bundesland=payload.get("bundesland"),
        plz=payload.get("plz"),
        lat=payload.get("lat"),
        lon=payload.get("lon"),
        distance_km=distance,
        start=_date_or_none(payload.get("start")),
        end=_date_or_none(payload.get("end")),
        age_min=payload.get("age_min"),
        age_max=payload.get("age_max"),
        grade_min=payload.get("grade_min"),
        grade_max=payload.get("grade_max"),
        free=bool(payload.get("free")),
        girls=bool(payload.get("girls")),
    )
