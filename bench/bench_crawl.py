"""Crawl benchmarks on the loopback replay server (ratios within one run, never absolutes).

1. Incremental crawl: the first crawl of an unchanged snapshot vs the second one
   (conditional requests + page hashes): requests, bytes received, bytes parsed, and the
   run's own duration (``CrawlRun.finished_at - started_at``: spider open to close,
   without the subprocess start-up, which is the same for both).
2. Pipeline overhead: the same crawl with no item pipeline ("bare Scrapy") vs with the
   ``StorePipeline`` into a fresh SQLite file (conditional requests off in both), measured
   by Scrapy's own ``elapsed_time_seconds``.

Seconds are medians of ``--repeat`` runs each (the loopback crawls are short, so a busy
machine shows in single runs). Conditional requests are still requests (answered 304):
what the second crawl saves is transfer and parsing, down to Scrapy's own per-crawl floor
(robots.txt, scheduling, closing).

Usage::

    .venv/bin/python bench/bench_crawl.py [--sources komm_mach_mint mzs_schulen] [--repeat 5]

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
import json, sys
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
process = CrawlerProcess(settings)
crawlers = []
for sid in ids:
    source = config.get(sid)
    crawler = process.create_crawler(spider_class(source.kind).from_source(source))
    crawlers.append(crawler)
    process.crawl(crawler)
process.start()
print(json.dumps({c.spider.name: {"elapsed": c.stats.get_value("elapsed_time_seconds"),
                                  "items": c.stats.get_value("item_scraped_count", 0)}
                  for c in crawlers}))
"""


def _run_seconds(url: str, run_ids: list[int]) -> float:
    from sqlmodel import Session

    from catalog.schema import CrawlRun

    with Session(get_engine(url)) as session:
        runs = [session.get(CrawlRun, rid) for rid in run_ids]
        return sum((r.finished_at - r.started_at).total_seconds() for r in runs if r)


def _figures(runs: list[dict[str, Any]], url: str) -> dict[str, Any]:
    assert all(r["status"] == "success" for r in runs), runs
    return {
        "items": sum(r["items"] for r in runs),
        "requests": sum(r["stats"]["requests"] for r in runs),
        "bytes_received": sum(r["stats"]["bytes_received"] for r in runs),
        "bytes_parsed": sum(r["stats"]["bytes_parsed"] for r in runs),
        "pages_unchanged": sum(r["stats"]["pages_unchanged"] for r in runs),
        "seconds": _run_seconds(url, [r["run_id"] for r in runs]),
    }


def incremental(ids: list[str], tmp: Path, repeat: int) -> dict[str, Any]:
    """First vs second crawl, ``repeat`` times on a fresh database; medians of seconds."""
    firsts: list[dict[str, Any]] = []
    seconds: list[dict[str, Any]] = []
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
                )
                bucket.append(_figures(runs, url))
    dispose_engines()
    first, second = dict(firsts[-1]), dict(seconds[-1])
    first["seconds"] = statistics.median(f["seconds"] for f in firsts)
    second["seconds"] = statistics.median(f["seconds"] for f in seconds)
    return {
        "first": first,
        "second": second,
        "seconds_first": [f["seconds"] for f in firsts],
        "seconds_second": [f["seconds"] for f in seconds],
        "ratio_bytes_parsed": first["bytes_parsed"] / max(second["bytes_parsed"], 1),
        "ratio_bytes_received": first["bytes_received"] / max(second["bytes_received"], 1),
        "ratio_seconds": first["seconds"] / second["seconds"] if second["seconds"] else None,
    }


def _bare_or_store(ids: list[str], hosts: dict[str, str], db: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", BARE, str(REPO / "sources.yaml"), json.dumps(hosts), db, *ids],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    return sum(v["elapsed"] for v in result.values())


def overhead(ids: list[str], tmp: Path, repeat: int) -> dict[str, Any]:
    bare: list[float] = []
    store: list[float] = []
    with ReplayServer(REPO / "snapshots", ids) as server:
        for i in range(repeat):
            bare.append(_bare_or_store(ids, server.host_map, ""))
            store.append(_bare_or_store(ids, server.host_map, f"sqlite:///{tmp / f'o{i}.db'}"))
    b, s = statistics.median(bare), statistics.median(store)
    return {
        "bare_seconds": bare,
        "store_seconds": store,
        "median_bare": b,
        "median_store": s,
        "overhead": s / b - 1,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sources", nargs="+", default=["komm_mach_mint", "mzs_schulen"])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = {
            "sources": args.sources,
            "incremental": incremental(args.sources, Path(tmp), args.repeat),
            "pipeline_overhead": overhead(args.sources, Path(tmp), args.repeat),
        }
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
