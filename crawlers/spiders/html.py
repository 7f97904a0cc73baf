"""The spider for ``kind: html`` sources: rows of a list page, optional detail pages.

Driven entirely by the source's ``html`` section and ``fields``:

- ``html.rows`` selects one node per record (css, or xpath when prefixed ``xpath:``).
- Each field rule is evaluated relative to the row: ``css``/``xpath`` select nodes; a text
  or attribute node gives its string, an element gives its text content (all descendant
  text nodes, whitespace-normalised, joined with a space); ``attr`` takes that attribute
  of the selected elements; ``value`` is a constant. The strings then go through
  ``crawlers.extract.finish_value`` (regex, join, many, split); ``absolute`` makes the
  result(s) absolute URLs with ``response.urljoin``. XPath expressions should be relative
  (``.//td``, ``./span``); one starting with ``//`` searches the whole page.
- ``html.key`` names the field whose value is the ``source_key`` (made absolute).
- ``html.detail`` (optional) names the field holding a detail URL: the spider follows it
  and evaluates the rules with ``from: detail`` on that page (the fields read from the
  list are passed along in ``cb_kwargs``).
- ``html.next_page`` (optional) selects the next-page link; pages are followed until
  there is none or ``politeness.max_pages`` pages were read.

How it fails: a row whose title is empty is dropped (``mintsuche/dropped/no_title``), one
without key ``mintsuche/dropped/no_key``, one whose rules raise (for example an XPath
syntax error) ``mintsuche/dropped/extract_error``; a detail page that cannot be fetched
drops its record (``mintsuche/dropped/detail_failed``). A list page that is not text
(or whose ``rows`` selector is invalid) is logged and counted (``mintsuche/bad_page``).
None of these stops the run. A start URL that cannot be fetched marks the run failed
(see ``SourceSpider``), and so does a run without any record.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import urljoin

import scrapy
from parsel import Selector, SelectorList
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from crawlers.extract import RawValue, clean_texts, constant_value, finish_value, is_empty
from crawlers.records import RawRecord
from crawlers.spiders.base import STATS_PREFIX, SourceSpider, failed_url

XPATH_PREFIX = "xpath:"
CSS_PREFIX = "css:"


def select(sel: Selector | Response, query: str) -> SelectorList[Selector]:
    """Select with a css query, or an xpath one when prefixed ``xpath:``."""
    if query.startswith(XPATH_PREFIX):
        return sel.xpath(query[len(XPATH_PREFIX) :].strip())
    if query.startswith(CSS_PREFIX):
        query = query[len(CSS_PREFIX) :]
    return sel.css(query.strip())


def node_strings(nodes: SelectorList[Selector], attr: str | None = None) -> list[str]:
    """Strings of selected nodes: text/attribute results as they are, elements' text.

    With ``attr`` each element gives that attribute (elements without it give nothing).
    """
    out: list[str] = []
    for node in nodes:
        root = node.root
        is_element = hasattr(root, "tag")
        if attr:
            if is_element:
                value = node.attrib.get(attr)
                if value is not None:
                    out.append(value)
            continue
        if is_element:
            out.append(" ".join(clean_texts(node.xpath(".//text()").getall())))
        elif root is not None:
            out.append(str(root))
    return out


def _absolute(value: RawValue | None, response: Response) -> RawValue | None:
    if value is None:
        return None
    if isinstance(value, list):
        return [response.urljoin(v) for v in value]
    return response.urljoin(value)


def evaluate_rule(sel: Selector, rule: Any, response: Response) -> RawValue | None:
    """Evaluate one field rule on ``sel`` (a row or a whole page). May raise on bad queries."""
    if getattr(rule, "value", None) is not None:
        return constant_value(rule)
    css = getattr(rule, "css", None)
    xpath = getattr(rule, "xpath", None)
    if css:
        nodes = sel.css(css)
    elif xpath:
        nodes = sel.xpath(xpath)
    else:
        return None
    value = finish_value(node_strings(nodes, getattr(rule, "attr", None)), rule)
    if getattr(rule, "absolute", False):
        value = _absolute(value, response)
    return value


def _is_detail_rule(rule: Any) -> bool:
    return getattr(rule, "from_", None) == "detail"


class HtmlSpider(SourceSpider):
    """Rows of list pages (plus optional detail pages) -> raw records."""

    kind: ClassVar[str] = "html"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pages_seen = 0

    @property
    def spec(self) -> Any:
        """The source's ``html`` section."""
        return self.source.html

    def _max_pages(self) -> int | None:
        pol = getattr(self.source, "politeness", None)
        return getattr(pol, "max_pages", None) if pol is not None else None

    def _rules(self, *, detail: bool) -> dict[str, Any]:
        return {
            name: rule
            for name, rule in (self.source.fields or {}).items()
            if _is_detail_rule(rule) == detail
        }

    def extract_fields(
        self, sel: Selector, response: Response, *, detail: bool = False
    ) -> dict[str, RawValue | None]:
        """Evaluate the list rules (or, with ``detail``, the detail rules) on ``sel``."""
        return {
            name: evaluate_rule(sel, rule, response)
            for name, rule in self._rules(detail=detail).items()
        }

    def _title_from_list(self) -> bool:
        rule = (self.source.fields or {}).get("title")
        has_constant = not is_empty((getattr(self.source, "constants", None) or {}).get("title"))
        return rule is not None and not _is_detail_rule(rule) and not has_constant

    def _key(self, fields: dict[str, RawValue | None], base_url: str) -> str | None:
        """The key field's value as an absolute URL (relative to ``base_url``)."""
        value = fields.get(self.spec.key)
        if isinstance(value, list):
            value = value[0] if value else None
        if not value:
            return None
        return urljoin(base_url, value)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        """Yield a record (or a detail request) per row, then the next page's request."""
        self.pages_seen += 1
        spec = self.spec
        if not isinstance(response, TextResponse):
            self.bad_page(response, "not a text page")
            return
        try:
            rows = select(response, spec.rows)
        except ValueError as exc:  # e.g. an XPath syntax error in html.rows
            self.bad_page(response, f"rows selector failed: {exc}")
            return
        if not rows:
            self.logger.warning("no rows matched %r on %s", spec.rows, response.url)
        for index, row in enumerate(rows):
            try:
                fields = self.extract_fields(row, response)
            except Exception as exc:  # a broken rule must not end the run
                self.drop("extract_error", response.url, detail=f"row {index}: {exc!r}")
                continue
            if spec.detail:
                detail_url = fields.get(spec.detail)
                if isinstance(detail_url, list):
                    detail_url = detail_url[0] if detail_url else None
                if not detail_url:
                    self.drop("no_detail_url", response.url, detail=f"row {index}")
                    continue
                if self._title_from_list() and is_empty(fields.get("title")):
                    self.drop("no_title", response.url, detail=f"row {index}")
                    continue  # no request for a record that would be dropped anyway
                yield scrapy.Request(
                    response.urljoin(detail_url),
                    callback=self.parse_detail,
                    errback=self.on_detail_error,
                    cb_kwargs={"partial": fields, "list_url": response.url},
                )
                continue
            record = self.make_record(self._key(fields, response.url), response.url, fields)
            if record is not None:
                yield record
        yield from self._next_page(response)

    def bad_page(self, response: Response, why: str) -> None:
        """Count a page the spider cannot read (``mintsuche/bad_page``); logged as ERROR."""
        if self.crawler is not None and self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"{STATS_PREFIX}/bad_page")
        ctype = response.headers.get("Content-Type", b"").decode("latin-1")
        self.logger.error("cannot read %s (%s, Content-Type %r)", response.url, why, ctype)

    def _next_page(self, response: Response) -> Iterator[scrapy.Request]:
        spec = self.spec
        if not spec.next_page:
            return
        max_pages = self._max_pages()
        if max_pages and self.pages_seen >= max_pages:
            self.logger.info("max_pages (%d) reached, not following next page", max_pages)
            return
        try:
            links = select(response, spec.next_page)
            is_element = bool(links) and hasattr(links[0].root, "tag")
            hrefs = node_strings(links, attr="href" if is_element else None)
        except Exception as exc:
            self.logger.warning("next_page selector failed on %s: %r", response.url, exc)
            return
        for href in clean_texts(hrefs)[:1]:
            yield scrapy.Request(
                response.urljoin(href), callback=self.parse, errback=self.on_page_error
            )

    def parse_detail(
        self, response: Response, partial: dict[str, RawValue | None], list_url: str
    ) -> Iterator[RawRecord]:
        """Complete a row's fields with the ``from: detail`` rules and yield the record."""
        fields = dict(partial)
        try:
            for name, value in self.extract_fields(response, response, detail=True).items():
                if value is not None or name not in fields:
                    fields[name] = value
        except Exception as exc:
            self.drop("extract_error", response.url, detail=repr(exc))
            return
        record = self.make_record(self._key(fields, list_url), response.url, fields)
        if record is not None:
            yield record

    def on_detail_error(self, failure: Failure) -> None:
        """A detail page failed: count it and drop that record."""
        self.on_page_error(failure)
        self.drop("detail_failed", failed_url(failure))
