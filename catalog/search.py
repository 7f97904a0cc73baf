"""German full-text search with facets over the catalogue (tantivy, in-process).

The index is derived from the ``cluster`` table (one :class:`SearchDoc` per catalogue entry)
and replaced atomically; the SQL database stays the record.

Analysis (decided after measuring tantivy-py 0.27): tantivy's own analyzer chain does all
we need, so no Python stemming is involved: ``simple`` tokenizer (splits on every
non-alphanumeric character) -> ``remove_long(40)`` -> ``lowercase`` -> ``ascii_fold`` ->
Snowball ``stemmer("german")``. Umlauts fold to the bare vowel (``ä -> a``, ``ö -> o``,
``ü -> u``) and ``ß`` to ``ss`` (``Schüler``/``Schuler`` -> ``schul``,
``Straße``/``Strasse`` -> ``strass``, ``Roboter``/``Robotern`` -> ``robot``). The analyzer
is registered under :data:`ANALYZER` on every open (tantivy does not persist custom
analyzers). Spellings with ``ue``/``ae``/``oe`` ("Schueler") are caught by the fuzzy clause.

Queries: user text never reaches tantivy's query parser. It is cut to
:data:`MAX_QUERY_CHARS`, analyzed with the same analyzer into stems (at most
:data:`MAX_TERMS` distinct words) and the query is built from term queries. Every word
must match (AND); a word matches through any of

- a term query per text field, boosted title (4) > topics (3) > provider (2) >
  place (1.5) > description (1);
- for the last word (3+ characters), a prefix query on the folded, unstemmed word
  ("Robo" finds "Roboter", "Roboter" finds "Roboterbau") on the catch-all field ``all``;
- for words of 6+ characters, a fuzzy term query (edit distance 1) on ``all``.

A query with no words left (empty, whitespace, only punctuation or emoji) lists all
documents by title. Filters (facet values, ``free``, ``girls``, ``age``) are constant-score
clauses, so they narrow without changing the ranking.

Facets (``subjects``, ``formats``, ``bundesland``, ``platforms``) are counted with
``Searcher.aggregate`` (terms aggregation). Counts are disjunctive: a facet's counts use the
query with every filter except that facet's own selection. All facets without a selection
share one aggregation; each selected facet costs one more. Measured (100k synthetic
offers, queries matching up to half of them, 2 cores): a terms aggregation over a
multi-valued field costs ~6 ms per facet (search + facets p50 23 ms), over a single-valued
field ~0.2 ms. So each facet is also indexed as one single-valued "combination" value
(the sorted values joined by ``\x1f``); the combinations are counted and summed per value
in Python (exact; p50 ~8 ms). The multi-valued field serves the filters, and the exact
but slow count if a facet ever has more than :data:`MAX_COMBINATIONS` combinations.
Counting per value with one count query each was slower (~1 ms per value).

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
import html
import json
import os
import re
import shutil
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tantivy

ANALYZER = "de_stem"
FOLD_ANALYZER = "de_fold"
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

#: text field -> boost
TEXT_FIELDS: dict[str, float] = {
    "title": 4.0,
    "topics": 3.0,
    "provider": 2.0,
    "place": 1.5,
    "description": 1.0,
}
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
    """``index_dir`` holds no built index yet; build one (``mintsuche reindex``)."""


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


@dataclass
class SearchQuery:
    """A search request. ``page`` is 1-based; ``per_page`` is clamped to 1..100.

    Facet lists select values (OR within a facet, AND between facets); ``free``/``girls``
    filter when not None; ``age`` keeps entries whose age range (or grade range, taken as
    ages grade+5..grade+6) contains it, and entries without any age information.
    """

    q: str = ""
    subjects: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    bundesland: list[str] = field(default_factory=list)
    platforms: list[str] = field(default_factory=list)
    free: bool | None = None
    girls: bool | None = None
    age: int | None = None
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


@dataclass
class SearchResult:
    """Hits of one page, the total number of matches and the facet counts."""

    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    page: int
    per_page: int


# --- analysis --------------------------------------------------------------------------------


def german_analyzer() -> tantivy.TextAnalyzer:
    """Return the index/query analyzer: tokenize, fold umlauts and ß, stem German."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stemmer("german"))
        .build()
    )


def folding_analyzer() -> tantivy.TextAnalyzer:
    """Return the analyzer without stemming (the catch-all field, prefix and fuzzy terms)."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


_STEM = german_analyzer()
_FOLD = folding_analyzer()


@dataclass(frozen=True)
class Word:
    """One query word: its stem (term queries) and folded form (prefix queries)."""

    stem: str
    folded: str


def _clean(text: str) -> str:
    """Drop what cannot be encoded as UTF-8 (lone surrogates)."""
    return text.encode("utf-8", "ignore").decode("utf-8")


def query_words(text: object) -> list[Word]:
    """Split user text into at most :data:`MAX_TERMS` distinct words (never raises)."""
    if not isinstance(text, str):
        return []
    text = _clean(text[:MAX_QUERY_CHARS])
    stems = _STEM.analyze(text)
    folded = _FOLD.analyze(text)
    if len(folded) != len(stems):  # both chains share tokenizer and length filter
        folded = stems
    words: list[Word] = []
    seen: set[str] = set()
    for stem, fold in zip(stems, folded, strict=True):
        if stem in seen:
            continue
        seen.add(stem)
        words.append(Word(stem, fold))
        if len(words) >= MAX_TERMS:
            break
    return words


def _combo_field(facet_field: str) -> str:
    return f"{facet_field}_combo"


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("cluster_id", stored=True, tokenizer_name="raw")
    for name in TEXT_FIELDS:
        sb.add_text_field(name, stored=name == "description", tokenizer_name=ANALYZER)
    sb.add_text_field("all", tokenizer_name=FOLD_ANALYZER)
    for facet_field in FACETS.values():
        # multi-valued: filters, and exact (slow) counts when combinations overflow
        sb.add_text_field(facet_field, tokenizer_name="raw", fast=True)
        # single-valued: the sorted combination of a document's values, counted fast
        sb.add_text_field(_combo_field(facet_field), tokenizer_name="raw", fast=True)
    sb.add_boolean_field("free", indexed=True, fast=True)
    sb.add_boolean_field("girls", indexed=True, fast=True)
    sb.add_integer_field("age_lo", indexed=True, fast=True)
    sb.add_integer_field("age_hi", indexed=True, fast=True)
    sb.add_unsigned_field("title_rank", fast=True)
    sb.add_bytes_field("payload", stored=True)
    return sb.build()


SCHEMA = _schema()


def _register(index: tantivy.Index) -> None:
    index.register_tokenizer(ANALYZER, german_analyzer())
    index.register_tokenizer(FOLD_ANALYZER, folding_analyzer())


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


def _to_document(doc: SearchDoc, rank: int) -> tantivy.Document:
    out = tantivy.Document()
    out.add_text("cluster_id", doc.cluster_id)
    texts = {
        "title": [doc.title],
        "topics": [*doc.subjects, *doc.formats, *doc.keywords],
        "provider": [doc.provider],
        "place": [doc.city, doc.plz, doc.bundesland],
        "description": [doc.description],
    }
    for name, values in texts.items():
        for value in values:
            if value:
                value = _clean(str(value))
                out.add_text(name, value)
                out.add_text("all", value)
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
        "lat": doc.lat,
        "lon": doc.lon,
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

    # building and opening

    @classmethod
    def build(cls, index_dir: str | os.PathLike[str], docs: Iterable[SearchDoc]) -> SearchIndex:
        """Build a new generation from ``docs``, switch to it atomically and open it.

        Readers that opened the previous generation keep working; call
        :meth:`reload_if_changed` to move them on. Generations older than the previous
        one are removed.
        """
        root = Path(index_dir)
        root.mkdir(parents=True, exist_ok=True)
        docs = sorted(docs, key=lambda d: (_title_key(d.title), d.cluster_id))
        with _build_lock(root):
            gen_dir = _new_generation_dir(root)
            try:
                index = tantivy.Index(SCHEMA, path=str(gen_dir), reuse=False)
                _register(index)
                threads = max(1, min(4, os.cpu_count() or 1))
                writer = index.writer(heap_size=40_000_000 * threads, num_threads=threads)
                for rank, doc in enumerate(docs):
                    writer.add_document(_to_document(doc, rank))
                writer.commit()
                writer.wait_merging_threads()
            except BaseException:
                shutil.rmtree(gen_dir, ignore_errors=True)
                raise
            previous = _read_current(root)
            _write_current(root, gen_dir.name)
            keep = {gen_dir.name, previous}
            current_number = int(gen_dir.name[len(GEN_PREFIX) :])
            for number, path in _generations(root):
                if number < current_number and path.name not in keep:
                    shutil.rmtree(path, ignore_errors=True)
        return cls.open(root)

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
                f"no search index in {root}; build one first (mintsuche reindex)"
            )
        index = tantivy.Index.open(str(root / name))
        _register(index)
        return _Generation(name, index, index.searcher(), stamp)

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
                    self._gen.name, self._gen.index, self._gen.searcher, _stamp(self.index_dir)
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

        text_q = _text_query(words) if words else tantivy.Query.all_query()
        base = [_filter(q) for q in _attribute_filters(query)]
        selected = {name: _facet_values(getattr(query, name, None)) for name in FACETS}
        facet_qs = {
            name: _filter(_any_of(FACETS[name], values))
            for name, values in selected.items()
            if values
        }

        main = _and([text_q, *base, *facet_qs.values()])
        offset = (page - 1) * per_page
        if offset + per_page <= MAX_WINDOW:
            if words:
                found = searcher.search(main, per_page, count=True, offset=offset)
            else:
                found = searcher.search(
                    main,
                    per_page,
                    count=True,
                    offset=offset,
                    order_by_field="title_rank",
                    order=tantivy.Order.Asc,
                )
            raw_hits = found.hits
        else:
            found = searcher.search(main, 1, count=True)
            raw_hits = []
        total = int(found.count or 0)

        snippets = _Snippets(searcher, words)
        hits = [
            _hit(searcher, address, float(score) if words else 0.0, snippets)
            for score, address in raw_hits
        ]

        facets = self._facet_counts(searcher, text_q, base, facet_qs, main, selected)
        return SearchResult(total=total, hits=hits, facets=facets, page=page, per_page=per_page)

    def _facet_counts(
        self,
        searcher: tantivy.Searcher,
        text_q: tantivy.Query,
        base: list[tantivy.Query],
        facet_qs: dict[str, tantivy.Query],
        main: tantivy.Query,
        selected: dict[str, list[str]],
    ) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        plain = [name for name in FACETS if name not in facet_qs]
        if plain:
            counts.update(_aggregate(searcher, main, plain))
        for name in facet_qs:
            others = [q for other, q in facet_qs.items() if other != name]
            counts.update(_aggregate(searcher, _and([text_q, *base, *others]), [name]))
        facets: dict[str, dict[str, int]] = {}
        for name in FACETS:
            values = counts.get(name, {})
            for value in selected[name]:
                values.setdefault(value, 0)
            facets[name] = dict(sorted(values.items(), key=lambda kv: (-kv[1], kv[0])))
        return facets

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


def _and(queries: Sequence[tantivy.Query]) -> tantivy.Query:
    if len(queries) == 1:
        return queries[0]
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in queries])


def _or(queries: Sequence[tantivy.Query]) -> tantivy.Query:
    if len(queries) == 1:
        return queries[0]
    return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in queries])


def _filter(query: tantivy.Query) -> tantivy.Query:
    return tantivy.Query.const_score_query(query, 0.0)


def _any_of(field_name: str, values: list[str]) -> tantivy.Query:
    return _or([tantivy.Query.term_query(SCHEMA, field_name, value) for value in values])


def _attribute_filters(query: SearchQuery) -> list[tantivy.Query]:
    filters = []
    for name in ("free", "girls"):
        value = getattr(query, name, None)
        if isinstance(value, bool):
            filters.append(tantivy.Query.term_query(SCHEMA, name, value))
    age = query.age
    if age is not None and not isinstance(age, bool):
        age = _clamp_int(age, 0, 200, -1)
        if age >= 0:
            integer = tantivy.FieldType.Integer
            filters.append(tantivy.Query.range_query(SCHEMA, "age_lo", integer, upper_bound=age))
            filters.append(tantivy.Query.range_query(SCHEMA, "age_hi", integer, lower_bound=age))
    return filters


def _text_query(words: list[Word]) -> tantivy.Query:
    """Every word must match: stem in a text field, prefix (last word) or fuzzy."""
    clauses = []
    for position, word in enumerate(words):
        options = [
            tantivy.Query.boost_query(tantivy.Query.term_query(SCHEMA, name, word.stem), boost)
            for name, boost in TEXT_FIELDS.items()
        ]
        options.append(tantivy.Query.term_query(SCHEMA, "all", word.folded))
        if position == len(words) - 1 and len(word.folded) >= PREFIX_MIN_LEN:
            prefix = tantivy.Query.fuzzy_term_query(
                SCHEMA, "all", word.folded, distance=0, prefix=True
            )
            options.append(tantivy.Query.boost_query(prefix, PREFIX_BOOST))
        if len(word.folded) >= FUZZY_MIN_LEN and not word.folded.isdigit():
            fuzzy = tantivy.Query.fuzzy_term_query(SCHEMA, "all", word.folded, distance=1)
            options.append(tantivy.Query.boost_query(fuzzy, FUZZY_BOOST))
        clauses.append(_or(options))
    return _and(clauses)


def _aggregate(
    searcher: tantivy.Searcher, query: tantivy.Query, names: list[str]
) -> dict[str, dict[str, int]]:
    """Count facet values of the documents matching ``query``.

    tantivy's terms aggregation is ~20x faster on single-valued fields, so it counts the
    combinations (one value per document) and the counts are summed per value here. Only
    if a facet has more than :data:`MAX_COMBINATIONS` combinations in the matching
    documents does it fall back to the multi-valued field.
    """
    aggs = {
        name: {"terms": {"field": _combo_field(FACETS[name]), "size": MAX_COMBINATIONS}}
        for name in names
    }
    result = searcher.aggregate(query, aggs)
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
    return out


class _Snippets:
    """Highlighted description excerpts for the words of one query."""

    def __init__(self, searcher: tantivy.Searcher, words: list[Word]) -> None:
        self._generator: Any = None
        if words:
            terms = [tantivy.Query.term_query(SCHEMA, "description", w.stem) for w in words]
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


def _hit(
    searcher: tantivy.Searcher, address: tantivy.DocAddress, score: float, snippets: _Snippets
) -> Hit:
    doc = searcher.doc(address)
    payload = json.loads(bytes(doc.get_first("payload") or b"{}").decode("utf-8"))
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
    )
