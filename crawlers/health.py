"""Health rules for crawl runs: pure functions of a run and the runs before it.

A run is unhealthy (and is recorded ``failed``, so it removes nothing from the catalogue) when

- it yielded 0 items,
- its error rate is above ``max_error_rate`` (failed requests: HTTP status >= 400 and
  download exceptions, over all requests; judged from ``min_requests`` requests on, so a
  source of three documents with one optional document missing is not failed for it),
- its item count fell below ``min_item_ratio`` × the median of the previous successful
  runs (a listing that lost pages),
- a field's coverage fell below ``min_coverage_ratio`` × its median coverage in the
  previous successful runs, for fields that were at least ``min_baseline_coverage``
  filled before (a layout change: "Abdeckung title 97 % → 0 %").

The comparisons need ``min_history`` previous successful runs; without them only the first
two rules apply. Runs are given as :class:`RunFacts` (built from a ``CrawlRun`` or a run
event with :meth:`RunFacts.from_stats`). Messages are German: they reach operators on the
admin page and in notifications.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import median
from typing import Any


@dataclass(frozen=True)
class HealthRules:
    """Thresholds (defaults are deliberately loose: they catch breakage, not noise)."""

    max_error_rate: float = 0.2
    min_requests: int = 10
    min_item_ratio: float = 0.5
    min_coverage_ratio: float = 0.5
    min_baseline_coverage: float = 0.2
    min_history: int = 1
    history: int = 5


@dataclass(frozen=True)
class RunFacts:
    """What the rules look at in one run."""

    items: int
    requests: int = 0
    failed_requests: int = 0
    coverage: Mapping[str, float] = field(default_factory=dict)

    @property
    def error_rate(self) -> float:
        return self.failed_requests / self.requests if self.requests else 0.0

    @classmethod
    def from_stats(cls, stats: Mapping[str, Any], items: int | None = None) -> RunFacts:
        """Read the ``stats`` dict that ``crawlers.stats.summarize`` writes."""
        http = {str(k): int(v) for k, v in (stats.get("http_status") or {}).items()}
        errors = stats.get("errors") or {}
        exceptions = sum(int(v) for v in (errors.get("exceptions") or {}).values())
        failed_http = sum(v for k, v in http.items() if k.isdigit() and int(k) >= 400)
        return cls(
            items=int(stats.get("items", 0) if items is None else items),
            requests=sum(http.values()) + exceptions,
            failed_requests=failed_http + exceptions,
            coverage={str(k): float(v) for k, v in (stats.get("coverage") or {}).items()},
        )


@dataclass(frozen=True)
class Finding:
    """One broken rule: a machine code and a German sentence for operators."""

    code: str
    message: str
    field: str | None = None


def _pct(value: float) -> str:
    return f"{round(value * 100)} %"


def check_run(
    run: RunFacts, previous: Sequence[RunFacts], rules: HealthRules | None = None
) -> list[Finding]:
    """Return what is wrong with ``run`` given ``previous`` successful runs (newest first)."""
    rules = rules or HealthRules()
    findings: list[Finding] = []
    if run.items == 0:
        findings.append(Finding("no_items", "0 Datensätze geliefert"))
    if run.requests >= rules.min_requests and run.error_rate > rules.max_error_rate:
        findings.append(
            Finding(
                "error_rate",
                f"Fehlerquote {_pct(run.error_rate)} ({run.failed_requests} von "
                f"{run.requests} Anfragen) über der Grenze {_pct(rules.max_error_rate)}",
            )
        )
    history = list(previous)[: rules.history]
    if len(history) < rules.min_history or run.items == 0:
        return findings
    baseline_items = median(r.items for r in history)
    if baseline_items and run.items < rules.min_item_ratio * baseline_items:
        findings.append(
            Finding(
                "item_drop",
                f"Datensätze {round(baseline_items)} → {run.items} "
                f"(unter {_pct(rules.min_item_ratio)} der letzten erfolgreichen Läufe)",
            )
        )
    names = sorted({name for r in history for name in r.coverage})
    for name in names:
        baseline = median(r.coverage.get(name, 0.0) for r in history)
        now = run.coverage.get(name, 0.0)
        if baseline >= rules.min_baseline_coverage and now < rules.min_coverage_ratio * baseline:
            findings.append(
                Finding(
                    "coverage_drop",
                    f"Abdeckung {name} {_pct(baseline)} → {_pct(now)}",
                    field=name,
                )
            )
    return findings


def summary(findings: Sequence[Finding]) -> str:
    """One line for logs and the run's error text."""
    return "; ".join(f.message for f in findings)
