"""Downloader middleware that sends requests to the loopback replay servers.

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

import json
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

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
