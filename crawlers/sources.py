"""The ``sources.yaml`` model and loader.

``sources.yaml`` lists every platform MINT-Suche harvests. It is validated once, here, into
typed pydantic objects (``extra="forbid"`` everywhere), and every problem of every source is
reported at once with its file and line::

    sources.yaml:57: komm_mach_mint.strat_urls: unknown field 'strat_urls' (did you mean
    'start_urls'?)

Public API:

- :func:`load_sources` / :func:`parse_sources` return a :class:`SourceConfig` or raise
  :class:`SourcesError` (a list of :class:`SourceProblem`).
- :class:`Source` with its parts :class:`Licence`, :class:`Politeness`, :class:`FieldRule`,
  :class:`HtmlSpec`, :class:`RdfSpec` (:class:`RdfDocument`), :class:`CsvSpec`,
  :class:`JsonSpec` (:class:`JsonPaging`, :class:`JsonAuth`, :class:`JsonDetail`),
  :class:`IcalSpec`, :class:`JsonldSpec` and :class:`FeedSpec`.
- :func:`sources_json_schema` returns the JSON Schema (draft 2020-12) of the whole file for
  editors.

Adding a source kind: add it to :data:`SourceKind` (that is the one line); if the kind has
its own section, add a ``<kind>: <Kind>Spec | None = None`` field to :class:`Source` and
list the rule keys it accepts in :data:`RULE_KINDS`.
"""

from __future__ import annotations

import codecs
import difflib
import re
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

__all__ = [
    "KINDS",
    "RULE_KINDS",
    "CsvSpec",
    "FeedSpec",
    "FieldRule",
    "HtmlSpec",
    "IcalSpec",
    "JsonAuth",
    "JsonDetail",
    "JsonPaging",
    "JsonSpec",
    "JsonldSpec",
    "Licence",
    "Politeness",
    "RdfDocument",
    "RdfSpec",
    "Source",
    "SourceConfig",
    "SourceKind",
    "SourceProblem",
    "SourcesError",
    "load_sources",
    "parse_sources",
    "sources_json_schema",
]

SourceKind = Literal["html", "rdf", "csv", "json", "ical", "jsonld", "feed"]
"""The kinds of source; one spider per kind. Extend this line to add a kind."""

KINDS: tuple[str, ...] = typing.get_args(SourceKind)
"""All known source kinds, in declaration order."""

RULE_KEYS: tuple[str, ...] = ("css", "xpath", "path", "column", "jmespath", "value")
"""The extraction keys of a :class:`FieldRule`; a rule has exactly one of them."""

RULE_KINDS: dict[str, tuple[str, ...]] = {
    "css": ("html",),
    "xpath": ("html",),
    "path": ("rdf",),
    "column": ("csv",),
    "jmespath": ("json", "ical", "jsonld", "feed"),
    "value": KINDS,
}
"""Which source kinds accept which extraction key (``value`` fits every kind)."""

HTML_ONLY_OPTIONS: tuple[str, ...] = ("from", "attr", "absolute")
"""Field-rule options that only make sense with ``css``/``xpath`` rules."""

SourceId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+$")]
FieldName = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]*$")]
RawValue = str | list[str]

_STRICT = ConfigDict(extra="forbid", populate_by_name=True)


# --------------------------------------------------------------------------- helpers


def _check_http_url(value: str) -> str:
    """Return ``value`` if it is an absolute http(s) URL with a host, else raise ValueError."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in value:
        raise ValueError(f"{value!r} is not an absolute http(s) URL (like 'https://host/path')")
    return value


def _check_jmespath(value: str) -> str:
    """Return ``value`` if it is a valid JMESPath expression, else raise ValueError."""
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        jmespath.compile(value)
    except JMESPathError as exc:
        raise ValueError(f"invalid JMESPath expression {value!r}: {exc}") from None
    return value


def _check_raw_value(value: Any) -> str | None:
    """Return an error message if ``value`` is neither a string nor a list of strings."""
    if isinstance(value, str):
        return None
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return None
    return (
        f"must be a string or a list of strings, got {value!r} "
        "(quote numbers and dates, e.g. '01067')"
    )


def _raise_at(title: str, errors: Sequence[tuple[tuple[str | int, ...], str, Any]]) -> None:
    """Raise one ValidationError with an error per ``(loc, message, input)`` if any.

    Raised inside a validator, pydantic merges these errors into the outer error with the
    outer location prepended, so each problem keeps its exact place in the file.
    """
    if errors:
        raise ValidationError.from_exception_data(
            title,
            [
                InitErrorDetails(
                    type=PydanticCustomError("source_config", message),
                    loc=loc,
                    input=value,
                )
                for loc, message, value in errors
            ],
        )


# --------------------------------------------------------------------------- models


class Licence(BaseModel):
    """Terms under which a source's data may be shown; the attribution is displayed."""

    model_config = _STRICT

    name: str = Field(description="Licence or copyright holder, e.g. 'CC BY 4.0'.")
    url: str | None = Field(None, description="Link to the licence text, if any.")
    attribution: str | None = Field(
        None, description="Attribution line shown next to the source's offers."
    )
    redistribute: bool = Field(
        False, description="True if the data may be redistributed (e.g. in an export)."
    )

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, value: str | None) -> str | None:
        return None if value is None else _check_http_url(value)


class Politeness(BaseModel):
    """How gently a source is crawled."""

    model_config = _STRICT

    download_delay: float = Field(1.0, ge=0, description="Seconds between two requests.")
    concurrent_requests_per_domain: int = Field(1, ge=1, description="Parallel requests.")
    max_pages: int = Field(500, ge=1, description="Stop after this many pages per run.")
    obey_robots: bool = Field(True, description="Respect robots.txt.")
    robots_permission_note: str | None = Field(
        None,
        description="Who allowed crawling despite robots.txt, and when; "
        "required when obey_robots is false.",
    )

    @model_validator(mode="after")
    def _robots_needs_note(self) -> Self:
        if not self.obey_robots and not (self.robots_permission_note or "").strip():
            _raise_at(
                "Politeness",
                [
                    (
                        ("obey_robots",),
                        "obey_robots: false needs a robots_permission_note saying who "
                        "allowed crawling and when",
                        self.obey_robots,
                    )
                ],
            )
        return self


class FieldRule(BaseModel):
    """How to extract one canonical field.

    Exactly one of ``css``, ``xpath`` (html), ``path`` (rdf property path: CURIEs joined
    with ``/``, ``^p`` for inverse), ``column`` (csv) or ``value`` (a constant). The other
    keys are options, applied to the selected strings in this order (see
    ``crawlers.extract.finish_value``): ``join`` (or, without ``many``, keep the first),
    ``regex`` (keep group 1, or the whole match if the pattern has no group), ``split``.
    ``from``, ``attr`` and ``absolute`` only apply to css/xpath rules.
    """

    model_config = _STRICT

    css: str | None = Field(None, description="CSS selector (html), e.g. 'h1::text'.")
    xpath: str | None = Field(None, description="XPath expression (html).")
    path: str | None = Field(
        None, description="RDF property path: CURIEs joined with '/', '^p' for inverse."
    )
    column: str | None = Field(None, description="CSV column name.")
    jmespath: str | None = Field(
        None,
        description="JMESPath expression on one record (json, jsonld, feed, ical), "
        "e.g. 'venue.address.zipCode'.",
    )
    value: RawValue | None = Field(None, description="Constant value.")
    many: bool = Field(False, description="Keep all matches as a list instead of the first.")
    split: str | None = Field(None, description="Separator to split the text into a list.")
    regex: str | None = Field(
        None, description="Regular expression; group 1 is kept (the whole match without groups)."
    )
    join: str | None = Field(None, description="Join several text nodes with this string.")
    from_: Literal["detail"] | None = Field(
        None, alias="from", description="'detail': evaluate on the detail page (html)."
    )
    attr: str | None = Field(None, description="Take this HTML attribute (html).")
    absolute: bool = Field(False, description="Make the URL absolute (html).")
    map_: dict[str, RawValue] | None = Field(
        None,
        alias="map",
        description="Replace extracted values by our labels (jmespath rules), e.g. "
        "{'Mathe': 'Mathematik', 'Hybrid': ['Online-Angebot', 'Vor Ort']}; "
        "unlisted values are kept.",
    )

    @field_validator("value", mode="before")
    @classmethod
    def _value_is_raw(cls, value: Any) -> Any:
        if value is not None and (problem := _check_raw_value(value)):
            raise ValueError(problem)
        return value

    @field_validator("jmespath")
    @classmethod
    def _jmespath_compiles(cls, value: str | None) -> str | None:
        return None if value is None else _check_jmespath(value)

    @field_validator("regex")
    @classmethod
    def _regex_compiles(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _exactly_one_extractor(self) -> Self:
        given = [key for key in RULE_KEYS if getattr(self, key) is not None]
        if len(given) != 1:
            found = ", ".join(given) if given else "none"
            _raise_at(
                "FieldRule",
                [((), f"needs exactly one of {', '.join(RULE_KEYS)} (found: {found})", None)],
            )
        if self.map_ is not None and self.extractor != "jmespath":
            _raise_at("FieldRule", [(("map",), "'map' only applies to jmespath rules", None)])
        if self.extractor not in ("css", "xpath"):
            _raise_at(
                "FieldRule",
                [
                    ((option,), f"'{option}' only applies to css/xpath rules", None)
                    for option in HTML_ONLY_OPTIONS
                    if self._option_set(option)
                ],
            )
        return self

    def _option_set(self, option: str) -> bool:
        value = getattr(self, "from_" if option == "from" else option)
        return value not in (None, False)

    @property
    def extractor(self) -> str:
        """The extraction key this rule uses: css, xpath, path, column or value."""
        return next((key for key in RULE_KEYS if getattr(self, key) is not None), "value")

    @property
    def expression(self) -> RawValue:
        """The selector, path, column name or constant of :attr:`extractor`."""
        return getattr(self, self.extractor)


class HtmlSpec(BaseModel):
    """How an html source is read: which elements are records, and how to page."""

    model_config = _STRICT

    rows: str = Field(
        description="CSS selector of one record per element ('xpath:' prefix for XPath)."
    )
    key: str = Field("url", description="Field whose value is the record's source_key.")
    detail: str | None = Field(
        None, description="Field holding the detail URL; rules with from: detail run there."
    )
    next_page: str | None = Field(
        None, description="CSS selector of the next-page link ('xpath:' prefix for XPath)."
    )


class RdfDocument(BaseModel):
    """How to parse one RDF document (the format is guessed by suffix otherwise)."""

    model_config = _STRICT

    url: str = Field(description="URL of the document, usually one of start_urls.")
    format: Literal["turtle", "xml", "json-ld", "nt"] = Field(description="RDF syntax.")
    context: dict[str, Any] | None = Field(None, description="JSON-LD context (json-ld).")

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, value: str) -> str:
        return _check_http_url(value)


class RdfSpec(BaseModel):
    """How an rdf source is read: one record per subject of ``class``."""

    model_config = _STRICT

    prefixes: dict[str, str] = Field(
        default_factory=dict, description="CURIE prefix -> namespace IRI."
    )
    class_: str = Field(
        alias="class", description="CURIE of the class; one record per subject of it."
    )
    where: dict[str, str | list[str]] | None = Field(
        None,
        description="Filter {path: value or [any of values]}, e.g. {'ld:hasTag': 'ldtag:MINT'}.",
    )
    documents: list[RdfDocument] = Field(
        default_factory=list, description="Format hints for the documents to read."
    )


class CsvDocument(BaseModel):
    """Constant columns added to every row of one csv file (e.g. which list it is)."""

    model_config = _STRICT

    url: str = Field(description="URL of the file, one of start_urls.")
    columns: dict[str, str] = Field(
        default_factory=dict, description="Column name -> value added to each row of the file."
    )

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, value: str) -> str:
        return _check_http_url(value)


class CsvSpec(BaseModel):
    """How a csv source is read."""

    model_config = _STRICT

    delimiter: str = Field(",", min_length=1, max_length=1, description="Column separator.")
    encoding: str = Field("utf-8", description="Text encoding, e.g. 'utf-8', 'cp1252'.")
    key: list[str] = Field(
        min_length=1, description="Columns whose values together make the source_key."
    )
    skip_rows: int = Field(0, ge=0, description="Lines to skip before the header row.")
    documents: list[CsvDocument] = Field(
        default_factory=list, description="Per-file constant columns."
    )

    @field_validator("encoding")
    @classmethod
    def _encoding_known(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown text encoding {value!r}") from None
        return value


class JsonAuth(BaseModel):
    """Where a json source's access token goes; the token itself is read from ``env``.

    Never write the token into sources.yaml: name the environment variable that holds it.
    Without that variable the requests go out without a token (a warning is logged).
    """

    model_config = _STRICT

    env: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*$")] = Field(
        description="Name of the environment variable holding the token, e.g. MINTVERNETZT_TOKEN."
    )
    param: str | None = Field(None, description="Query parameter for the token, e.g. access_token.")
    header: str | None = Field(None, description="HTTP header for the token, e.g. Authorization.")
    prefix: str = Field("", description="Text before the token in the header, e.g. 'Bearer '.")

    @model_validator(mode="after")
    def _one_place(self) -> Self:
        if (self.param is None) == (self.header is None):
            _raise_at("JsonAuth", [((), "needs exactly one of 'param' or 'header'", None)])
        return self


class JsonPaging(BaseModel):
    """How a json API pages: by page number, by offset (skip), or by a cursor.

    ``page``: ``param`` = ``start``, ``start`` + 1, …; ``offset``: ``param`` = ``start``,
    ``start`` + ``size``, …; both stop at a page with fewer than ``size`` records.
    ``cursor``: ``param`` = the value of the JMESPath ``cursor`` in the previous response;
    stops when it is empty. ``size_param`` = ``size`` is sent with every request.
    """

    model_config = _STRICT

    mode: Literal["none", "page", "offset", "cursor"] = Field("none", description="How to page.")
    param: str | None = Field(None, description="Query parameter: page number, offset or cursor.")
    size_param: str | None = Field(None, description="Query parameter of the page size, e.g. take.")
    size: int | None = Field(None, ge=1, description="Records per page, e.g. 50.")
    start: int = Field(0, ge=0, description="First page number or offset.")
    cursor: str | None = Field(
        None, description="JMESPath to the next cursor in a response (mode cursor)."
    )

    @field_validator("cursor")
    @classmethod
    def _cursor_compiles(cls, value: str | None) -> str | None:
        return None if value is None else _check_jmespath(value)

    @model_validator(mode="after")
    def _complete(self) -> Self:
        problems: list[tuple[tuple[str | int, ...], str, Any]] = []
        if self.mode != "none" and not self.param:
            problems.append((("param",), f"paging mode '{self.mode}' needs 'param'", None))
        if self.mode in ("page", "offset") and self.size is None:
            problems.append((("size",), f"paging mode '{self.mode}' needs 'size'", None))
        if self.mode == "cursor" and not self.cursor:
            problems.append((("cursor",), "paging mode 'cursor' needs 'cursor'", None))
        _raise_at("JsonPaging", problems)
        return self


class JsonDetail(BaseModel):
    """A document fetched per record of a json source and merged into that record.

    ``url`` (JMESPath on one record) gives the document's address, e.g.
    ``join('', ['https://host/event/', slug, '/ics-download'])``; a relative address is
    resolved against the page's URL, a record without one is kept without the document.
    The parsed document is put into the record object under ``into`` before the field
    rules run, so a rule reads it like any other part of the record, with JMESPath's
    ``||`` as the fallback when it is missing: ``ics.dates || [startTime, endTime]``.
    ``kind: ical`` stores the first VEVENT as the ical kind describes it (``start``,
    ``end``, ``rrule``, ``recurrence``, ``location``, ``dates``, …); ``kind: json`` the
    whole JSON document. The access token of ``json.auth`` is never sent to these URLs.
    """

    model_config = _STRICT

    url: str = Field(description="JMESPath on one record giving the document's URL.")
    kind: Literal["ical", "json"] = Field("ical", description="How the document is parsed.")
    into: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] = Field(
        "detail", description="Key under which the parsed document is added to the record."
    )

    @field_validator("url")
    @classmethod
    def _url_compiles(cls, value: str) -> str:
        return _check_jmespath(value)


class JsonSpec(BaseModel):
    """How a json source is read: where the records are in a response, how to page."""

    model_config = _STRICT

    items: str = Field(
        description="JMESPath to the list of records in a response ('@' if it is the list)."
    )
    key: str = Field("url", description="Field whose value is the record's source_key.")
    paging: JsonPaging = Field(default_factory=JsonPaging, description="How to page.")
    auth: JsonAuth | None = Field(None, description="Access token from an environment variable.")
    detail: JsonDetail | None = Field(
        None, description="A document fetched per record (e.g. its .ics) and merged into it."
    )

    @field_validator("items")
    @classmethod
    def _items_compiles(cls, value: str) -> str:
        return _check_jmespath(value)


class IcalSpec(BaseModel):
    """How an ical source is read: one record per VEVENT of each calendar file."""

    model_config = _STRICT

    key: str = Field("uid", description="Field whose value is the record's source_key.")


class JsonldSpec(BaseModel):
    """How a jsonld source is read: schema.org objects in <script type=application/ld+json>."""

    model_config = _STRICT

    types: list[str] = Field(
        default_factory=lambda: ["Event", "Course", "EducationEvent", "Place"],
        min_length=1,
        description="schema.org types that make a record (top-level objects and @graph).",
    )
    key: str = Field("url", description="Field whose value is the record's source_key.")
    follow: str | None = Field(
        None, description="CSS selector of links (on the start pages) to pages read as well."
    )


class FeedSpec(BaseModel):
    """How a feed source (RSS/Atom) is read: one record per entry."""

    model_config = _STRICT

    key: str = Field("url", description="Field whose value is the record's source_key.")


def _section_field(kind: str) -> str:
    """The :class:`Source` attribute of a kind's section (``json`` is ``json_``)."""
    return "json_" if kind == "json" else kind


class Source(BaseModel):
    """One platform MINT-Suche harvests, as declared in ``sources.yaml``.

    Field order matters: ``kind`` and ``enabled`` come before the fields whose checks
    depend on them (sections, ``start_urls``, ``fields``). A disabled source may leave out
    its start URLs, its kind section and its field rules (a platform known by name whose
    pages nobody has inspected yet); it is never crawled.
    """

    model_config = _STRICT

    id: SourceId = Field(description="Id used everywhere (snapshots, logs, database).")
    title: str = Field(description="Name of the platform.")
    homepage: str = Field(description="Home page of the platform (http/https).")
    description: str = Field("", description="What the platform offers.")
    strengths: list[str] = Field(default_factory=list, description="Positive aspects.")
    kind: SourceKind = Field(description="Which spider reads it: " + ", ".join(KINDS) + ".")
    enabled: bool = Field(True, description="False: keep the entry but never crawl it.")
    notes: str | None = Field(None, description="Maintainer notes.")
    start_urls: list[str] = Field(
        default_factory=list,
        validate_default=True,
        description="Where crawling starts; at least one when enabled.",
    )
    schedule: str = Field(description="5-field cron 'minute hour day month weekday'.")
    licence: Licence = Field(description="Terms of use of the source's data.")
    politeness: Politeness = Field(default_factory=Politeness, description="Crawl limits.")
    constants: dict[str, RawValue] = Field(
        default_factory=dict, description="Field values that hold for every record."
    )
    html: HtmlSpec | None = Field(None, validate_default=True, description="For kind html.")
    rdf: RdfSpec | None = Field(None, validate_default=True, description="For kind rdf.")
    csv: CsvSpec | None = Field(None, validate_default=True, description="For kind csv.")
    json_: JsonSpec | None = Field(
        None, alias="json", validate_default=True, description="For kind json."
    )
    ical: IcalSpec | None = Field(None, validate_default=True, description="For kind ical.")
    jsonld: JsonldSpec | None = Field(None, validate_default=True, description="For kind jsonld.")
    feed: FeedSpec | None = Field(None, validate_default=True, description="For kind feed.")
    fields: dict[FieldName, FieldRule] = Field(
        default_factory=dict,
        validate_default=True,
        description="Canonical field name -> extraction rule; 'title' is required "
        "(a disabled source may have none yet).",
    )

    @field_validator("homepage")
    @classmethod
    def _homepage_is_http(cls, value: str) -> str:
        return _check_http_url(value)

    @field_validator("start_urls")
    @classmethod
    def _start_urls_valid(cls, value: list[str], info: ValidationInfo) -> list[str]:
        problems: list[tuple[tuple[str | int, ...], str, Any]] = []
        for index, url in enumerate(value):
            try:
                _check_http_url(url)
            except ValueError as exc:
                problems.append(((index,), str(exc), url))
        _raise_at("Source", problems)
        if not value and info.data.get("enabled", True):
            raise ValueError("an enabled source needs at least one start URL")
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule_is_cron(cls, value: str) -> str:
        from crawlers.scheduler import cron_trigger  # the scheduler's reading of cron

        try:
            cron_trigger(value)
        except ValueError as exc:
            raise ValueError(
                f"invalid cron expression {value!r}: {exc}; expected 5 fields "
                "'minute hour day month weekday', e.g. '30 2 * * 1'"
            ) from None
        return value

    @field_validator("constants", mode="before")
    @classmethod
    def _constants_are_raw(cls, value: Any) -> Any:
        if isinstance(value, dict):
            _raise_at(
                "Source",
                [
                    ((key,), problem, item)
                    for key, item in value.items()
                    if (problem := _check_raw_value(item))
                ],
            )
        return value

    @field_validator(*(_section_field(kind) for kind in KINDS), mode="after")
    @classmethod
    def _section_matches_kind(cls, value: BaseModel | None, info: ValidationInfo) -> Any:
        kind = info.data.get("kind")
        if kind is None:  # kind itself is invalid; that error is reported on its own
            return value
        name = (info.field_name or "").rstrip("_")
        if name == kind and value is None and info.data.get("enabled", True):
            raise ValueError(f"a source of kind '{kind}' needs an '{kind}:' section")
        if name != kind and value is not None:
            raise ValueError(
                f"an '{name}:' section is only allowed for kind '{name}' "
                f"(this source has kind '{kind}')"
            )
        return value

    @field_validator("fields")
    @classmethod
    def _fields_fit_kind(
        cls, value: dict[str, FieldRule], info: ValidationInfo
    ) -> dict[str, FieldRule]:
        if "title" not in value and (value or info.data.get("enabled", True)):
            raise ValueError("needs at least a 'title' field rule")
        kind = info.data.get("kind")
        if kind is None:
            return value
        problems = []
        for name, rule in value.items():
            key = rule.extractor
            if kind not in RULE_KINDS[key]:
                fitting = [k for k, kinds in RULE_KINDS.items() if kind in kinds]
                problems.append(
                    (
                        (name, key),
                        f"'{key}' rules are for {' / '.join(RULE_KINDS[key])} sources; "
                        f"a {kind} source uses {' or '.join(fitting)}",
                        rule.expression,
                    )
                )
        _raise_at("Source", problems)
        return value

    @model_validator(mode="after")
    def _cross_references(self) -> Self:
        problems: list[tuple[tuple[str | int, ...], str, Any]] = []
        if self.html is not None:
            for option in ("key", "detail"):
                name = getattr(self.html, option)
                if name is not None and name not in self.fields and name not in self.constants:
                    problems.append(
                        (
                            ("html", option),
                            f"names the field {name!r}, which is not under fields"
                            + _did_you_mean(name, self.fields),
                            name,
                        )
                    )
            if self.html.detail is None:
                problems.extend(
                    (
                        ("fields", name, "from"),
                        "'from: detail' needs html.detail (the field with the detail URL)",
                        "detail",
                    )
                    for name, rule in self.fields.items()
                    if rule.from_ == "detail"
                )
        for kind in ("json", "ical", "jsonld", "feed"):
            section = getattr(self, _section_field(kind))
            if section is not None and section.key not in self.fields:
                problems.append(
                    (
                        (kind, "key"),
                        f"names the field {section.key!r}, which is not under fields"
                        + _did_you_mean(section.key, self.fields),
                        section.key,
                    )
                )
        _raise_at("Source", problems)
        return self

    def hosts(self) -> set[str]:
        """Return the host names of the start URLs and of the RDF documents."""
        urls = list(self.start_urls)
        if self.rdf is not None:
            urls.extend(document.url for document in self.rdf.documents)
        return {host for url in urls if (host := urlsplit(url).hostname)}

    def allowed_domains(self) -> list[str]:
        """Return :meth:`hosts` sorted, for a Scrapy spider's ``allowed_domains``."""
        return sorted(self.hosts())

    def section(self) -> BaseModel | None:
        """Return the kind-specific section (``html``, ``rdf``, ``csv``, …) or None."""
        return getattr(self, _section_field(self.kind), None)


class SourceConfig(BaseModel):
    """The whole ``sources.yaml``: a list of sources with unique ids."""

    model_config = ConfigDict(
        extra="forbid",
        title="MINT-Suche sources.yaml",
        json_schema_extra={
            "description": "Every platform MINT-Suche harvests, one entry per source. "
            "Validated by crawlers/sources.py (docs/design.md, section 'Sources')."
        },
    )

    sources: list[Source] = Field(default_factory=list, description="One entry per source.")

    @model_validator(mode="after")
    def _ids_unique(self) -> Self:
        seen: set[str] = set()
        problems = []
        for index, source in enumerate(self.sources):
            if source.id in seen:
                problems.append(
                    (("sources", index, "id"), f"duplicate source id {source.id!r}", source.id)
                )
            seen.add(source.id)
        _raise_at("SourceConfig", problems)
        return self

    def get(self, source_id: str) -> Source | None:
        """Return the source with this id, or None (like ``dict.get``)."""
        return next((source for source in self.sources if source.id == source_id), None)

    def unknown_id_message(self, source_id: str) -> str:
        """Return ``unknown source id 'x' (did you mean 'y'?)`` for error messages."""
        return f"unknown source id {source_id!r}" + _did_you_mean(source_id, self.ids)

    @property
    def ids(self) -> list[str]:
        """The source ids in file order."""
        return [source.id for source in self.sources]

    def enabled(self) -> list[Source]:
        """The sources with ``enabled: true``, in file order."""
        return [source for source in self.sources if source.enabled]


# --------------------------------------------------------------------------- problems


@dataclass(frozen=True, slots=True)
class SourceProblem:
    """One problem in a sources file.

    ``line`` is 1-based (None if unknown), ``source_id`` the entry's id (or
    ``sources[3]`` if it has no usable id, None for file-level problems), ``field`` the
    dotted path inside the entry (``fields.title.css``, ``start_urls[1]``) or None.
    """

    file: str
    line: int | None
    source_id: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        what = ".".join(part for part in (self.source_id, self.field) if part)
        return f"{where}: {what}: {self.message}" if what else f"{where}: {self.message}"


class SourcesError(Exception):
    """``sources.yaml`` could not be loaded; :attr:`problems` lists every problem found."""

    def __init__(self, problems: Iterable[SourceProblem]) -> None:
        self.problems: list[SourceProblem] = sorted(
            problems, key=lambda p: (p.file, p.line if p.line is not None else 0)
        )
        super().__init__(str(self))

    def __str__(self) -> str:
        count = len(self.problems)
        files = sorted({problem.file for problem in self.problems})
        where = f" in {files[0]}" if len(files) == 1 else ""
        summary = f"{count} problem{'' if count == 1 else 's'}{where}"
        return "\n".join([*(str(problem) for problem in self.problems), summary])


def _did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """Return `` (did you mean 'x'?)`` for the closest candidate, or ``""``."""
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


# --------------------------------------------------------------------------- loading


def load_sources(path: str | Path) -> SourceConfig:
    """Read and validate a sources file.

    Raises :class:`SourcesError` listing every problem: a missing or unreadable file,
    broken YAML, or any invalid entry (all entries are checked, not just the first bad one).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourcesError([SourceProblem(str(path), None, None, None, "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourcesError(
            [SourceProblem(str(path), None, None, None, f"cannot read file: {exc}")]
        ) from None
    return parse_sources(text, str(path))


def parse_sources(text: str, filename: str = "sources.yaml") -> SourceConfig:
    """Validate the YAML ``text`` of a sources file; ``filename`` is used in messages.

    Raises :class:`SourcesError` listing every problem found.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        message = ": ".join(part for part in (exc.context, exc.problem) if part)
        if exc.context_mark is not None and exc.context_mark.line + 1 != line:
            message += f" (the construct starts at line {exc.context_mark.line + 1})"
        raise SourcesError(
            [SourceProblem(filename, line, None, None, f"invalid YAML: {message}")]
        ) from None
    except yaml.YAMLError as exc:
        raise SourcesError(
            [SourceProblem(filename, None, None, None, f"invalid YAML: {exc}")]
        ) from None

    problems = [
        SourceProblem(filename, line, None, None, message)
        for line, message in _duplicate_keys(root)
    ]
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(
            SourceProblem(filename, _line(root), None, None, "expected a mapping 'sources: [...]'")
        )
        raise SourcesError(problems)
    for key in data:
        if key != "sources":
            problems.append(
                SourceProblem(
                    filename,
                    _key_line(root, key),
                    None,
                    str(key),
                    f"unknown top-level key {key!r}" + _did_you_mean(str(key), ["sources"]),
                )
            )
    entries = data.get("sources") or []
    entries_node = _child(root, "sources")
    if not isinstance(entries, list):
        problems.append(
            SourceProblem(
                filename, _line(entries_node), None, "sources", "must be a list of sources"
            )
        )
        raise SourcesError(problems)

    sources: list[Source] = []
    first_line: dict[str, int | None] = {}
    for index, entry in enumerate(entries):
        node = _child(entries_node, index)
        source, found = _validate_entry(entry, node, index, filename)
        problems.extend(found)
        if source is None:
            continue
        if source.id in first_line:
            problems.append(
                SourceProblem(
                    filename,
                    _line(_child(node, "id")),
                    source.id,
                    "id",
                    f"duplicate source id {source.id!r} "
                    f"(first defined at line {first_line[source.id]})",
                )
            )
        else:
            first_line[source.id] = _line(_child(node, "id"))
        sources.append(source)

    if problems:
        raise SourcesError(problems)
    return SourceConfig(sources=sources)


def _validate_entry(
    entry: Any, node: yaml.Node | None, index: int, filename: str
) -> tuple[Source | None, list[SourceProblem]]:
    """Validate one source entry; return the source (or None) and its problems."""
    if not isinstance(entry, dict):
        return None, [
            SourceProblem(
                filename, _line(node), f"sources[{index}]", None, "expected a mapping (id: …)"
            )
        ]
    raw_id = entry.get("id")
    label = raw_id if isinstance(raw_id, str) and raw_id else f"sources[{index}]"
    entry_line = _line(_child(node, "id")) or _line(node)
    problems: list[SourceProblem] = []

    kind = entry.get("kind")
    known = ", ".join(KINDS)
    if "kind" not in entry:
        problems.append(
            SourceProblem(filename, entry_line, label, "kind", f"missing kind (one of: {known})")
        )
    elif kind not in KINDS:
        hint = _did_you_mean(kind, KINDS) if isinstance(kind, str) else ""
        problems.append(
            SourceProblem(
                filename,
                _line(_child(node, "kind")),
                label,
                "kind",
                f"unknown kind {kind!r}{hint}; known kinds: {known}",
            )
        )

    try:
        source = Source.model_validate(entry)
    except ValidationError as exc:
        errors = exc.errors()
        # A misspelt key ('strat_urls') also makes the intended one ('start_urls') look
        # absent; report only the misspelling.
        misspelt = {
            (*error["loc"][:-1], match)
            for error in errors
            if error["type"] == "extra_forbidden"
            for match in difflib.get_close_matches(
                str(error["loc"][-1]), _known_keys(error["loc"][:-1]), n=1, cutoff=0.6
            )
        }
        for error in errors:
            loc = error["loc"]
            if loc and loc[0] == "kind":
                continue  # reported above, without pydantic's literal noise
            if tuple(loc) in misspelt and not _present(entry, loc):
                continue
            problems.append(
                SourceProblem(
                    filename,
                    _error_line(node, loc, error["type"], entry_line),
                    label,
                    _format_loc(loc) or None,
                    _error_message(error),
                )
            )
        return None, problems
    return (None if problems else source), problems


def _present(data: Any, loc: Sequence[str | int]) -> bool:
    """Return True if ``loc`` exists in the plain ``data`` read from YAML."""
    for part in loc:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return False
    return True


def _format_loc(loc: Sequence[str | int]) -> str:
    """Format a pydantic location as ``fields.title.css`` / ``start_urls[1]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def _error_message(error: Any) -> str:
    """Turn one pydantic error dict into a message for maintainers."""
    kind = error["type"]
    loc = error["loc"]
    name = str(loc[-1]) if loc else ""
    if kind == "missing":
        return f"missing required field {name!r}"
    if kind == "extra_forbidden":
        known = _known_keys(loc[:-1])
        hint = _did_you_mean(name, known)
        if not hint and known:
            hint = f" (allowed: {', '.join(known)})"
        return f"unknown field {name!r}{hint}"
    if loc and loc[-1] == "[key]":
        return f"invalid name {error['input']!r}: use lower_snake_case like 'house_number'"
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if kind == "string_pattern_mismatch" and name == "id":
        return f"invalid id {error['input']!r}: use lower_snake_case letters, digits and '_'"
    value = error.get("input")
    if kind not in ("value_error", "source_config") and isinstance(value, str | int | float):
        message = f"{message}, got {value!r}"
    return message


def _known_keys(loc: Sequence[str | int]) -> list[str]:
    """Return the allowed keys of the model found at ``loc`` inside a :class:`Source`."""
    annotation: Any = Source
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = next(
                (
                    info
                    for key, info in annotation.model_fields.items()
                    if part in (key, info.alias)
                ),
                None,
            )
            if field is None:
                return []
            annotation = field.annotation
        else:  # list[...] or dict[..., ...]: step into the item type
            args = typing.get_args(annotation)
            annotation = args[-1] if args else None
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [info.alias or key for key, info in annotation.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    """Strip ``X | None`` and ``Annotated`` from a type annotation."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


# --------------------------------------------------------------------------- YAML lines


def _line(node: yaml.Node | None) -> int | None:
    """Return the 1-based line where ``node`` starts."""
    return None if node is None else node.start_mark.line + 1


def _key_node(node: yaml.Node | None, key: str | int) -> yaml.Node | None:
    """Return the key node of ``key`` in a mapping node (the last one, as YAML keeps it)."""
    if not isinstance(node, yaml.MappingNode):
        return None
    found = None
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(key):
            found = key_node
    return found


def _key_line(node: yaml.Node | None, key: str | int) -> int | None:
    return _line(_key_node(node, key))


def _child(node: yaml.Node | None, part: str | int) -> yaml.Node | None:
    """Return the value node at ``part`` (mapping key or sequence index), or None."""
    if isinstance(node, yaml.SequenceNode):
        if isinstance(part, int) and 0 <= part < len(node.value):
            return node.value[part]
        return None
    if isinstance(node, yaml.MappingNode):
        found = None
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                found = value_node
        return found
    return None


def _error_line(
    node: yaml.Node | None, loc: Sequence[str | int], error_type: str, fallback: int | None
) -> int | None:
    """Find the line of a pydantic error location inside a source entry's node.

    Unknown keys point at the key, missing keys at their parent's key (the entry's ``id:``
    for top-level fields), bad scalar values at the value, bad blocks at their key.
    """
    parts = [part for part in loc if part != "[key]"]
    if error_type == "missing":
        parts = parts[:-1]
    line = fallback
    current = node
    for depth, part in enumerate(parts):
        key_node = _key_node(current, part)
        child = _child(current, part)
        if child is None:
            break
        last = depth == len(parts) - 1
        if last and (error_type == "extra_forbidden" or loc[-1] == "[key]"):
            return _line(key_node)
        if isinstance(child, yaml.ScalarNode) or key_node is None:
            line = _line(child)
        elif child.flow_style:
            line = _line(child)
        else:
            line = _line(key_node)
        current = child
    return line


def _duplicate_keys(node: yaml.Node | None) -> list[tuple[int | None, str]]:
    """Return ``(line, message)`` for every key that appears twice in one mapping."""
    found: list[tuple[int | None, str]] = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int | None] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    found.append(
                        (
                            _line(key_node),
                            f"duplicate key {key_node.value!r} (first at line "
                            f"{seen[key_node.value]}); YAML keeps only the last one",
                        )
                    )
                seen[key_node.value] = _line(key_node)
            found.extend(_duplicate_keys(value_node))
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            found.extend(_duplicate_keys(item))
    return found


# --------------------------------------------------------------------------- JSON Schema


def sources_json_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of a whole ``sources.yaml`` for editors.

    Beyond the pydantic schema it encodes which section each kind needs and that a field
    rule has exactly one extraction key. Checks that need code (cron syntax, regexes,
    rule keys per kind, duplicate ids) are only done by :func:`load_sources`.
    """
    schema = SourceConfig.model_json_schema(by_alias=True)
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
    defs = schema["$defs"]
    source = defs["Source"]
    source["allOf"] = [
        {
            "if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
            "then": {
                "required": [kind] if kind in source["properties"] else [],
                "properties": {
                    other: {"type": "null"}
                    for other in KINDS
                    if other != kind and other in source["properties"]
                },
            },
        }
        for kind in KINDS
    ]
    source["properties"]["fields"]["required"] = ["title"]
    defs["FieldRule"]["oneOf"] = [{"required": [key]} for key in RULE_KEYS]
    return schema
