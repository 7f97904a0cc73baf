"""The spider for ``kind: feed`` sources: RSS and Atom feeds, read with ``feedparser``.

Each entry becomes one plain object (:func:`entry_item`) that the ``jmespath`` rules map
onto fields: ``id``, ``title``, ``link``, ``summary``, ``content`` (the first content
block), ``author``, ``tags`` (list of terms), ``published``/``updated`` (ISO 8601, UTC),
``enclosures`` (list of URLs). Titles, summaries and content are plain text: HTML
markup is removed and entities are decoded.

How it fails: a document that feedparser cannot read as a feed (no entries and a parse
error) counts ``mintsuche/errors/invalid_feed`` (logged at ERROR; the other start URLs go
on). A feed that is not well-formed but still yields entries keeps them and counts
``mintsuche/notes/feed_not_wellformed``. A title with HTML markup in it keeps its text and
counts ``mintsuche/notes/html_in_title``. No key or title: ``no_key``/``no_title``; a key
seen before in the run: ``duplicate_key``.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import feedparser
from scrapy.http import Response
from w3lib.html import remove_tags, replace_entities

from crawlers.spiders.base import STATS_PREFIX, SourceSpider
from crawlers.spiders.json_api import jmespath_fields, key_of

INVALID_FEED_STAT = f"{STATS_PREFIX}/errors/invalid_feed"
NOT_WELLFORMED_STAT = f"{STATS_PREFIX}/notes/feed_not_wellformed"
HTML_TITLE_STAT = f"{STATS_PREFIX}/notes/html_in_title"
BENIGN = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
_TAG_RE = re.compile(r"<[a-zA-Z/!][^>]*>")


def plain_text(value: str | None) -> str | None:
    """``value`` without HTML tags, with entities decoded and whitespace collapsed."""
    if value is None:
        return None
    text = " ".join(replace_entities(remove_tags(value)).split())
    return text or None


def _iso(parsed: Any) -> str | None:
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), UTC).isoformat()


def _get(entry: Any, key: str) -> Any:
    """``entry[key]`` without feedparser's deprecated key fallbacks (updated -> published)."""
    return dict.get(entry, key) if isinstance(entry, dict) else None


def entry_item(entry: Any) -> tuple[dict[str, Any], bool]:
    """One feed entry as a plain object, and whether its title carried HTML markup."""
    title = _get(entry, "title")
    html_title = bool(title and _TAG_RE.search(title))
    content = _get(entry, "content") or []
    item = {
        "id": _get(entry, "id"),
        "title": plain_text(title),
        "link": _get(entry, "link"),
        "summary": plain_text(_get(entry, "summary")),
        "content": plain_text(content[0].get("value")) if content else None,
        "author": _get(entry, "author"),
        "tags": [t.get("term") for t in _get(entry, "tags") or [] if t.get("term")],
        "published": _iso(_get(entry, "published_parsed")),
        "updated": _iso(_get(entry, "updated_parsed")),
        "enclosures": [e.get("href") for e in _get(entry, "enclosures") or [] if e.get("href")],
    }
    return item, html_title


class FeedSpider(SourceSpider):
    """Yield one record per feed entry."""

    kind = "feed"

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        """Parse the feed and yield its entries."""
        url = response.url
        content_type = response.headers.get("Content-Type", b"").decode("latin-1")
        headers = {"content-location": url}
        if content_type:
            headers["content-type"] = content_type
        parsed = feedparser.parse(response.body, response_headers=headers)
        problem = parsed.get("bozo_exception")
        if isinstance(problem, BENIGN):  # a missing/odd content type or charset, not the XML
            parsed["bozo"] = False
        if parsed.get("bozo") and not parsed.entries:
            self.count(INVALID_FEED_STAT)
            self.logger.error("%s is not a readable RSS/Atom feed: %s", url, problem)
            return
        if parsed.get("bozo"):
            self.count(NOT_WELLFORMED_STAT)
            self.logger.warning(
                "%s is not well-formed (%s); %d entries read anyway",
                url,
                problem,
                len(parsed.entries),
            )
        rules = dict(self.source.fields or {})
        key_field = self.source.section().key
        for entry in parsed.entries:
            item, html_title = entry_item(entry)
            if html_title:
                self.count(HTML_TITLE_STAT)
                self.logger.warning(
                    "%s: HTML markup in the title %r removed", url, _get(entry, "title")
                )
            fields = jmespath_fields(item, rules)
            key = key_of(fields, key_field)
            record = self.unique_record(key, url, fields)
            if record is not None:
                yield record
