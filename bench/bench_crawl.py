"""Crawl benchmarks on the loopback replay server (ratios within one run, never absolutes).

1. Incremental crawl: the first crawl of an unchanged snapshot vs the second one
   (conditional requests + page hashes): requests, bytes received, bytes parsed, and the
   crawl's duration: from the first run's start to the last run's end
   (``CrawlRun.started_at``/``finished_at``: spider open to close, without the
   subprocess start-up, which is the same for both) and the crawl process's CPU seconds
   over the same span (the runs' ``cpu_clock``).
2. Pipeline overhead: the same crawl with no item pipeline ("bare Scrapy") vs with the
   ``StorePipeline`` into a fresh SQLite file (conditional requests off in both). The
   window is the whole crawl of the process: from before the first crawler is opened
   (its pipelines built: the store's mapper set-up, first connection and ``start_run``
   are inside) until the reactor has stopped (every run closed: ``finish_run``, the
   health check); wall and CPU seconds of the crawl process.

The sources of one crawl run concurrently in one process, so their runs overlap: every
figure is a span of the whole crawl, never a sum of per-run durations (a sum counts the
overlap twice and changes with how the runs happen to interleave; until 2026-11-26 this
benchmark summed them, which made the overhead look smaller and bimodal). Wall seconds
and CPU seconds are reported as medians, minima and medians of back-to-back pairs of
``--repeat`` runs each (the loopback crawls are short, so a busy machine shows in single
runs; CPU time is the steadier figure). Conditional requests are still requests
(answered 304): what the second crawl saves is transfer and parsing, down to Scrapy's own
per-crawl floor (robots.txt, scheduling, closing). That floor is measured too: a bare
Scrapy spider that requests the same pages with the validators the first crawl stored
(all answered 304, nothing parsed or stored); ``second_vs_floor`` is what our own work on
an unchanged crawl (run bookkeeping, loading and counting the stored records, health
check) still costs.

Fairness: both sides of a comparison crawl the same pages with the same settings from the
same replay server; the overhead pairs run back to back in alternating order, with
conditional requests off on both sides. Outside every measured window: process start-up,
i.e. imports (for both sides every component Scrapy's settings name, the downloader, and
our store modules) and building the crawler objects. ``targets`` sums up the medians of
the paired ratios against the targets (second crawl >= 5x cheaper, pipeline overhead
<= 10 %, wall and CPU) with the load average at the end. The crawl processes' logs go to
a temporary file.

Usage::

    .venv/bin/python bench/bench_crawl.py [--sources komm_mach_mint mzs_schulen] [--repeat 5]
        [--part all|incremental|overhead]

Prints one JSON document with the figures and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from catalog.db import dispose_engines, get_engine, init_db  # noqa: E402
from crawlers.replay import ReplayServer  # noqa: E402
from crawlers.run import crawl_in_subprocess  # noqa: E402

BARE = r"""
import json, sys, time
from scrapy import signals
from scrapy.crawler import CrawlerProcess
from crawlers.run import build_settings
from crawlers.sources import load_sources
from crawlers.spiders import spider_class

sources_file, hosts, db, ids = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4:]
if db:
    from catalog.db import get_engine, init_db
    init_db(get_engine(db))
settings = build_settings(database_url=db or None, replay_hosts=hosts)
settings.set("MINTSUCHE_CONDITIONAL", False, priority="cmdline")
if not db:
    settings.set("ITEM_PIPELINES", {}, priority="cmdline")
settings.set("LOG_LEVEL", "WARNING", priority="cmdline")
config = load_sources(sources_file)
# imports, outside the window on both sides (process start-up, not crawling): every
# component class Scrapy's settings name, the downloader and what our side loads later
from scrapy.utils.misc import load_object
for name in ("DOWNLOADER_MIDDLEWARES", "SPIDER_MIDDLEWARES", "EXTENSIONS",
             "DOWNLOAD_HANDLERS", "ITEM_PIPELINES"):
    for key, value in settings.getwithbase(name).items():  # {path: order}, {scheme: path}
        path = value if name == "DOWNLOAD_HANDLERS" else key
        if isinstance(path, str) and value is not None:
            load_object(path)
for name in ("SCHEDULER", "STATS_CLASS", "DUPEFILTER_CLASS", "LOG_FORMATTER", "DOWNLOADER",
             "SCHEDULER_PRIORITY_QUEUE", "SCHEDULER_MEMORY_QUEUE", "SCHEDULER_DISK_QUEUE",
             "ROBOTSTXT_PARSER"):
    load_object(settings[name])
import resource
import scrapy.core.downloader
import twisted.web.client
if db:
    import catalog.store
    import crawlers.health
    import crawlers.pipelines
process = CrawlerProcess(settings)
crawlers = [process.create_crawler(spider_class(config.get(sid).kind).from_source(config.get(sid)))
            for sid in ids]
# the window: every crawl of the process, from before the first crawler is opened (its
# pipelines built: the store's mapper set-up and first connection are inside) until the
# reactor stops (every spider_closed handler done: the run closed, page states saved)
wall, cpu = time.perf_counter(), time.process_time()
for crawler in crawlers:
    process.crawl(crawler)
process.start()
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
print(json.dumps({"wall": wall, "cpu": cpu,
                  "items": sum(c.stats.get_value("item_scraped_count", 0) for c in crawlers)}))
"""


FLOOR = r"""
import json, sys, time
import scrapy
from scrapy import signals
from scrapy.crawler import CrawlerProcess
from crawlers.run import build_settings

hosts, pages = json.loads(sys.argv[1]), json.loads(sys.argv[2])
settings = build_settings(database_url=None, replay_hosts=hosts)
settings.set("MINTSUCHE_CONDITIONAL", False, priority="cmdline")
settings.set("ITEM_PIPELINES", {}, priority="cmdline")
settings.set("LOG_LEVEL", "WARNING", priority="cmdline")
settings.set("DOWNLOAD_DELAY", 0, priority="cmdline")
settings.set("AUTOTHROTTLE_ENABLED", False, priority="cmdline")


class Floor(scrapy.Spider):
    # the same page requests with the stored validators; a 304 ends each with nothing
    custom_settings = {"HTTPERROR_ALLOWED_CODES": [304]}

    def __init__(self, name, page_list):
        super().__init__(name=name)
        self.page_list = page_list

    async def start(self):
        for page in self.page_list:
            headers = {}
            if page["etag"]:
                headers["If-None-Match"] = page["etag"]
            if page["last_modified"]:
                headers["If-Modified-Since"] = page["last_modified"]
            yield scrapy.Request(page["url"], headers=headers, callback=self.parse)

    def parse(self, response):
        assert response.status == 304, response.status
        return []


process = CrawlerProcess(settings)
crawlers, opened, closed = [], [], []
for sid, page_list in pages.items():
    crawler = process.create_crawler(Floor)
    crawlers.append(crawler)
    # the span from the first spider's open to the last one's close (they overlap), as
    # the pipeline measures its runs
    crawler.signals.connect(lambda: opened.append((time.perf_counter(), time.process_time())),
                            signal=signals.spider_opened, weak=False)
    crawler.signals.connect(lambda: closed.append((time.perf_counter(), time.process_time())),
                            signal=signals.spider_closed, weak=False)
    process.crawl(crawler, name=sid, page_list=page_list)
process.start()
print(json.dumps({
    "elapsed": max(c[0] for c in closed) - min(o[0] for o in opened),
    "cpu": max(c[1] for c in closed) - min(o[1] for o in opened),
    "status_304": {c.spider.name: c.stats.get_value("downloader/response_status_count/304", 0)
                   for c in crawlers},
}))
"""


def _run_seconds(url: str, run_ids: list[int]) -> float:
    """Wall seconds of one crawl process's runs: first open to last close (the runs of
    one process overlap, so their sum would count the overlap twice)."""
    from sqlmodel import Session

    from catalog.schema import CrawlRun

    with Session(get_engine(url)) as session:
        runs = [r for r in (session.get(CrawlRun, rid) for rid in run_ids) if r]
        return (max(r.finished_at for r in runs) - min(r.started_at for r in runs)).total_seconds()


def _cpu_span(runs: list[dict[str, Any]]) -> float:
    """CPU seconds of one crawl process's runs, first open to last close."""
    clocks = [r["stats"]["cpu_clock"] for r in runs]
    return max(c[1] for c in clocks) - min(c[0] for c in clocks)


def _figures(runs: list[dict[str, Any]], url: str) -> dict[str, Any]:
    assert all(r["status"] == "success" for r in runs), runs
    return {
        "items": sum(r["items"] for r in runs),
        "requests": sum(r["stats"]["requests"] for r in runs),
        "bytes_received": sum(r["stats"]["bytes_received"] for r in runs),
        "bytes_parsed": sum(r["stats"]["bytes_parsed"] for r in runs),
        "pages_unchanged": sum(r["stats"]["pages_unchanged"] for r in runs),
        "records_reemitted": sum(r["stats"].get("records_reemitted", 0) for r in runs),
        "seconds": _run_seconds(url, [r["run_id"] for r in runs]),
        "cpu_seconds": _cpu_span(runs),
    }


def _page_states(url: str) -> dict[str, list[dict[str, Any]]]:
    from sqlmodel import Session, select

    from catalog.schema import PageState

    pages: dict[str, list[dict[str, Any]]] = {}
    with Session(get_engine(url)) as session:
        for state in session.exec(select(PageState)):
            pages.setdefault(state.source_id, []).append(
                {"url": state.url, "etag": state.etag, "last_modified": state.last_modified}
            )
    return pages


def _floor(hosts: dict[str, str], pages: dict[str, list[dict[str, Any]]]) -> dict[str, float]:
    """Bare Scrapy fetching the same pages with the same validators (all answered 304)."""
    result = _run_script(FLOOR, json.dumps(hosts), json.dumps(pages))
    assert all(n == len(pages[k]) for k, n in result["status_304"].items()), result
    return {"scrapy_elapsed": result["elapsed"], "cpu_seconds": result["cpu"]}


def incremental(ids: list[str], tmp: Path, repeat: int) -> dict[str, Any]:
    """First vs second crawl, ``repeat`` times on a fresh database; medians of seconds."""
    firsts: list[dict[str, Any]] = []
    seconds: list[dict[str, Any]] = []
    floors: list[dict[str, float]] = []
    with ReplayServer(REPO / "snapshots", ids) as server:
        for i in range(repeat):
            url = f"sqlite:///{tmp / f'incremental{i}.db'}"
            init_db(get_engine(url))
            for bucket in (firsts, seconds):
                runs = crawl_in_subprocess(
                    ids,
                    sources_file=REPO / "sources.yaml",
                    database_url=url,
                    replay_hosts=server.host_map,
                    log_path=tmp / "crawl.log",
                )
                bucket.append(_figures(runs, url))
            floors.append(_floor(server.host_map, _page_states(url)))
    dispose_engines()
    first, second = dict(firsts[-1]), dict(seconds[-1])
    for key in ("seconds", "cpu_seconds"):
        first[key] = statistics.median(f[key] for f in firsts)
        second[key] = statistics.median(f[key] for f in seconds)
    floor = statistics.median(f["scrapy_elapsed"] for f in floors)
    floor_cpu = statistics.median(f["cpu_seconds"] for f in floors)
    return {
        "first": first,
        "second": second,
        "seconds_first": [f["seconds"] for f in firsts],
        "seconds_second": [f["seconds"] for f in seconds],
        "cpu_first": [f["cpu_seconds"] for f in firsts],
        "cpu_second": [f["cpu_seconds"] for f in seconds],
        "floor_304_only_scrapy_elapsed": [f["scrapy_elapsed"] for f in floors],
        "floor_304_only_cpu": [f["cpu_seconds"] for f in floors],
        "median_floor": floor,
        "median_floor_cpu": floor_cpu,
        "ratio_bytes_parsed": first["bytes_parsed"] / max(second["bytes_parsed"], 1),
        "ratio_bytes_received": first["bytes_received"] / max(second["bytes_received"], 1),
        "ratio_seconds": first["seconds"] / second["seconds"] if second["seconds"] else None,
        # the best any second crawl of these pages can do: bare Scrapy, all pages 304
        "ratio_first_vs_floor": first["seconds"] / floor if floor else None,
        "second_vs_floor": second["seconds"] / floor if floor else None,
        "ratio_cpu": first["cpu_seconds"] / second["cpu_seconds"]
        if second["cpu_seconds"]
        else None,
        # robust to a busy machine: the fastest of the repeats, and the median of the ratios
        # of each repeat's first and second crawl (run back to back, so under similar load)
        "ratio_seconds_min": min(f["seconds"] for f in firsts) / min(f["seconds"] for f in seconds),
        "ratio_cpu_min": min(f["cpu_seconds"] for f in firsts)
        / min(f["cpu_seconds"] for f in seconds),
        "ratio_seconds_paired_median": statistics.median(
            f["seconds"] / g["seconds"] for f, g in zip(firsts, seconds, strict=True)
        ),
        "ratio_cpu_paired_median": statistics.median(
            f["cpu_seconds"] / g["cpu_seconds"] for f, g in zip(firsts, seconds, strict=True)
        ),
        "ratio_first_vs_floor_cpu": first["cpu_seconds"] / floor_cpu if floor_cpu else None,
        "second_vs_floor_cpu": second["cpu_seconds"] / floor_cpu if floor_cpu else None,
    }


def _run_script(script: str, *args: str) -> dict[str, Any]:
    """Run ``script`` in a fresh interpreter (the project on its path); return the JSON
    document of its last output line."""
    out = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def _bare_or_store(ids: list[str], hosts: dict[str, str], db: str) -> tuple[float, float]:
    result = _run_script(BARE, str(REPO / "sources.yaml"), json.dumps(hosts), db, *ids)
    return result["wall"], result["cpu"]


def overhead(ids: list[str], tmp: Path, repeat: int) -> dict[str, Any]:
    bare: list[tuple[float, float]] = []
    store: list[tuple[float, float]] = []
    with ReplayServer(REPO / "snapshots", ids) as server:
        for i in range(repeat):
            # each pair back to back, in alternating order (a drifting load favours neither)
            db = f"sqlite:///{tmp / f'o{i}.db'}"
            if i % 2:
                store.append(_bare_or_store(ids, server.host_map, db))
                bare.append(_bare_or_store(ids, server.host_map, ""))
            else:
                bare.append(_bare_or_store(ids, server.host_map, ""))
                store.append(_bare_or_store(ids, server.host_map, db))
    b, s = statistics.median(x[0] for x in bare), statistics.median(x[0] for x in store)
    bc, sc = statistics.median(x[1] for x in bare), statistics.median(x[1] for x in store)
    return {
        "bare_seconds": [x[0] for x in bare],
        "store_seconds": [x[0] for x in store],
        "bare_cpu": [x[1] for x in bare],
        "store_cpu": [x[1] for x in store],
        "median_bare": b,
        "median_store": s,
        "median_bare_cpu": bc,
        "median_store_cpu": sc,
        "overhead": s / b - 1,
        "overhead_cpu": sc / bc - 1,
        # robust to a busy machine: fastest of the repeats; median of back-to-back pairs
        "overhead_min": min(x[0] for x in store) / min(x[0] for x in bare) - 1,
        "overhead_cpu_min": min(x[1] for x in store) / min(x[1] for x in bare) - 1,
        "overhead_paired_median": statistics.median(
            x[0] / y[0] for x, y in zip(store, bare, strict=True)
        )
        - 1,
        "overhead_cpu_paired_median": statistics.median(
            x[1] / y[1] for x, y in zip(store, bare, strict=True)
        )
        - 1,
    }


def targets(result: dict[str, Any]) -> dict[str, Any]:
    """The headline figures against the targets: medians of the paired ratios."""
    out: dict[str, Any] = {}
    inc = result.get("incremental")
    if inc:
        out["second_crawl_cheaper_seconds_paired"] = round(inc["ratio_seconds_paired_median"], 2)
        out["second_crawl_cheaper_cpu_paired"] = round(inc["ratio_cpu_paired_median"], 2)
        out["second_crawl_target_5x_met"] = inc["ratio_seconds_paired_median"] >= 5
    ovh = result.get("pipeline_overhead")
    if ovh:
        out["pipeline_overhead_paired"] = round(ovh["overhead_paired_median"], 3)
        out["pipeline_overhead_cpu_paired"] = round(ovh["overhead_cpu_paired_median"], 3)
        out["pipeline_overhead_target_10pct_met"] = (
            max(ovh["overhead_paired_median"], ovh["overhead_cpu_paired_median"]) <= 0.10
        )
    out["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sources", nargs="+", default=["komm_mach_mint", "mzs_schulen"])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--part", choices=["all", "incremental", "overhead"], default="all")
    args = parser.parse_args()
    result: dict[str, Any] = {"sources": args.sources}
    with tempfile.TemporaryDirectory() as tmp:
        if args.part in ("all", "incremental"):
            result["incremental"] = incremental(args.sources, Path(tmp), args.repeat)
        if args.part in ("all", "overhead"):
            result["pipeline_overhead"] = overhead(args.sources, Path(tmp), args.repeat)
    result["targets"] = targets(result)
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
