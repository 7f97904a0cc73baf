"""Run bookkeeping shared by the pipelines: counts, field coverage, status, progress events.

Pure helpers (no Scrapy objects needed) plus :func:`emit_event`, which writes one JSON line
to stdout (the channel ``crawlers.run`` promises its parent; logs go to stderr).

Status rules (docs/design.md, "Crawl process"): a run is ``failed`` when it yielded 0
items, when a start URL could not be fetched (HTTP error after retries, timeout, DNS,
refused connection; see ``SourceSpider.on_start_error``), when a spider callback raised
(``spider_exceptions/count``: a bug or a page the spider cannot read), or when the spider
closed for a reason other than ``finished``. One exception: ``closespider_pagecount`` means the
configured ``politeness.max_pages`` was reached, which is a limit, not a fault: that run is
``success`` with ``truncated: true`` in its stats.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import IO, Any

from crawlers.extract import is_empty
from crawlers.records import RawRecord

STATS_PREFIX = "mintsuche/"
DROPPED_PREFIX = "mintsuche/dropped/"
START_FAILED = "mintsuche/start_url_failed"
LIMIT_REASONS = frozenset({"closespider_pagecount"})


def emit_event(event: Mapping[str, Any], stream: IO[str] | None = None) -> None:
    """Write ``event`` as one JSON line to ``stream`` (default stdout) and flush."""
    out = stream if stream is not None else sys.stdout
    out.write(json.dumps(event, ensure_ascii=False, sort_keys=False, default=str) + "\n")
    out.flush()


class RunTally:
    """Counts items, per-field fill and store outcomes of one run."""

    def __init__(self, field_names: Iterable[str] = ()) -> None:
        self.field_names = list(field_names)
        self.items = 0
        self.filled: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()

    def add(self, record: RawRecord) -> None:
        """Count one record and which of its fields are non-empty."""
        self.items += 1
        filled = self.filled
        for name, value in record.fields.items():
            # the common cases inline (this runs for every field of every record);
            # anything else goes to ``is_empty``, which defines "non-empty"
            if value.__class__ is str:
                if value and not value.isspace():
                    filled[name] += 1
            elif value.__class__ is list:
                for part in value:
                    if part.__class__ is str:
                        if part and not part.isspace():
                            filled[name] += 1
                            break
                    elif not is_empty(part):
                        filled[name] += 1
                        break
            elif not is_empty(value):
                filled[name] += 1

    def add_filled(self, filled: Mapping[str, int], items: int) -> None:
        """Count ``items`` records whose per-field non-empty counts are ``filled`` (what
        :meth:`add` of each of them would count; an unchanged page's stored tally)."""
        self.items += items
        self.filled.update(filled)

    def add_outcomes(self, outcomes: Mapping[str, int]) -> None:
        """Add store outcomes (``new``/``changed``/``unchanged`` counts)."""
        self.outcomes.update({k: v for k, v in outcomes.items() if v})

    def coverage(self) -> dict[str, float]:
        """Non-empty share per field (configured fields and every field seen), 0..1."""
        names = list(dict.fromkeys([*self.field_names, *sorted(self.filled)]))
        if not self.items:
            return {name: 0.0 for name in names}
        return {name: round(self.filled[name] / self.items, 4) for name in names}


def _suffix_counts(stats: Mapping[str, Any], prefix: str) -> dict[str, int]:
    return {
        key[len(prefix) :]: int(value)
        for key, value in sorted(stats.items())
        if key.startswith(prefix) and isinstance(value, int | float)
    }


def summarize(
    scrapy_stats: Mapping[str, Any],
    tally: RunTally,
    *,
    reason: str,
    start_failures: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """The ``stats`` dict stored with the run (JSON-serialisable)."""
    robots = sum(_suffix_counts(scrapy_stats, "robotstxt/response_status_count/").values())
    responses = int(scrapy_stats.get("response_received_count", 0) or 0)
    errors: dict[str, Any] = {
        "log_errors": int(scrapy_stats.get("log_count/ERROR", 0) or 0),
        "retry_max_reached": int(scrapy_stats.get("retry/max_reached", 0) or 0),
        "exceptions": _suffix_counts(scrapy_stats, "downloader/exception_type_count/"),
        "start_urls": list(start_failures or []),
        "spider_exceptions": spider_exceptions(scrapy_stats),
        "bad_pages": int(scrapy_stats.get("mintsuche/bad_page", 0) or 0),
    }
    return {
        "items": tally.items,
        "pages": max(responses - robots, 0),
        "finish_reason": reason,
        "truncated": reason in LIMIT_REASONS,
        "outcomes": dict(tally.outcomes),
        "dropped": _suffix_counts(scrapy_stats, DROPPED_PREFIX),
        "http_status": _suffix_counts(scrapy_stats, "downloader/response_status_count/"),
        "retries": int(scrapy_stats.get("retry/count", 0) or 0),
        "page_failures": int(scrapy_stats.get("mintsuche/page_failed", 0) or 0),
        "coverage": tally.coverage(),
        "errors": errors,
        "requests": int(scrapy_stats.get("downloader/request_count", 0) or 0),
        "bytes_received": int(scrapy_stats.get("downloader/response_bytes", 0) or 0),
        "bytes_parsed": int(scrapy_stats.get("mintsuche/bytes_parsed", 0) or 0),
        "pages_unchanged": int(scrapy_stats.get("mintsuche/pages_not_modified", 0) or 0)
        + int(scrapy_stats.get("mintsuche/pages_same_hash", 0) or 0),
        "records_reemitted": int(scrapy_stats.get("mintsuche/records_reemitted", 0) or 0),
        # Scrapy's own spider open -> close time (CoreStats sets it before our handler runs)
        "elapsed_seconds": round(float(scrapy_stats.get("elapsed_time_seconds", 0) or 0), 4),
    }


def spider_exceptions(scrapy_stats: Mapping[str, Any]) -> int:
    """How many exceptions spider callbacks raised (Scrapy's ``spider_exceptions/count``)."""
    return int(scrapy_stats.get("spider_exceptions/count", 0) or 0)


def decide_status(
    *,
    items: int,
    reason: str,
    start_failures: list[dict[str, str]] | None = None,
    spider_errors: int = 0,
) -> tuple[str, str | None]:
    """``("success", None)`` or ``("failed", why)`` by the rules in the module docstring."""
    problems: list[str] = []
    if start_failures:
        problems.append(
            "start URL failed: " + "; ".join(f"{f['url']} ({f['error']})" for f in start_failures)
        )
    if spider_errors:
        problems.append(f"{spider_errors} exception(s) in spider callbacks (see the log)")
    if reason != "finished" and reason not in LIMIT_REASONS:
        problems.append(f"spider closed: {reason}")
    if items == 0:
        problems.append("0 items")
    if problems:
        return "failed", "; ".join(problems)
    return "success", None
