"""The crawl process: run sources in one Scrapy ``CrawlerProcess`` (a fresh OS process).

Command line::

    python -m crawlers.run --sources-file sources.yaml --database-url sqlite:///var/x.db \\
        [--replay-hosts '{"www.komm-mach-mint.de": "127.0.0.1:40123"}'] \\
        [--now 2020-11-14T12:00:00+00:00] [--jsonl out.jsonl] ID [ID …]

stdout carries one JSON object per line (logs go to stderr):

- ``{"event": "item", "source": id, "count": n}`` every 100 items,
- ``{"event": "run", "source": id, "status": "success"|"failed", "items": n, "run_id": …,
  "error": …, "stats": {…}}`` once per source at the end,
- ``{"event": "error", "message": …}`` for a bad configuration (then nothing is crawled).

Exit codes: 0 all runs succeeded, 1 at least one failed, 2 bad configuration (invalid
sources file: the ``SourcesError`` text; unknown source id; malformed ``--replay-hosts``
or ``--now``). With ``--jsonl PATH`` records are written to that file (truncated first)
instead of the database, and no ``CrawlRun`` is recorded.

Since Twisted's reactor cannot be restarted, every crawl needs its own process: the
parent (``mintsuche crawl``, the scheduler, the tests) calls :func:`crawl_in_subprocess`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from crawlers.stats import emit_event

REPO_ROOT = Path(__file__).resolve().parent.parent
EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


class CrawlError(Exception):
    """The crawl process could not crawl at all (bad configuration, crash at start)."""


def _parse_now(value: str | None) -> datetime | None:
    if not value:
        return None
    now = datetime.fromisoformat(value)
    if now.tzinfo is None:
        raise ValueError(f"--now must include a timezone offset, got {value!r}")
    return now


def build_settings(
    *,
    database_url: str | None,
    replay_hosts: Mapping[str, str] | None = None,
    jsonl: str | None = None,
    trigger: str = "cli",
) -> Any:
    """Scrapy ``Settings``: ``crawlers.settings`` plus the per-process options."""
    from scrapy.settings import Settings

    from crawlers import settings as defaults

    settings = Settings()
    settings.setmodule(defaults, priority="project")
    if jsonl:
        pipelines = dict(defaults.JSONL_PIPELINE)
        settings.set("MINTSUCHE_JSONL_PATH", jsonl, priority="cmdline")
    else:
        pipelines = dict(defaults.STORE_PIPELINE)
        settings.set("MINTSUCHE_DATABASE_URL", database_url, priority="cmdline")
    settings.set("ITEM_PIPELINES", pipelines, priority="cmdline")
    settings.set("MINTSUCHE_TRIGGER", trigger, priority="cmdline")
    if replay_hosts:
        settings.set("REPLAY_HOSTS", dict(replay_hosts), priority="cmdline")
    return settings


def _config_error(message: str) -> int:
    emit_event({"event": "error", "message": message})
    print(message, file=sys.stderr)
    return EXIT_CONFIG


def main(argv: Sequence[str] | None = None) -> int:
    """Run the crawl; see the module docstring for arguments, output and exit codes."""
    parser = argparse.ArgumentParser(prog="python -m crawlers.run", description=__doc__)
    parser.add_argument("source_ids", nargs="+", metavar="ID")
    parser.add_argument("--sources-file", default=str(REPO_ROOT / "sources.yaml"))
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--replay-hosts", default=None, help="JSON {host: 'addr:port'}")
    parser.add_argument("--now", default=None, help="ISO time used as fetched_at")
    parser.add_argument("--jsonl", default=None, help="write records here, not the store")
    parser.add_argument("--trigger", default="cli")
    args = parser.parse_args(argv)

    from crawlers.middleware import parse_replay_hosts
    from crawlers.sources import SourcesError, load_sources
    from crawlers.spiders import spider_class

    try:
        config = load_sources(args.sources_file)
    except SourcesError as exc:
        return _config_error(str(exc))
    try:
        replay_hosts = parse_replay_hosts(args.replay_hosts)
        now = _parse_now(args.now)
    except ValueError as exc:
        return _config_error(str(exc))
    sources = []
    for sid in dict.fromkeys(args.source_ids):
        source = config.get(sid)
        if source is None:
            return _config_error(config.unknown_id_message(sid))
        sources.append(source)
    if not args.jsonl:
        from catalog.db import database_url, get_engine, init_db

        args.database_url = args.database_url or database_url()
        init_db(get_engine(args.database_url))
    elif Path(args.jsonl).exists():
        Path(args.jsonl).unlink()

    from scrapy.crawler import CrawlerProcess

    from crawlers.pipelines import RUN_RESULTS

    settings = build_settings(
        database_url=args.database_url,
        replay_hosts=replay_hosts,
        jsonl=args.jsonl,
        trigger=args.trigger,
    )
    process = CrawlerProcess(settings)
    crawl_errors: dict[str, str] = {}
    for source in sources:
        try:
            spidercls = spider_class(source.kind).from_source(source, now=now)
        except (KeyError, ImportError) as exc:
            crawl_errors[source.id] = f"no spider for kind {source.kind!r}: {exc}"
            continue
        deferred = process.crawl(spidercls)

        def _failed(failure: Any, sid: str = source.id) -> None:
            crawl_errors[sid] = f"{failure.type.__name__}: {failure.getErrorMessage()}"

        deferred.addErrback(_failed)
    if len(crawl_errors) < len(sources):
        process.start()

    exit_code = EXIT_OK
    for source in sources:
        result = RUN_RESULTS.get(source.id)
        if result is None:
            result = {
                "event": "run",
                "source": source.id,
                "status": "failed",
                "items": 0,
                "run_id": None,
                "error": crawl_errors.get(source.id, "crawl did not run"),
            }
            emit_event(result)
        if result["status"] != "success":
            exit_code = EXIT_FAILED
    return exit_code


def crawl_in_subprocess(
    source_ids: Sequence[str],
    *,
    sources_file: str | os.PathLike[str],
    database_url: str | None = None,
    replay_hosts: Mapping[str, str] | None = None,
    now: datetime | None = None,
    jsonl: str | os.PathLike[str] | None = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    env: Mapping[str, str] | None = None,
    trigger: str = "cli",
    log_path: str | os.PathLike[str] | None = None,
) -> list[dict[str, Any]]:
    """Run ``python -m crawlers.run`` for ``source_ids``; return one ``run`` event per source.

    Every stdout event is passed to ``on_event`` as it arrives; the crawl's log goes to
    this process's stderr, or is appended to ``log_path`` when given. ``env`` adds
    environment variables (e.g.
    ``MINTSUCHE_DOWNLOAD_TIMEOUT``). Raises :class:`CrawlError` with the message for a bad
    configuration (exit code 2). A source without a ``run`` event (the process crashed) is
    reported with status ``failed``.
    """
    cmd = [sys.executable, "-m", "crawlers.run", "--sources-file", str(sources_file)]
    if database_url:
        cmd += ["--database-url", database_url]
    if replay_hosts:
        cmd += ["--replay-hosts", json.dumps(dict(replay_hosts))]
    if now is not None:
        cmd += ["--now", now.isoformat()]
    if jsonl is not None:
        cmd += ["--jsonl", str(jsonl)]
    if trigger != "cli":
        cmd += ["--trigger", trigger]
    cmd += list(source_ids)
    child_env = {**os.environ, **(env or {})}
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), child_env.get("PYTHONPATH", "")) if p
    )
    runs: dict[str, dict[str, Any]] = {}
    config_error: str | None = None
    log_file = open(log_path, "a", encoding="utf-8") if log_path is not None else None  # noqa: SIM115
    try:
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=log_file, text=True, encoding="utf-8", env=child_env
        )
    except BaseException:
        if log_file is not None:
            log_file.close()
        raise
    with proc, log_file if log_file is not None else contextlib.nullcontext():
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event.get("event") == "run":
                runs[event["source"]] = event
            elif event.get("event") == "error":
                config_error = event.get("message", "")
            if on_event is not None:
                on_event(event)
        returncode = proc.wait()
    if returncode == EXIT_CONFIG or config_error is not None:
        raise CrawlError(config_error or f"crawl process exited with code {returncode}")
    results = []
    for sid in dict.fromkeys(source_ids):
        event = runs.get(sid) or {
            "event": "run",
            "source": sid,
            "status": "failed",
            "items": 0,
            "run_id": None,
            "error": f"crawl process exited with code {returncode} without a result",
        }
        results.append(event)
    return results


if __name__ == "__main__":
    raise SystemExit(main())
