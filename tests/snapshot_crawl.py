"""Shared by the spider tests: crawl one source from its snapshot into a fresh SQLite
file through the replay server and the real crawl subprocess."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlmodel import Session

from catalog import store
from catalog.db import get_engine, init_db
from crawlers.replay import ReplayServer
from crawlers.run import crawl_in_subprocess

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def source_entry(source_id: str) -> dict[str, Any]:
    """``source_id``'s entry of the repository's sources.yaml, as plain data."""
    data = yaml.safe_load((REPO / "sources.yaml").read_text(encoding="utf-8"))
    return next(s for s in data["sources"] if s["id"] == source_id)


def write_sources(tmp: Path, *entries: dict[str, Any]) -> Path:
    path = tmp / "sources.yaml"
    path.write_text(
        yaml.safe_dump({"sources": list(entries)}, allow_unicode=True), encoding="utf-8"
    )
    return path


def crawl(
    tmp: Path, source_id: str, snapshots: Path, sources_file: Path, runs: int = 1
) -> tuple[list[dict[str, Any]], list[Any]]:
    """Crawl ``source_id`` ``runs`` times into a fresh SQLite file; the run events and
    the stored raw records."""
    url = f"sqlite:///{tmp / 'crawl.db'}"
    init_db(get_engine(url))
    events: list[dict[str, Any]] = []
    with ReplayServer(snapshots, [source_id]) as server:
        for _ in range(runs):
            events += crawl_in_subprocess(
                [source_id],
                sources_file=sources_file,
                database_url=url,
                replay_hosts=server.host_map,
                now=NOW,
            )
    with Session(get_engine(url)) as session:
        records = list(store.iter_raw(session, [source_id]))
    return events, records
