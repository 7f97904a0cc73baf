"""The shared base of all source spiders (one spider class per *kind* of source).

A kind spider subclasses :class:`SourceSpider`, sets ``kind`` ("html", "rdf", "csv") and
implements ``parse(response)`` (and whatever callbacks it needs). It uses only this API:

``SourceSpider.from_source(source, now=None) -> type[SourceSpider]``
    A subclass bound to one ``crawlers.sources.Source``: ``name`` = ``source.id``,
    ``start_urls`` from the source, politeness as ``custom_settings``. Pass the returned
    class to ``CrawlerProcess.crawl``.
``self.source``
    The ``Source`` (fields, constants, kind-specific section such as ``source.html``).
``self.make_record(key, url, fields) -> RawRecord | None``
    Builds the record (constants fill empty fields, ``fetched_at`` = injected ``now`` or
    the current UTC time). Returns ``None`` and counts a drop when the title or the key is
    empty; the spider then yields nothing for that row.
``self.drop(reason, url=None, detail=None)``
    Counts a dropped record under the stats key ``mintsuche/dropped/<reason>`` and logs it
    at WARNING (never ERROR: errors mean a broken run).
``self.start_request(url, **kwargs)``
    A ``scrapy.Request`` for a start URL whose failures (HTTP error after retries,
    timeout, DNS, refused connection) are recorded by ``on_start_error``; the default
    ``start()`` yields one for each start URL with ``callback=self.parse``.

``failed_url(failure)`` (module function)
    The original URL of a failed request, for errbacks (never the replay address).
``STATS_PREFIX``
    ``"mintsuche"``: prefix for the spider's own stats keys.

Failure bookkeeping for the pipeline: a failed start URL increments
``mintsuche/start_url_failed`` and is listed in ``self.start_failures``; the pipeline marks
the run ``failed``. Nothing in a spider touches the database.

Politeness: ``source.politeness`` becomes ``DOWNLOAD_DELAY``,
``CONCURRENT_REQUESTS_PER_DOMAIN``, ``ROBOTSTXT_OBEY`` and ``CLOSESPIDER_PAGECOUNT``
(``max_pages``: every response of the run counts, robots.txt and detail pages included;
reaching it closes the spider with reason ``closespider_pagecount``, which
``crawlers.stats`` records as a successful, ``truncated`` run). When
the setting ``REPLAY_HOSTS`` is non-empty every request goes to a loopback replay server
(see ``crawlers.replay``), so delays are pointless there: ``update_settings`` sets
``DOWNLOAD_DELAY`` 0 and turns AutoThrottle off in that case.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, ClassVar

import scrapy
from scrapy.settings import BaseSettings
from twisted.python.failure import Failure

from crawlers.extract import RawValue, is_empty, merge_constants
from crawlers.middleware import META_ORIGINAL_URL
from crawlers.records import RawRecord

STATS_PREFIX = "mintsuche"
START_FAILED_STAT = f"{STATS_PREFIX}/start_url_failed"
DROPPED_STAT_PREFIX = f"{STATS_PREFIX}/dropped/"


def politeness_settings(source: Any) -> dict[str, Any]:
    """Scrapy settings for ``source.politeness`` (missing values keep Scrapy's defaults)."""
    pol = getattr(source, "politeness", None)
    settings: dict[str, Any] = {}
    if pol is None:
        return settings
    delay = getattr(pol, "download_delay", None)
    if delay is not None:
        settings["DOWNLOAD_DELAY"] = float(delay)
    conc = getattr(pol, "concurrent_requests_per_domain", None)
    if conc is not None:
        settings["CONCURRENT_REQUESTS_PER_DOMAIN"] = int(conc)
    obey = getattr(pol, "obey_robots", None)
    if obey is not None:
        settings["ROBOTSTXT_OBEY"] = bool(obey)
    max_pages = getattr(pol, "max_pages", None)
    if max_pages:
        settings["CLOSESPIDER_PAGECOUNT"] = int(max_pages)
    return settings


def failed_url(failure: Failure) -> str:
    """The original URL of a failed request (never the replay address), or ``"?"``."""
    request = getattr(failure, "request", None)
    if request is None:
        return "?"
    return request.meta.get(META_ORIGINAL_URL) or request.url


class SourceSpider(scrapy.Spider):
    """Base class of the kind spiders; see the module docstring for the API."""

    kind: ClassVar[str] = ""
    source: ClassVar[Any] = None
    now: ClassVar[datetime | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.start_failures: list[dict[str, str]] = []
        self.seen_keys: set[str] = set()

    # -- construction -------------------------------------------------------------------

    @classmethod
    def from_source(cls, source: Any, now: datetime | None = None) -> type[SourceSpider]:
        """Return a subclass of ``cls`` bound to ``source`` (a ``crawlers.sources.Source``).

        ``now`` (timezone-aware) fixes ``fetched_at`` of every record, for tests; a naive
        ``now`` raises ``ValueError``.
        """
        if now is not None and now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        attrs = {
            "name": source.id,
            "source": source,
            "now": now,
            "start_urls": [str(u) for u in (source.start_urls or [])],
            "custom_settings": politeness_settings(source),
            "__module__": cls.__module__,
        }
        return type(f"{cls.__name__}_{source.id}", (cls,), attrs)

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        """Apply politeness; in replay mode (``REPLAY_HOSTS`` set) drop all delays."""
        super().update_settings(settings)
        if settings.get("REPLAY_HOSTS"):
            settings.set("DOWNLOAD_DELAY", 0, priority="spider")
            settings.set("DOWNLOAD_DELAY_JITTER", 0, priority="spider")
            settings.set("AUTOTHROTTLE_ENABLED", False, priority="spider")

    # -- requests ---------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        """Yield one request per start URL, parsed by ``self.parse``."""
        for url in self.start_urls:
            yield self.start_request(url)

    def start_request(self, url: str, **kwargs: Any) -> scrapy.Request:
        """A request for a start URL whose failure marks the run failed."""
        kwargs.setdefault("callback", self.parse)
        kwargs.setdefault("dont_filter", True)
        return scrapy.Request(url, errback=self.on_start_error, **kwargs)

    def on_start_error(self, failure: Failure) -> None:
        """Record a start URL that could not be fetched (after retries)."""
        url = failed_url(failure)
        response = getattr(failure.value, "response", None)
        if response is not None:
            reason = f"HTTP {response.status}"
        else:
            reason = f"{failure.type.__name__}: {failure.getErrorMessage()}"
        self.start_failures.append({"url": url, "error": reason})
        if self.crawler is not None and self.crawler.stats is not None:
            self.crawler.stats.inc_value(START_FAILED_STAT)
        self.logger.error("start URL failed: %s (%s)", url, reason)

    def on_page_error(self, failure: Failure) -> None:
        """Count a failed follow-up page (detail, next page); the run goes on."""
        url = failed_url(failure)
        if self.crawler is not None and self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"{STATS_PREFIX}/page_failed")
        self.logger.warning("page failed: %s (%s)", url, failure.getErrorMessage())

    # -- records ----------------------------------------------------------------------

    def fetched_at(self) -> datetime:
        """The injected ``now`` or the current time (UTC, timezone-aware)."""
        return self.now if self.now is not None else datetime.now(UTC)

    def drop(self, reason: str, url: str | None = None, detail: str | None = None) -> None:
        """Count a dropped record as ``mintsuche/dropped/<reason>`` and log it."""
        if self.crawler is not None and self.crawler.stats is not None:
            self.crawler.stats.inc_value(DROPPED_STAT_PREFIX + reason)
        self.logger.log(
            logging.WARNING,
            "dropped record (%s) at %s%s",
            reason,
            url or "?",
            f": {detail}" if detail else "",
        )

    def count(self, stat: str) -> None:
        """Increase the crawl statistic ``stat`` by one (no-op without a crawler)."""
        if self.crawler is not None and self.crawler.stats is not None:
            self.crawler.stats.inc_value(stat)

    def unique_record(
        self, key: str | None, url: str, fields: dict[str, RawValue | None]
    ) -> RawRecord | None:
        """``make_record``, but a key already yielded in this run is dropped as
        ``duplicate_key`` (the first record with a key wins)."""
        if key is not None and key in self.seen_keys:
            self.drop("duplicate_key", url, detail=key)
            return None
        record = self.make_record(key, url, fields)
        if record is not None:
            self.seen_keys.add(record.source_key)
        return record

    def make_record(
        self, key: str | None, url: str, fields: dict[str, RawValue | None]
    ) -> RawRecord | None:
        """Build a ``RawRecord`` for this source, or drop it (returning ``None``).

        Empty values are removed; ``source.constants`` fill fields that are absent or
        empty (they never override extracted values). Drop reasons: ``no_title`` (empty
        ``title`` after constants) and ``no_key`` (empty ``key``).
        """
        merged = merge_constants(fields, getattr(self.source, "constants", None))
        if is_empty(merged.get("title")):
            self.drop("no_title", url)
            return None
        if key is None or not str(key).strip():
            self.drop("no_key", url, detail=str(merged.get("title")))
            return None
        return RawRecord.make(self.source.id, str(key).strip(), url, self.fetched_at(), merged)
