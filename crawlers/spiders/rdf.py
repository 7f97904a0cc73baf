"""The spider for ``kind: rdf`` sources: RDF documents (Turtle, RDF/XML, N-Triples, JSON-LD).

All documents of a source (its ``start_urls``, fetched one after the other in the declared
order) are parsed into ONE :class:`rdflib.Graph`; only when the last one has arrived (or
failed) does the spider yield one record per subject of ``rdf.class`` that passes the
optional ``rdf.where`` filter, sorted by subject URI.

- ``source_key`` is the subject URI; ``url`` is the first start URL (original host).
- Field rules use ``path``: CURIEs (or ``<IRI>``) joined by ``/``, ``^p`` for an inverse
  step and ``|`` between alternatives (``a/b | c``: the values of ``a/b`` first, then
  those of ``c``), evaluated with :mod:`rdflib.paths`. Literals and URIs become strings
  (sorted within each alternative, since RDF values have no order), blank nodes are
  skipped; ``many``/``split``/``regex`` work as in :mod:`crawlers.extract`. ``value``
  rules give constants.
- A document's format comes from ``rdf.documents`` (matched by URL) or from its suffix
  (``.ttl`` turtle, ``.rdf``/``.xml`` xml, ``.jsonld``/``.json`` json-ld, ``.nt``
  nt, ``.n3`` n3), else from the ``Content-Type``, else Turtle. JSON-LD documents are
  parsed with the declared ``context`` (plain JSON becomes RDF that way).
- ``rdf.documents`` URLs that are not start URLs are *supplementary*: fetched after the
  start URLs, but a failure to fetch one only counts ``mintsuche/page_failed`` (use this
  for a document that exists only in the recorded snapshot, or may be missing).

How it fails: a document that cannot be parsed increments ``mintsuche/errors/parse`` and
is logged at ERROR; it contributes no triples (it is parsed into its own graph first), the
other documents still count. A document that cannot be fetched is recorded by
``SourceSpider.on_start_error`` (the run is then marked failed) and the chain goes on. A
subject that is a blank node is dropped (``mintsuche/dropped/blank_subject``). A ``path``,
``where`` or ``class`` that cannot be compiled (unknown prefix, bad syntax) counts
``mintsuche/errors/config``, is logged at ERROR and yields no records.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import Any

import scrapy
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF
from rdflib.paths import AlternativePath, InvPath, Path, SequencePath
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.extract import RawValue, constant_value, finish_value
from crawlers.spiders.base import STATS_PREFIX, SourceSpider

PARSE_ERROR_STAT = f"{STATS_PREFIX}/errors/parse"
CONFIG_ERROR_STAT = f"{STATS_PREFIX}/errors/config"

DEFAULT_PREFIXES: dict[str, str] = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}

# suffix -> rdflib parser name
SUFFIX_FORMATS: dict[str, str] = {
    ".ttl": "turtle",
    ".rdf": "xml",
    ".owl": "xml",
    ".xml": "xml",
    ".jsonld": "json-ld",
    ".json": "json-ld",
    ".nt": "nt",
    ".n3": "n3",
}

CONTENT_TYPE_FORMATS: dict[str, str] = {
    "text/turtle": "turtle",
    "application/x-turtle": "turtle",
    "application/rdf+xml": "xml",
    "application/ld+json": "json-ld",
    "application/json": "json-ld",
    "application/n-triples": "nt",
    "text/n3": "n3",
}

# names accepted in ``rdf.documents[].format`` besides rdflib's own
FORMAT_ALIASES: dict[str, str] = {
    "ttl": "turtle",
    "rdfxml": "xml",
    "rdf/xml": "xml",
    "rdf+xml": "xml",
    "jsonld": "json-ld",
    "ntriples": "nt",
    "n-triples": "nt",
}

_TERM = re.compile(r"<[^<>\s]*>|[A-Za-z_][\w.-]*:[^\s/|<>^]*")


class RdfPathError(ValueError):
    """A ``path`` (or a ``where`` value) that cannot be read: unknown prefix, bad syntax."""


# -- terms and paths ---------------------------------------------------------------------


def all_prefixes(declared: Mapping[str, str] | None) -> dict[str, str]:
    """The source's prefixes over the defaults (rdf, rdfs, owl, xsd)."""
    prefixes = dict(DEFAULT_PREFIXES)
    prefixes.update({str(k): str(v) for k, v in (declared or {}).items()})
    return prefixes


def expand_curie(text: str, prefixes: Mapping[str, str]) -> str | None:
    """``"ld:Kosten"`` -> full IRI, ``"<http://…>"`` -> ``http://…``; ``None`` if neither.

    A string with an undeclared prefix (``"Leipzig, Peterssteinweg 18"``, ``"http://x"``)
    is not a CURIE and gives ``None``.
    """
    text = text.strip()
    if text.startswith("<") and text.endswith(">"):
        return text[1:-1]
    prefix, sep, local = text.partition(":")
    if sep and prefix in prefixes and not local.startswith("//"):
        return prefixes[prefix] + local
    return None


def _term(text: str, prefixes: Mapping[str, str], path: str) -> URIRef:
    iri = expand_curie(text, prefixes)
    if iri is None:
        raise RdfPathError(f"path {path!r}: {text!r} is not a CURIE with a declared prefix")
    return URIRef(iri)


def _compile_sequence(text: str, prefixes: Mapping[str, str], path: str) -> URIRef | Path:
    steps: list[URIRef | Path] = []
    pos = 0
    expect_step = True
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        if not expect_step:
            if text[pos] != "/":
                raise RdfPathError(f"path {path!r}: expected '/' at {text[pos:]!r}")
            pos += 1
            expect_step = True
            continue
        inverse = text[pos] == "^"
        if inverse:
            pos += 1
            while pos < len(text) and text[pos].isspace():
                pos += 1
        match = _TERM.match(text, pos)
        if match is None:
            raise RdfPathError(f"path {path!r}: expected a CURIE at {text[pos:]!r}")
        term = _term(match.group(0), prefixes, path)
        steps.append(InvPath(term) if inverse else term)
        pos = match.end()
        expect_step = False
    if expect_step:
        raise RdfPathError(f"path {path!r}: empty step")
    return steps[0] if len(steps) == 1 else SequencePath(*steps)


def compile_path(text: str, prefixes: Mapping[str, str]) -> URIRef | Path:
    """Compile ``"ld:relatedBundle/rdfs:label | ^ld:x"`` into an rdflib path.

    Steps are CURIEs or ``<IRI>``s joined by ``/``; ``^`` before a step inverts it; ``|``
    separates alternatives (evaluated in order). Raises :class:`RdfPathError`.
    """
    # '|' never occurs inside a CURIE or an <IRI> accepted by _TERM
    branches = text.split("|")
    compiled = [_compile_sequence(part, prefixes, text) for part in branches]
    return compiled[0] if len(compiled) == 1 else AlternativePath(*compiled)


def node_text(node: Any) -> str | None:
    """A literal's lexical form or a URI as string; ``None`` for blank nodes."""
    if isinstance(node, BNode):
        return None
    if isinstance(node, Literal | URIRef):
        return str(node)
    return None


def select_values(graph: Graph, subject: URIRef, path: URIRef | Path) -> list[str]:
    """The string values reached from ``subject`` by ``path``, without repeats.

    RDF values have no order and rdflib's iteration order depends on how the graph was
    built, so the values of each alternative are sorted (by string); alternatives keep
    their declared order (``a | b``: all values of ``a`` first). This keeps records, and
    their content hashes, identical from run to run.
    """
    branches = list(path.args) if isinstance(path, AlternativePath) else [path]
    seen: set[str] = set()
    out: list[str] = []
    for branch in branches:
        texts = {node_text(node) for node in graph.objects(subject, branch)}
        for text in sorted(t for t in texts if t is not None):
            if text not in seen:
                seen.add(text)
                out.append(text)
    return out


def wanted_values(value: Any, prefixes: Mapping[str, str]) -> set[str]:
    """``where`` value(s) as strings: CURIEs expanded to IRIs, other values literally."""
    items = value if isinstance(value, list | tuple | set) else [value]
    out: set[str] = set()
    for item in items:
        text = str(item)
        iri = expand_curie(text, prefixes)
        out.add(iri if iri is not None else text)
    return out


def compile_where(
    where: Mapping[str, Any] | None, prefixes: Mapping[str, str]
) -> list[tuple[URIRef | Path, set[str]]]:
    """``{path: value | [values]}`` -> compiled filters (all must hold; a list is any-of)."""
    return [
        (compile_path(path, prefixes), wanted_values(value, prefixes))
        for path, value in (where or {}).items()
    ]


def passes_where(
    graph: Graph, subject: URIRef, filters: Iterable[tuple[URIRef | Path, set[str]]]
) -> bool:
    """True when, for every filter, some value reached by its path is a wanted value."""
    for path, wanted in filters:
        if not any(text in wanted for text in select_values(graph, subject, path)):
            return False
    return True


# -- documents ---------------------------------------------------------------------------


def _norm_url(url: str) -> str:
    return url.split("#", 1)[0].rstrip("/")


def document_spec(url: str, documents: Iterable[Any] | None) -> Any | None:
    """The ``rdf.documents`` entry whose ``url`` equals ``url`` (``None`` if there is none)."""
    for doc in documents or []:
        if _norm_url(str(getattr(doc, "url", ""))) == _norm_url(url):
            return doc
    return None


def guess_format(url: str, content_type: str | None = None) -> str:
    """The rdflib parser for ``url`` by suffix, else by content type, else ``turtle``."""
    path = url.split("?", 1)[0].split("#", 1)[0].lower()
    for suffix, fmt in SUFFIX_FORMATS.items():
        if path.endswith(suffix):
            return fmt
    if content_type:
        mime = content_type.split(";", 1)[0].strip().lower()
        if mime in CONTENT_TYPE_FORMATS:
            return CONTENT_TYPE_FORMATS[mime]
    return "turtle"


def parse_document(
    body: bytes, url: str, fmt: str, context: Mapping[str, Any] | None = None
) -> Graph:
    """Parse one document into a new graph; raises whatever the rdflib parser raises.

    ``context`` (JSON-LD only) is the ``@context`` applied to the document, so plain JSON
    with ``_id``-style keys becomes RDF.
    """
    fmt = FORMAT_ALIASES.get(fmt.lower(), fmt.lower())
    graph = Graph()
    kwargs: dict[str, Any] = {}
    if fmt == "json-ld" and context:
        kwargs["context"] = dict(context)
    with warnings.catch_warnings():
        # rdflib 7's JSON-LD parser builds a ConjunctiveGraph internally
        warnings.filterwarnings(
            "ignore", message="ConjunctiveGraph is deprecated", category=DeprecationWarning
        )
        graph.parse(data=body, format=fmt, publicID=url, **kwargs)
    return graph


# -- records -----------------------------------------------------------------------------


def rdf_class(spec: Any) -> str:
    """``rdf.class`` of a spec (stored as ``class_`` since ``class`` is a keyword)."""
    for name in ("class_", "klass", "cls", "class"):
        value = getattr(spec, name, None)
        if value:
            return str(value)
    raise RdfPathError("rdf section without 'class'")


def extract_fields(
    graph: Graph,
    subject: URIRef,
    rules: Mapping[str, Any],
    compiled: Mapping[str, URIRef | Path],
) -> dict[str, RawValue | None]:
    """Apply every field rule to ``subject`` (``compiled`` holds the rules' paths)."""
    fields: dict[str, RawValue | None] = {}
    for name, rule in rules.items():
        if getattr(rule, "value", None) is not None:
            fields[name] = constant_value(rule)
        elif name in compiled:
            fields[name] = finish_value(select_values(graph, subject, compiled[name]), rule)
    return fields


def iter_subject_fields(
    graph: Graph, source: Any
) -> Iterator[tuple[URIRef | BNode, dict[str, RawValue | None]]]:
    """Yield ``(subject, fields)`` for each subject of ``rdf.class`` passing ``where``.

    Subjects come sorted by their string form; paths are compiled once (raising
    :class:`RdfPathError` for a bad one).
    """
    spec = source.rdf
    prefixes = all_prefixes(getattr(spec, "prefixes", None))
    class_iri = expand_curie(rdf_class(spec), prefixes)
    if class_iri is None:
        raise RdfPathError(f"rdf.class {rdf_class(spec)!r} is not a CURIE with a declared prefix")
    filters = compile_where(getattr(spec, "where", None), prefixes)
    rules = dict(source.fields or {})
    compiled = {
        name: compile_path(rule.path, prefixes)
        for name, rule in rules.items()
        if getattr(rule, "path", None) and getattr(rule, "value", None) is None
    }
    subjects = sorted(set(graph.subjects(RDF.type, URIRef(class_iri))), key=str)
    for subject in subjects:
        if isinstance(subject, URIRef) and not passes_where(graph, subject, filters):
            continue
        if not isinstance(subject, URIRef):
            yield subject, {}
            continue
        yield subject, extract_fields(graph, subject, rules, compiled)


# -- spider ------------------------------------------------------------------------------


def document_urls(start_urls: Iterable[str], source: Any) -> list[str]:
    """The start URLs, then the ``rdf.documents`` URLs that are not among them."""
    urls = [str(u) for u in start_urls]
    seen = {_norm_url(u) for u in urls}
    for doc in getattr(getattr(source, "rdf", None), "documents", None) or []:
        url = str(getattr(doc, "url", "") or "")
        if url and _norm_url(url) not in seen:
            seen.add(_norm_url(url))
            urls.append(url)
    return urls


def _failed_index(failure: Failure) -> int:
    request = getattr(failure, "request", None)
    return int(request.cb_kwargs.get("index", 0)) if request is not None else 0


class RdfSpider(SourceSpider):
    """Fetch all documents of an rdf source into one graph, then yield its records.

    The documents are the ``start_urls`` (required: a failure marks the run failed) followed
    by the ``rdf.documents`` URLs that are not start URLs (supplementary: a failure is
    counted as ``mintsuche/page_failed`` and the run goes on without them).
    """

    kind = "rdf"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.graph = Graph()
        self.documents_parsed = 0
        self.document_urls = document_urls(self.start_urls, self.source)

    async def start(self) -> AsyncIterator[Any]:
        """Request the first document; each callback requests the next one."""
        if self.document_urls:
            yield self._document_request(0)

    def _document_request(self, index: int) -> scrapy.Request:
        url = self.document_urls[index]
        request = self.start_request(url, callback=self.parse, cb_kwargs={"index": index})
        if index >= len(self.start_urls):
            return request.replace(errback=self.on_supplement_error)
        return request.replace(errback=self.on_document_error)

    def parse(self, response: Response, index: int = 0, **kwargs: Any) -> Iterator[Any]:
        """Parse one document into the graph, then fetch the next or emit the records."""
        self.add_document(response)
        yield from self._next(index)

    def on_document_error(self, failure: Failure) -> Iterator[Any]:
        """A start URL that could not be fetched: record it, go on with the next one."""
        self.on_start_error(failure)
        yield from self._next(_failed_index(failure))

    def on_supplement_error(self, failure: Failure) -> Iterator[Any]:
        """A supplementary document that could not be fetched: count it, go on."""
        self.on_page_error(failure)
        yield from self._next(_failed_index(failure))

    def _next(self, index: int) -> Iterator[Any]:
        if index + 1 < len(self.document_urls):
            yield self._document_request(index + 1)
        else:
            yield from self.emit_records()

    def add_document(self, response: Response) -> bool:
        """Parse ``response`` and merge its triples; count and log a parse error."""
        url = response.url
        spec = document_spec(url, getattr(self.source.rdf, "documents", None))
        fmt = getattr(spec, "format", None) or guess_format(
            url, response.headers.get("Content-Type", b"").decode("latin-1")
        )
        context = getattr(spec, "context", None)
        try:
            doc_graph = parse_document(response.body, url, fmt, context)
        except Exception as exc:  # any parser error is a counted parse error
            self.count(PARSE_ERROR_STAT)
            self.logger.error("cannot parse %s as %s: %s: %s", url, fmt, type(exc).__name__, exc)
            return False
        self.graph += doc_graph
        self.documents_parsed += 1
        self.logger.info("parsed %s as %s: %d triples", url, fmt, len(doc_graph))
        return True

    def emit_records(self) -> Iterator[Any]:
        """Yield one record per subject of ``rdf.class`` (sorted by URI)."""
        if not self.documents_parsed:
            return
        url = self.document_urls[0]
        try:
            for subject, fields in iter_subject_fields(self.graph, self.source):
                if not isinstance(subject, URIRef):
                    self.drop("blank_subject", url)
                    continue
                record = self.make_record(str(subject), url, fields)
                if record is not None:
                    yield record
        except RdfPathError as exc:
            self.count(CONFIG_ERROR_STAT)
            self.logger.error("source %s: %s", self.source.id, exc)
