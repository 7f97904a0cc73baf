"""Conditional requests and page hashes: an unchanged page is not parsed again, its stored
records are re-emitted (nothing goes stale); a changed page, or one whose records went
missing, is parsed in full."""

from __future__ import annotations

import shutil
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import delete
from sqlmodel import Session, select

from catalog.db import dispose_engines, get_engine, init_db
from catalog.schema import PageState, RawRecordRow
from crawlers.middleware import StoredRecords
from crawlers.replay import ReplayServer
from crawlers.run import crawl_in_subprocess

REPO = Path(__file__).resolve().parent.parent
HOST = "www.komm-mach-mint.de"
PAGE_FILE = Path("komm_mach_mint") / HOST / "schuelerinnen/mint-karte"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, Any]:
    snapshots = tmp_path / "snapshots"
    shutil.copytree(REPO / "snapshots" / "komm_mach_mint", snapshots / "komm_mach_mint")
    data = yaml.safe_load((REPO / "sources.yaml").read_text(encoding="utf-8"))
    entry = next(s for s in data["sources"] if s["id"] == "komm_mach_mint")
    sources = tmp_path / "sources.yaml"
    sources.write_text(yaml.safe_dump({"sources": [entry]}, allow_unicode=True), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'x.db'}"
    init_db(get_engine(url))
    yield {"snapshots": snapshots, "sources": sources, "url": url}
    dispose_engines()


def crawl(env: dict[str, Any], hosts: dict[str, str] | None = None) -> dict[str, Any]:
    if hosts is None:
        with ReplayServer(env["snapshots"], ["komm_mach_mint"]) as server:
            return crawl(env, server.host_map)
    [run] = crawl_in_subprocess(
        ["komm_mach_mint"],
        sources_file=env["sources"],
        database_url=env["url"],
        replay_hosts=hosts,
        now=NOW,
    )
    assert run["status"] == "success", run["error"]
    return run


def test_unchanged_page_gets_304_and_is_not_parsed(env: dict[str, Any]) -> None:
    first = crawl(env)
    second = crawl(env)
    assert first["stats"]["bytes_parsed"] > 1_000_000 and first["stats"]["pages_unchanged"] == 0
    assert second["stats"]["http_status"] == {"200": 1, "304": 1}  # robots.txt, the page
    assert second["stats"]["bytes_parsed"] == 0 and second["stats"]["pages_unchanged"] == 1
    assert second["items"] == 994 and second["stats"]["outcomes"] == {"unchanged": 994}
    assert second["stats"]["records_reemitted"] == 994 and first["stats"]["records_reemitted"] == 0
    assert second["stats"]["coverage"] == first["stats"]["coverage"]
    with Session(get_engine(env["url"])) as session:
        rows = session.exec(select(RawRecordRow.last_run_id)).all()
        assert set(rows) == {second["run_id"]}  # every record seen by the second run


def test_changed_page_is_parsed_again(env: dict[str, Any]) -> None:
    crawl(env)
    page = env["snapshots"] / PAGE_FILE
    text = page.read_text(encoding="utf-8")
    page.write_text(
        text.replace(
            "#FitB - Frauen in technischen Berufen", "#FitB – Frauen in technischen Berufen", 1
        ),
        encoding="utf-8",
    )
    second = crawl(env)
    assert second["stats"]["pages_unchanged"] == 0 and second["stats"]["bytes_parsed"] > 0
    assert second["stats"]["outcomes"] == {"changed": 1, "unchanged": 993}


def test_missing_records_force_a_full_parse(env: dict[str, Any]) -> None:
    crawl(env)
    with Session(get_engine(env["url"])) as session:
        session.exec(delete(RawRecordRow).where(RawRecordRow.id == 1))
        session.commit()
    second = crawl(env)
    assert second["stats"]["pages_unchanged"] == 0
    assert second["stats"]["outcomes"] == {"new": 1, "unchanged": 993}


def test_server_without_validators_is_recognised_by_the_page_hash(env: dict[str, Any]) -> None:
    body = (env["snapshots"] / PAGE_FILE).read_bytes()
    requests: list[dict[str, str]] = []

    class Plain(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            payload = b"User-agent: *\nDisallow:\n" if self.path == "/robots.txt" else body
            if self.path != "/robots.txt":
                requests.append(dict(self.headers))
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Plain)
    server.daemon_threads = True
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    try:
        hosts = {HOST: f"127.0.0.1:{server.server_address[1]}"}
        crawl(env, hosts)
        second = crawl(env, hosts)
    finally:
        server.shutdown()
        server.server_close()
    assert not any("If-None-Match" in r for r in requests)
    assert second["stats"]["pages_unchanged"] == 1 and second["stats"]["bytes_parsed"] == 0
    assert second["stats"]["outcomes"] == {"unchanged": 994}


def test_unchanged_page_counts_coverage_from_its_state_without_loading(
    env: dict[str, Any],
) -> None:
    """The page state keeps the page's per-field counts; an older state without them makes
    the crawl load the stored records instead, with the same coverage either way."""
    first = crawl(env)
    with Session(get_engine(env["url"])) as session:
        [state] = session.exec(select(PageState)).all()
        assert state.filled is not None
        coverage = {k: round(v / 994, 4) for k, v in state.filled.items()}
        assert {k: v for k, v in first["stats"]["coverage"].items() if v} == coverage
        state.filled = None  # as written before the counts were kept
        session.add(state)
        session.commit()
    from_records = crawl(env)
    from_state = crawl(env)
    for run in (from_records, from_state):
        assert run["stats"]["pages_unchanged"] == 1 and run["items"] == 994
        assert run["stats"]["coverage"] == first["stats"]["coverage"]


def test_stored_records_load_their_content_in_page_order(env: dict[str, Any]) -> None:
    """A pipeline that needs an unchanged page's content (the default ``handle_stored``)
    reads it with ``StoredRecords.load``: the stored records, in page order, with this
    run's time."""
    crawl(env)
    with Session(get_engine(env["url"])) as session:
        [state] = session.exec(select(PageState)).all()
    keys = list(reversed(state.record_keys[:5]))
    item = StoredRecords(
        state.url,
        None,
        keys=keys,
        filled={},
        fetched_at=NOW,
        source_id="komm_mach_mint",
        database_url=env["url"],
    )
    records = item.load()
    assert [r.source_key for r in records] == keys and len(item) == 5
    assert all(r.fetched_at == NOW and r.fields.get("title") for r in records)
