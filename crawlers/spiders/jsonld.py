"""The spider for ``kind: jsonld`` sources: schema.org objects embedded in HTML pages.

Every ``<script type="application/ld+json">`` of a start page (and of the pages its
``jsonld.follow`` links lead to) is parsed with :mod:`json`. The objects whose ``@type``
is one of ``jsonld.types`` (default ``Event``, ``Course``, ``EducationEvent``, ``Place``;
``schema:Event`` and ``https://schema.org/Event`` count too) become records: top-level
objects, lists of them and the members of ``@graph``; objects nested inside another
(an Event's ``location`` Place) belong to their parent, not records of their own. Each
object is mapped by ``jmespath`` rules (e.g. ``location.address.postalCode``; ``@type``
is written ``"@type"``). So a site that publishes structured data needs only start URLs.

``source_key`` = the ``jsonld.key`` field (default ``url``); when an object has none it is
``<page URL>#<n>`` (its position among the page's records), stable while the page keeps
its order.

How it fails: a script block that is not JSON counts ``mintsuche/errors/invalid_jsonld``
(logged at ERROR); the page's other blocks and pages go on. A page without any matching
object counts ``mintsuche/notes/page_without_records``. No title: ``no_title``; a key
seen before in the run: ``duplicate_key``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from scrapy.http import Response, TextResponse

from crawlers.spiders.base import STATS_PREFIX, SourceSpider
from crawlers.spiders.json_api import jmespath_fields, key_of

INVALID_JSONLD_STAT = f"{STATS_PREFIX}/errors/invalid_jsonld"
NO_RECORDS_STAT = f"{STATS_PREFIX}/notes/page_without_records"
SCRIPT_XPATH = (
    "//script[translate(normalize-space(@type), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', "
    "'abcdefghijklmnopqrstuvwxyz')='application/ld+json']/text()"
)


def type_names(node: dict[str, Any]) -> set[str]:
    """The schema.org type names of ``node`` without prefix (``schema:Event`` -> ``Event``)."""
    raw = node.get("@type")
    names = raw if isinstance(raw, list) else [raw]
    return {str(name).rsplit("/", 1)[-1].rsplit(":", 1)[-1] for name in names if name}


def top_level_nodes(document: Any) -> Iterator[dict[str, Any]]:
    """The top-level objects of one JSON-LD document (lists and ``@graph`` unpacked)."""
    if isinstance(document, list):
        for item in document:
            yield from top_level_nodes(item)
    elif isinstance(document, dict):
        if "@graph" in document:
            yield from top_level_nodes(document["@graph"])
        else:
            yield document


def matching_nodes(documents: Iterable[Any], types: Iterable[str]) -> list[dict[str, Any]]:
    """The top-level objects of ``documents`` with one of ``types``, in document order."""
    wanted = set(types)
    return [node for doc in documents for node in top_level_nodes(doc) if type_names(node) & wanted]


class JsonldSpider(SourceSpider):
    """Yield one record per schema.org object of the configured types."""

    kind = "jsonld"

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        """Read a start page; follow ``jsonld.follow`` links (one level)."""
        yield from self.parse_page(response)
        spec = self.source.section()
        if spec.follow and isinstance(response, TextResponse):
            for href in response.css(spec.follow).css("::attr(href)").getall():
                yield response.follow(href, callback=self.parse_page, errback=self.on_page_error)

    def parse_page(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        """The records of one page."""
        url = response.url
        if not isinstance(response, TextResponse):
            self.count(NO_RECORDS_STAT)
            self.logger.warning("%s is not a text page; no structured data read", url)
            return
        documents = []
        for index, block in enumerate(response.xpath(SCRIPT_XPATH).getall()):
            try:
                documents.append(json.loads(block))
            except ValueError as exc:
                self.count(INVALID_JSONLD_STAT)
                self.logger.error(
                    "%s: ld+json block %d is not valid JSON (%s); skipped", url, index + 1, exc
                )
        spec = self.source.section()
        nodes = matching_nodes(documents, spec.types)
        if not nodes:
            self.count(NO_RECORDS_STAT)
            self.logger.warning("%s: no schema.org %s found", url, "/".join(spec.types))
        rules = dict(self.source.fields or {})
        for position, node in enumerate(nodes, start=1):
            fields = jmespath_fields(node, rules)
            key = key_of(fields, spec.key) or f"{url}#{position}"
            record = self.unique_record(key, url, fields)
            if record is not None:
                yield record
