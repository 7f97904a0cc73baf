"""Downloader middlewares: loopback replay, and ``Retry-After`` on 429/503.

``RetryAfterMiddleware`` (see its docstring) waits what a 429/503 announces before Scrapy
retries. ``ConditionalRequestMiddleware`` and ``UnchangedPageSpiderMiddleware`` send
conditional requests and re-emit the stored records of an unchanged page (one
``StoredRecords`` item per page) instead of parsing it again. The rest of this docstring
is about the replay middleware.

``ReplayMiddleware`` (order 50, before ``RobotsTxtMiddleware`` at 100) is enabled only
when the setting ``REPLAY_HOSTS`` is a non-empty ``{host: "127.0.0.1:port"}`` dict (a JSON
string is accepted too). It rewrites ``https://host/path?q`` to
``http://127.0.0.1:port/path?q`` (the original URL is kept in ``request.meta``) and
rewrites every response for a loopback address back to the original host, so robots.txt
is fetched from the replay server and spiders and records only see original URLs.
Requests for hosts not in the map go out unchanged (in replay mode that means the live
net: tests should map every host they use).

How it fails: a malformed ``REPLAY_HOSTS`` raises ``ValueError`` when the crawler starts;
an empty one raises ``NotConfigured`` (the middleware is then simply off).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.http.request import NO_CALLBACK

from crawlers.records import RawRecord
from crawlers.stats import RunTally

META_ORIGINAL_URL = "replay_original_url"


def parse_replay_hosts(value: Any) -> dict[str, str]:
    """Accept a dict or a JSON object string; ``ValueError`` for anything else."""
    if not value:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"REPLAY_HOSTS is not valid JSON: {exc}") from exc
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError("REPLAY_HOSTS must map host names to 'address:port' strings")
    return {k.lower(): v for k, v in value.items()}


class ReplayMiddleware:
    """Map original hosts to loopback replay servers and back (see module docstring)."""

    def __init__(self, host_map: dict[str, str]) -> None:
        self.host_map = host_map
        self.reverse: dict[str, str] = {}
        for host, loopback in host_map.items():
            self.reverse.setdefault(loopback, host)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ReplayMiddleware:
        host_map = parse_replay_hosts(crawler.settings.get("REPLAY_HOSTS"))
        if not host_map:
            raise NotConfigured("REPLAY_HOSTS is empty")
        return cls(host_map)

    def to_replay(self, url: str) -> str | None:
        """The loopback URL for ``url``, or ``None`` if its host is not replayed."""
        parts = urlsplit(url)
        loopback = self.host_map.get((parts.hostname or "").lower())
        if loopback is None:
            return None
        return urlunsplit(("http", loopback, parts.path or "/", parts.query, ""))

    def to_original(self, url: str, scheme: str = "https") -> str | None:
        """The original URL for a loopback ``url``, or ``None`` if not a replay address."""
        parts = urlsplit(url)
        host = self.reverse.get(parts.netloc)
        if host is None:
            return None
        return urlunsplit((scheme, host, parts.path, parts.query, parts.fragment))

    def process_request(self, request: Request) -> Request | None:
        replay_url = self.to_replay(request.url)
        if replay_url is None:
            return None
        # The original request already passed the dupe filter and offsite checks; the
        # loopback twin must not be filtered for its 127.0.0.1 address.
        meta = {**request.meta, META_ORIGINAL_URL: request.url, "allow_offsite": True}
        return request.replace(url=replay_url, meta=meta, dont_filter=True)

    def process_response(self, request: Request, response: Response) -> Response:
        original = request.meta.get(META_ORIGINAL_URL)
        if urlsplit(response.url).netloc not in self.reverse:
            return response
        if original and urlsplit(original).path == urlsplit(response.url).path:
            url = original
        else:
            scheme = urlsplit(original).scheme if original else "https"
            url = self.to_original(response.url, scheme) or response.url
        return response.replace(url=url, request=request.replace(url=url))

    def process_exception(self, request: Request, exception: Exception) -> None:
        return None


def retry_after_seconds(value: bytes | str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class RetryAfterMiddleware:
    """Honour ``Retry-After`` on 429 and 503 before Scrapy's ``RetryMiddleware`` retries.

    Scrapy retries 429/503 at once and ignores the header. This middleware (order 560, so
    its ``process_response`` runs just before ``RetryMiddleware``'s at 550) waits the
    announced time, capped at ``MINTSUCHE_RETRY_AFTER_MAX`` seconds (default 120), and
    then hands the response on; ``RetryMiddleware`` re-schedules the request. A wait
    longer than the cap is not honoured partly: the response is handed on at once and the
    retry budget decides (the run then fails with the 429 after its retries). The seconds
    waited go to the stat ``mintsuche/retry_after_seconds``.
    """

    def __init__(self, crawler: Crawler, max_wait: float) -> None:
        self.crawler = crawler
        self.max_wait = max_wait

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        return cls(crawler, crawler.settings.getfloat("MINTSUCHE_RETRY_AFTER_MAX", 120.0))

    async def process_response(self, request: Request, response: Response) -> Response:
        if response.status not in (429, 503) or request.meta.get("dont_retry"):
            return response
        delay = retry_after_seconds(response.headers.get(b"Retry-After"), datetime.now(UTC))
        if delay is None or delay > self.max_wait:
            return response
        if delay > 0:
            from scrapy.utils.defer import maybe_deferred_to_future
            from twisted.internet import reactor
            from twisted.internet.task import deferLater

            await maybe_deferred_to_future(deferLater(reactor, delay, lambda: None))  # type: ignore[arg-type]
            if self.crawler.stats is not None:
                self.crawler.stats.inc_value("mintsuche/retry_after_seconds", delay)
        return response


META_PAGE_STATE = "mintsuche_page_state"
META_UNCHANGED = "mintsuche_unchanged"
CONDITIONAL_KINDS = frozenset({"html", "csv"})


def _page_url(request: Request) -> str:
    return str(request.meta.get(META_ORIGINAL_URL) or request.url)


def _eligible(request: Request, spider: Any) -> bool:
    """Pages whose records depend on that page alone: html/csv, no ``cb_kwargs``."""
    source = getattr(spider, "source", None)
    return (
        source is not None
        and str(getattr(source, "kind", "")) in CONDITIONAL_KINDS
        and not request.cb_kwargs
        and request.callback is not NO_CALLBACK  # robots.txt
    )


class _PageStates:
    """Database access shared by the two conditional-request middlewares."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def session(self) -> Any:
        from sqlmodel import Session

        from catalog.db import get_engine

        return Session(get_engine(self.database_url), expire_on_commit=False)


def _states(crawler: Crawler) -> _PageStates:
    if not crawler.settings.getbool("MINTSUCHE_CONDITIONAL", True):
        raise NotConfigured("MINTSUCHE_CONDITIONAL is off")
    url = crawler.settings.get("MINTSUCHE_DATABASE_URL")
    if not url:
        raise NotConfigured("no database (dry run): pages are always parsed")
    return _PageStates(url)


class ConditionalRequestMiddleware:
    """Downloader half of "an unchanged page is not parsed again".

    For an eligible page (html/csv source, a request without ``cb_kwargs``) whose last
    parse is stored in ``page_state`` with all its records still in ``raw_record``, the
    request gets ``If-None-Match`` / ``If-Modified-Since``. A ``304`` becomes an empty 200
    marked unchanged; a 200 whose body hash equals the stored one is marked unchanged too
    (servers without validators). :class:`UnchangedPageSpiderMiddleware` then emits the
    stored records instead of calling the spider. Off for dry runs (no database) and with
    the setting ``MINTSUCHE_CONDITIONAL = False``.

    The stored records are read once, when the request goes out (the same query checks
    that none went missing), and travel in ``request.meta``; their ``fetched_at`` is that
    moment. A page that turns out changed wastes that read, a small cost next to parsing it.
    Requests without a callback (robots.txt) are never looked up.
    """

    def __init__(self, crawler: Crawler, states: _PageStates) -> None:
        self.crawler = crawler
        self.states = states

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalRequestMiddleware:
        return cls(crawler, _states(crawler))

    def process_request(self, request: Request) -> None:
        spider = self.crawler.spider
        if not _eligible(request, spider) or META_PAGE_STATE in request.meta:
            return None
        from catalog import store

        source_id = spider.source.id  # type: ignore[union-attr]
        now = spider.fetched_at()  # type: ignore[union-attr]
        with self.states.session() as session:
            state = store.get_page_state(session, source_id, _page_url(request))
            if state is None or not state.record_keys:
                return None
            keys = state.record_keys
            if state.filled is not None:
                # the page's coverage is stored with it: an unchanged page needs only its
                # keys (touched by the store pipeline), not its records
                if store.count_raw_keys(session, source_id, keys) != len(set(keys)):
                    return None  # records went missing: parse in full
                records = None
            else:
                # an older page state: the records themselves, to count their coverage
                # (one query instead of a key check now and a load later)
                stored = store.raw_records_by_key(session, source_id, keys, fetched_at=now)
                if len(stored) != len(set(keys)):
                    return None  # records went missing: parse in full
                records = [stored[k] for k in keys]
        request.meta[META_PAGE_STATE] = {
            "body_hash": state.body_hash,
            "keys": keys,
            "records": records,
            "filled": state.filled,
            "fetched_at": now,
        }
        if state.etag:
            request.headers[b"If-None-Match"] = state.etag
        if state.last_modified:
            request.headers[b"If-Modified-Since"] = state.last_modified
        return None

    def process_response(self, request: Request, response: Response) -> Response:
        state = request.meta.get(META_PAGE_STATE)
        if state is None:
            return response
        stats = self.crawler.stats
        if response.status == 304:
            request.meta[META_UNCHANGED] = "not_modified"
            if stats is not None:
                stats.inc_value("mintsuche/pages_not_modified")
            return response.replace(status=200, body=b"")
        if response.status == 200 and _body_hash(response.body) == state["body_hash"]:
            request.meta[META_UNCHANGED] = "same_hash"
            if stats is not None:
                stats.inc_value("mintsuche/pages_same_hash")
        return response


def pending_pages(crawler: Crawler) -> list[dict[str, Any]]:
    """Page states parsed in this crawl, waiting for the run's outcome."""
    pending = getattr(crawler, "mintsuche_pending_pages", None)
    if pending is None:
        pending = []
        crawler.mintsuche_pending_pages = pending  # type: ignore[attr-defined]
    return pending


def _body_hash(body: bytes) -> str:
    import hashlib

    return hashlib.sha256(body).hexdigest()


@dataclasses.dataclass
class StoredRecords:
    """The stored records of one unchanged page, emitted again as one item.

    One item per page instead of one per record: Scrapy's per-item machinery (spider
    middlewares, item signals, log formatting) costs more than storing the record, and it
    would make the crawl of an unchanged page almost as expensive as parsing it. The item
    pipelines count and store each record (``crawlers.pipelines.RunPipeline``).

    When the page state holds the page's coverage (``filled``), the records are not loaded:
    ``records`` is None, ``keys`` name them, ``filled`` counts their non-empty fields, and
    :meth:`load` reads them for a pipeline that needs their content (JSON lines output).
    """

    url: str
    records: list[RawRecord] | None
    keys: list[str] = dataclasses.field(default_factory=list)
    filled: dict[str, int] | None = None
    fetched_at: datetime | None = None
    source_id: str = ""
    database_url: str | None = None

    def __post_init__(self) -> None:
        if self.records is not None:
            if not self.keys:
                self.keys = [r.source_key for r in self.records]
            if self.fetched_at is None and self.records:
                self.fetched_at = self.records[0].fetched_at
            if not self.source_id and self.records:
                self.source_id = self.records[0].source_id

    def __len__(self) -> int:
        return len(self.keys)

    def load(self) -> list[RawRecord]:
        """The records, in page order (read from the store if they were not loaded)."""
        if self.records is None:
            from catalog import store
            from catalog.db import get_engine, session_scope

            with session_scope(get_engine(self.database_url)) as session:
                stored = store.raw_records_by_key(
                    session, self.source_id, self.keys, fetched_at=self.fetched_at
                )
            self.records = [stored[k] for k in self.keys if k in stored]
        return self.records


class UnchangedPageSpiderMiddleware:
    """Spider half: re-emit the stored records of an unchanged page; remember parsed pages.

    An unchanged page's callback is never started (its output is not iterated); its stored
    records (read by :class:`ConditionalRequestMiddleware`) are yielded with this run's
    ``fetched_at`` instead, as one
    :class:`StoredRecords` item, so the pipeline counts, stores and checks them like
    parsed ones. After an eligible page was parsed and gave
    records and no follow-up requests, its validators, body hash and record keys are queued
    (:func:`pending_pages`); ``StorePipeline`` saves them only when the run ends ``success``,
    i.e. after all its records were stored, so a killed or failed run never leaves a page
    state that points at records it did not store.
    Bytes of parsed pages go to the stat ``mintsuche/bytes_parsed``.
    """

    def __init__(self, crawler: Crawler, states: _PageStates) -> None:
        self.crawler = crawler
        self.states = states

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> UnchangedPageSpiderMiddleware:
        return cls(crawler, _states(crawler))

    def _reemit(self, response: Response) -> list[Any]:
        state = response.meta[META_PAGE_STATE]
        if not state["keys"]:
            return []
        stats = self.crawler.stats
        if stats is not None:
            stats.inc_value("mintsuche/records_reemitted", len(state["keys"]))
        page = _page_url(response.request) if response.request else response.url
        return [
            StoredRecords(
                page,
                state["records"],
                keys=list(state["keys"]),
                filled=state["filled"] if state["records"] is None else None,
                fetched_at=state["fetched_at"],
                source_id=self.crawler.spider.source.id,  # type: ignore[union-attr]
                database_url=self.states.database_url,
            )
        ]

    def _remember(self, response: Response, keys: list[str], filled: dict[str, int]) -> None:
        """Queue the page's state; ``StorePipeline`` saves it only if the run succeeds."""
        self._remember_state(response, keys)
        pending_pages(self.crawler)[-1]["filled"] = filled

    def _remember_state(self, response: Response, keys: list[str]) -> None:
        spider = self.crawler.spider
        headers = response.headers
        etag = headers.get(b"ETag")
        modified = headers.get(b"Last-Modified")
        pending_pages(self.crawler).append(
            {
                "source_id": spider.source.id,  # type: ignore[union-attr]
                "url": _page_url(response.request) if response.request else response.url,
                "etag": etag.decode("latin-1") if etag else None,
                "last_modified": modified.decode("latin-1") if modified else None,
                "body_hash": _body_hash(response.body),
                "record_keys": keys,
            }
        )

    def _begin(self, response: Response) -> tuple[bool, bool]:
        """(unchanged, eligible) for this response; counts parsed bytes."""
        if response.meta.get(META_UNCHANGED):
            return True, False
        stats = self.crawler.stats
        if stats is not None:
            stats.inc_value("mintsuche/bytes_parsed", len(response.body))
        request = response.request
        eligible = (
            request is not None
            and response.status == 200
            and _eligible(request, self.crawler.spider)
        )
        return False, eligible

    def process_spider_output(self, response: Response, result: Any) -> Any:
        unchanged, eligible = self._begin(response)
        if unchanged:
            yield from self._reemit(response)
            return
        keys: list[str] = []
        tally = RunTally()
        follow = False
        for item in result:
            if isinstance(item, RawRecord):
                keys.append(item.source_key)
                if eligible:
                    tally.add(item)
            elif isinstance(item, Request):
                follow = True
            yield item
        if eligible and keys and not follow:
            self._remember(response, keys, dict(tally.filled))

    async def process_spider_output_async(self, response: Response, result: Any) -> Any:
        unchanged, eligible = self._begin(response)
        if unchanged:
            for record in self._reemit(response):
                yield record
            return
        keys: list[str] = []
        tally = RunTally()
        follow = False
        async for item in result:
            if isinstance(item, RawRecord):
                keys.append(item.source_key)
                if eligible:
                    tally.add(item)
            elif isinstance(item, Request):
                follow = True
            yield item
        if eligible and keys and not follow:
            self._remember(response, keys, dict(tally.filled))
