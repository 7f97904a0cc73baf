"""Scrapy settings for MINT-Suche crawls (constants; the environment is read here only).

Environment:
- ``MINTSUCHE_CONTACT_URL``: contact URL in the User-Agent. Set it before crawling live
  sites; without it the User-Agent says that no contact is configured.
- ``MINTSUCHE_DOWNLOAD_TIMEOUT``: seconds before a request times out (default 20; the
  fault tests set 2).
- ``MINTSUCHE_RETRY_TIMES``: retries per request (default 2; the fault tests set 0/1).

Per-source politeness (``sources.yaml`` ``politeness``) is applied by the spider as
``custom_settings``; in replay mode (``REPLAY_HOSTS`` set, all hosts on loopback) the
spider turns delays and AutoThrottle off, see ``crawlers.spiders.base``.
"""

from __future__ import annotations

import os

CONTACT_URL = os.environ.get("MINTSUCHE_CONTACT_URL", "").strip()

BOT_NAME = "mintsuche"
USER_AGENT = (
    f"MINT-Suche/0.1 (+{CONTACT_URL})"
    if CONTACT_URL
    else "MINT-Suche/0.1 (no contact configured: set MINTSUCHE_CONTACT_URL)"
)
ROBOTSTXT_OBEY = True

DOWNLOAD_DELAY = 1.0
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 1
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

RETRY_ENABLED = True
RETRY_TIMES = int(os.environ.get("MINTSUCHE_RETRY_TIMES", "2"))
DOWNLOAD_TIMEOUT = float(os.environ.get("MINTSUCHE_DOWNLOAD_TIMEOUT", "20"))

TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "INFO"
COOKIES_ENABLED = False
FEED_EXPORT_ENCODING = "utf-8"

# {host: "127.0.0.1:port"}; non-empty enables the replay middleware (crawlers.replay).
REPLAY_HOSTS: dict[str, str] = {}

DOWNLOADER_MIDDLEWARES = {
    "crawlers.middleware.ReplayMiddleware": 50,
    "crawlers.middleware.RetryAfterMiddleware": 560,
    "crawlers.middleware.ConditionalRequestMiddleware": 585,
}
SPIDER_MIDDLEWARES = {
    "crawlers.middleware.UnchangedPageSpiderMiddleware": 950,
}
# Conditional requests + page hashes (needs the database; off in dry runs).
MINTSUCHE_CONDITIONAL = True
# Longest Retry-After (seconds) that is waited for before retrying a 429/503.
MINTSUCHE_RETRY_AFTER_MAX = 120.0

# Exactly one of these is added by crawlers.run: the store or the JSON-lines file.
STORE_PIPELINE = {"crawlers.pipelines.StorePipeline": 300}
JSONL_PIPELINE = {"crawlers.pipelines.JsonLinesPipeline": 300}
ITEM_PIPELINES: dict[str, int] = {}

# Set by crawlers.run.
MINTSUCHE_DATABASE_URL: str | None = None
MINTSUCHE_JSONL_PATH: str | None = None
MINTSUCHE_PROGRESS_EVERY = 100
# A batch of records is upserted and committed when it reaches this many records, or when
# its oldest record waited this many seconds (checked as records arrive). A killed crawl
# loses at most the uncommitted batch; its run stays "running" and the next run re-fetches.
MINTSUCHE_COMMIT_EVERY = 500
MINTSUCHE_COMMIT_SECONDS = 10.0
