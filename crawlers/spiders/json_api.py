"""The spider for ``kind: json`` sources: paged JSON APIs, records mapped with JMESPath.

- Each start URL is the first page. ``json.paging`` adds the page number, offset or cursor
  (``param``) and the page size (``size_param`` = ``size``) to the URL's query, in that
  order after the start URL's own parameters (so a replayed page is stored as
  ``<path>@<query>`` with a fixed parameter order). ``page``/``offset`` paging stops at a
  page with fewer than ``size`` records; ``cursor`` paging stops when the JMESPath
  ``paging.cursor`` gives nothing. ``politeness.max_pages`` bounds every run.
- ``json.auth`` names the environment variable holding the access token (never the token
  itself) and where it goes: a query parameter (``param``) or a header (``header`` with
  ``prefix``). The token is removed from every URL stored in a record. Without the
  variable the requests go out without a token and a warning says so.
- ``json.items`` (JMESPath) selects the list of records in each response; each record (a
  JSON object) is mapped by the ``jmespath`` rules (:func:`jmespath_fields`, shared by the
  ical, jsonld and feed spiders) and ``value`` rules. A rule's ``map`` replaces a
  platform's vocabulary by ours (:func:`map_value`). ``source_key`` = the ``json.key``
  field's value.

- ``json.detail`` fetches one more document per record (e.g. the event's ``.ics``): its
  ``url`` (JMESPath on the record, relative addresses resolved against the page URL) is
  requested without the access token, parsed (``kind: ical``: the first VEVENT as
  :func:`crawlers.spiders.ical.event_item` describes it; ``kind: json``: the document)
  and added to the record object under ``into`` before the field rules run, so that
  ``ics.dates || [startTime, endTime]`` prefers the calendar and falls back to the list.
  A record without a detail URL is mapped at once with ``into`` = null.

How it fails: a response that is not JSON counts ``mintsuche/errors/invalid_json`` and a
response whose ``items`` is not a list counts ``mintsuche/errors/unexpected_shape``, each
logged at ERROR; that URL's remaining pages are not requested, the other start URLs and the
records already read are kept. A record that is not an object is dropped
(``not_an_object``); no key or title: ``no_key``/``no_title``; a key seen before in the
run: ``duplicate_key``. A detail document that cannot be fetched counts
``mintsuche/page_failed`` (WARNING), one that cannot be read (not iCalendar, no VEVENT,
no DTSTART, not JSON) ``mintsuche/errors/invalid_detail`` (ERROR); in both cases the
record is kept with ``into`` = null, so the fallbacks of its rules apply.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import jmespath
import scrapy
from jmespath.exceptions import JMESPathTypeError
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.extract import RawValue, constant_value, finish_value
from crawlers.middleware import META_ORIGINAL_URL
from crawlers.spiders.base import STATS_PREFIX, SourceSpider

INVALID_JSON_STAT = f"{STATS_PREFIX}/errors/invalid_json"
UNEXPECTED_SHAPE_STAT = f"{STATS_PREFIX}/errors/unexpected_shape"
NO_TOKEN_STAT = f"{STATS_PREFIX}/notes/no_token"
INVALID_DETAIL_STAT = f"{STATS_PREFIX}/errors/invalid_detail"
DETAIL_BAD_RRULE_STAT = f"{STATS_PREFIX}/notes/bad_rrule"
META_ITEM = "mintsuche_item"
META_PAGE = "mintsuche_page"


class DetailError(ValueError):
    """A detail document that cannot be read."""


def parse_detail(kind: str, body: bytes, now: Any) -> tuple[Any, bool]:
    """The parsed detail document (``kind`` ical or json) and whether its RRULE was
    unreadable. Raises :class:`DetailError` with the reason."""
    if kind == "json":
        try:
            return json.loads(body), False
        except ValueError as exc:
            raise DetailError(f"not valid JSON ({exc})") from None
    from crawlers.spiders.ical import InvalidIcal, NoDtstart, first_event

    try:
        return first_event(body, now)
    except InvalidIcal as exc:
        raise DetailError(f"not an iCalendar file with an event ({exc})") from None
    except NoDtstart as exc:
        raise DetailError(f"its event has no DTSTART ({exc})") from None


@lru_cache(maxsize=256)
def _compiled(expression: str) -> Any:
    return jmespath.compile(expression)


def search(expression: str, data: Any) -> Any:
    """The result of the JMESPath ``expression`` on ``data`` (None if nothing matches, or
    if a function gets a value of the wrong type, e.g. ``join`` a null: that record has no
    value, the others are not affected)."""
    try:
        return _compiled(expression).search(data)
    except JMESPathTypeError:
        return None


def texts_of(value: Any) -> list[str]:
    """Flatten a JMESPath result into strings: lists are flattened, numbers and booleans
    become text, objects and nulls are skipped."""
    if value is None or isinstance(value, dict):
        return []
    if isinstance(value, list | tuple):
        return [text for item in value for text in texts_of(item)]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    return [str(value)]


def jmespath_fields(item: Any, rules: Mapping[str, Any]) -> dict[str, RawValue | None]:
    """Apply the ``jmespath``/``value`` rules to one record (a JSON-like object)."""
    fields: dict[str, RawValue | None] = {}
    for name, rule in rules.items():
        if getattr(rule, "value", None) is not None:
            fields[name] = constant_value(rule)
        elif getattr(rule, "jmespath", None):
            value = finish_value(texts_of(search(rule.jmespath, item)), rule)
            fields[name] = map_value(value, getattr(rule, "map_", None))
    return fields


def map_value(value: RawValue | None, mapping: Mapping[str, RawValue] | None) -> RawValue | None:
    """``value`` with every item found in ``mapping`` replaced by its label(s).

    A single value stays a single string unless it maps to several labels; lists keep
    their order without duplicates; values not in ``mapping`` are kept as they are.
    """
    if not mapping or value is None:
        return value
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        replacement = mapping.get(item, item)
        for label in replacement if isinstance(replacement, list) else [replacement]:
            if label not in out:
                out.append(label)
    if not isinstance(value, list) and len(out) == 1:
        return out[0]
    return out or None


def key_of(fields: Mapping[str, RawValue | None], key_field: str) -> str | None:
    """The first text of ``fields[key_field]`` (None when empty)."""
    value = fields.get(key_field)
    if isinstance(value, list):
        value = value[0] if value else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def with_query(url: str, params: list[tuple[str, str]]) -> str:
    """``url`` with ``params`` replacing (or appended after) its query parameters."""
    parts = urlsplit(url)
    names = {name for name, _ in params}
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in names]
    return urlunsplit(parts._replace(query=urlencode(query + params)))


def without_param(url: str, name: str | None) -> str:
    """``url`` without the query parameter ``name`` (for tokens)."""
    if not name:
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _redacted(failure: Failure, clean: Any) -> Failure:
    """``failure`` whose request URL (as ``failed_url`` reads it) has no token."""
    request = getattr(failure, "request", None)
    if request is not None:
        original = request.meta.get(META_ORIGINAL_URL) or request.url
        failure.request = request.replace(
            url=clean(request.url), meta={**request.meta, META_ORIGINAL_URL: clean(original)}
        )
    return failure


class JsonSpider(SourceSpider):
    """Yield one record per object of ``json.items``, page after page."""

    kind = "json"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._token: str | None = None

    @property
    def spec(self) -> Any:
        return self.source.section()

    async def start(self) -> AsyncIterator[Any]:
        """The first page of every start URL (with the token, if configured)."""
        auth = self.spec.auth
        if auth is not None:
            self._token = os.environ.get(auth.env) or None
            if self._token is None:
                self.count(NO_TOKEN_STAT)
                self.logger.warning(
                    "environment variable %s is not set: requesting %s without a token",
                    auth.env,
                    self.source.id,
                )
        for url in self.start_urls:
            yield self._page_request(url, self.spec.paging.start, None, start=True)

    def _page_request(
        self, base: str, position: int, cursor: str | None, *, start: bool = False
    ) -> scrapy.Request:
        paging = self.spec.paging
        params: list[tuple[str, str]] = []
        if paging.mode in ("page", "offset"):
            params.append((paging.param, str(position)))
        elif paging.mode == "cursor" and cursor is not None:
            params.append((paging.param, cursor))
        if paging.size_param and paging.size:
            params.append((paging.size_param, str(paging.size)))
        headers: dict[str, str] = {}
        auth = self.spec.auth
        if auth is not None and self._token is not None:
            if auth.param:
                params.append((auth.param, self._token))
            else:
                headers[auth.header] = f"{auth.prefix}{self._token}"
        url = with_query(base, params) if params else base
        meta = {"base": base, "position": position}
        if start:
            return self.start_request(url, headers=headers, meta=meta)
        return scrapy.Request(
            url,
            headers=headers,
            meta=meta,
            callback=self.parse,
            errback=self.on_page_error,
            dont_filter=True,
        )

    def public_url(self, url: str) -> str:
        """``url`` without the token parameter."""
        auth = self.spec.auth
        return without_param(url, auth.param if auth is not None else None)

    def on_start_error(self, failure: Failure) -> None:
        """As ``SourceSpider.on_start_error``, with the token removed from the URL."""
        super().on_start_error(_redacted(failure, self.public_url))

    def on_page_error(self, failure: Failure) -> None:
        """As ``SourceSpider.on_page_error``, with the token removed from the URL."""
        super().on_page_error(_redacted(failure, self.public_url))

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        """Read one page: its records, then the request for the next page."""
        url = self.public_url(response.url)
        try:
            document = json.loads(response.body)
        except ValueError as exc:
            self.count(INVALID_JSON_STAT)
            self.logger.error("%s is not valid JSON (%s); its further pages are skipped", url, exc)
            return
        items = search(self.spec.items, document)
        if not isinstance(items, list):
            self.count(UNEXPECTED_SHAPE_STAT)
            self.logger.error(
                "%s: json.items %r gave %s, not a list; its further pages are skipped",
                url,
                self.spec.items,
                type(items).__name__,
            )
            return
        yield from self.records(items, url)
        next_request = self._next_page(response, document, len(items))
        if next_request is not None:
            yield next_request

    def records(self, items: list[Any], url: str) -> Iterator[Any]:
        """The records of one page's items (or the requests for their detail documents)."""
        detail = self.spec.detail
        for item in items:
            if not isinstance(item, dict):
                self.drop("not_an_object", url, detail=repr(item)[:80])
                continue
            if detail is not None:
                request = self._detail_request(item, url)
                if request is not None:
                    yield request
                    continue
                item = {**item, detail.into: None}
            record = self.record(item, url)
            if record is not None:
                yield record

    def record(self, item: dict[str, Any], url: str) -> Any:
        """Map one record object; None when it is dropped."""
        fields = jmespath_fields(item, dict(self.source.fields or {}))
        return self.unique_record(key_of(fields, self.spec.key), url, fields)

    def _detail_request(self, item: dict[str, Any], url: str) -> scrapy.Request | None:
        """The request for ``item``'s detail document, or None when it names none."""
        detail = self.spec.detail
        found = [text.strip() for text in texts_of(search(detail.url, item)) if text.strip()]
        if not found:
            return None
        address = urljoin(url, found[0])
        if urlsplit(address).scheme not in ("http", "https"):
            self.logger.warning("%s: detail URL %r is not http(s); not fetched", url, address)
            return None
        return scrapy.Request(
            address,
            callback=self.parse_detail,
            errback=self.on_detail_error,
            meta={META_ITEM: item, META_PAGE: url},
            dont_filter=True,  # two records may share a document; never lose one
        )

    def parse_detail(self, response: Response) -> Iterator[Any]:
        """Merge the detail document into its record and yield the record."""
        detail = self.spec.detail
        item, page = response.meta[META_ITEM], response.meta[META_PAGE]
        try:
            document, bad_rrule = parse_detail(detail.kind, response.body, self.fetched_at())
        except DetailError as exc:
            self.count(INVALID_DETAIL_STAT)
            self.logger.error("detail %s: %s; the record keeps its other fields", response.url, exc)
            document, bad_rrule = None, False
        if bad_rrule:
            self.count(DETAIL_BAD_RRULE_STAT)
            self.logger.warning("detail %s: unreadable RRULE", response.url)
        record = self.record({**item, detail.into: document}, page)
        if record is not None:
            yield record

    def on_detail_error(self, failure: Failure) -> Iterator[Any]:
        """A detail document that could not be fetched: counted, the record is kept."""
        super().on_page_error(_redacted(failure, self.public_url))
        meta = failure.request.meta
        record = self.record({**meta[META_ITEM], self.spec.detail.into: None}, meta[META_PAGE])
        if record is not None:
            yield record

    def _next_page(self, response: Response, document: Any, count: int) -> scrapy.Request | None:
        paging = self.spec.paging
        base = response.meta.get("base", response.url)
        position = int(response.meta.get("position", paging.start))
        if paging.mode == "page" and paging.size and count >= paging.size:
            return self._page_request(base, position + 1, None)
        if paging.mode == "offset" and paging.size and count >= paging.size:
            return self._page_request(base, position + paging.size, None)
        if paging.mode == "cursor":
            cursor = texts_of(search(paging.cursor, document))
            if cursor and cursor[0].strip():
                return self._page_request(base, position + 1, cursor[0].strip())
        return None
