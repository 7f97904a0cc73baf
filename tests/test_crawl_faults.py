"""What bad input gets: a source that answers 500 or never answers is retried, its run is
recorded ``failed`` and the records already in the catalogue stay; a broken sources file
stops the crawl process before anything is crawled."""

from __future__ import annotations

import shutil
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlmodel import Session, select

from catalog import store
from catalog.db import dispose_engines, get_engine, init_db
from catalog.schema import CrawlRun
from crawlers.replay import ReplayServer
from crawlers.run import CrawlError, crawl_in_subprocess
from crawlers.stats import decide_status

REPO = Path(__file__).resolve().parent.parent
HOST = "www.komm-mach-mint.de"
NOW = datetime(2020, 11, 14, 12, 0, tzinfo=UTC)


def kmm_sources_file(tmp: Path) -> Path:
    data = yaml.safe_load((REPO / "sources.yaml").read_text(encoding="utf-8"))
    entry = next(s for s in data["sources"] if s["id"] == "komm_mach_mint")
    path = tmp / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": [entry]}, allow_unicode=True), encoding="utf-8")
    return path


class Always500(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802
        body = b"kaputt"
        self.send_response(500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class Garbage(BaseHTTPRequestHandler):
    """200 OK with bytes that are no page at all."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802
        body = bytes(range(256)) * 4
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def make_hanging_handler(release: threading.Event) -> type[BaseHTTPRequestHandler]:
    class Hang(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            release.wait(60)  # never answers within the crawler's timeout

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    return Hang


def serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    host, port = server.server_address[:2]
    return server, f"{host}:{port}"


@pytest.fixture(scope="module")
def good_crawl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file holding one good komm_mach_mint crawl (copied for each test)."""
    tmp = tmp_path_factory.mktemp("good")
    url = f"sqlite:///{tmp / 'x.db'}"
    init_db(get_engine(url))
    with ReplayServer(REPO / "snapshots", ["komm_mach_mint"]) as server:
        [run] = crawl_in_subprocess(
            ["komm_mach_mint"],
            sources_file=kmm_sources_file(tmp),
            database_url=url,
            replay_hosts=server.host_map,
            now=NOW,
        )
    assert run["status"] == "success" and run["items"] == 994
    dispose_engines()  # close our connections so the file is complete on disk
    return tmp / "x.db"


@pytest.fixture
def catalogue(tmp_path: Path, good_crawl: Path) -> dict[str, Any]:
    """A fresh copy of the catalogue with the good crawl."""
    for suffix in ("", "-wal", "-shm"):
        source = good_crawl.with_name(good_crawl.name + suffix)
        if source.exists():
            shutil.copy(source, tmp_path / source.name)
    return {"sources_file": kmm_sources_file(tmp_path), "url": f"sqlite:///{tmp_path / 'x.db'}"}


def stored(url: str) -> tuple[int, list[CrawlRun]]:
    with Session(get_engine(url)) as session:
        count = len(list(store.iter_raw(session, ["komm_mach_mint"])))
        runs = list(session.exec(select(CrawlRun).order_by(CrawlRun.id)))
    return count, runs


def test_server_error_fails_the_run_and_keeps_records(catalogue: dict[str, Any]) -> None:
    server, address = serve(Always500)
    try:
        [run] = crawl_in_subprocess(
            ["komm_mach_mint"],
            sources_file=catalogue["sources_file"],
            database_url=catalogue["url"],
            replay_hosts={HOST: address},
            env={"MINTSUCHE_RETRY_TIMES": "1", "MINTSUCHE_DOWNLOAD_TIMEOUT": "2"},
        )
    finally:
        server.shutdown()
        server.server_close()
    assert run["status"] == "failed"
    assert run["items"] == 0
    assert "HTTP 500" in run["error"] and "0 items" in run["error"]
    assert run["stats"]["http_status"]["500"] >= 2  # the start URL was retried
    assert run["stats"]["errors"]["retry_max_reached"] >= 1
    count, runs = stored(catalogue["url"])
    assert count == 994
    assert [r.status for r in runs] == ["success", "failed"]
    assert runs[-1].error == run["error"]
    assert runs[-1].finished_at is not None


def test_timeout_fails_the_run_and_keeps_records(catalogue: dict[str, Any]) -> None:
    release = threading.Event()
    server, address = serve(make_hanging_handler(release))
    try:
        [run] = crawl_in_subprocess(
            ["komm_mach_mint"],
            sources_file=catalogue["sources_file"],
            database_url=catalogue["url"],
            replay_hosts={HOST: address},
            env={"MINTSUCHE_RETRY_TIMES": "0", "MINTSUCHE_DOWNLOAD_TIMEOUT": "2"},
        )
    finally:
        release.set()
        server.shutdown()
        server.server_close()
    assert run["status"] == "failed"
    assert "TimeoutError" in run["error"] or "timed out" in run["error"].lower()
    assert run["stats"]["errors"]["start_urls"][0]["url"].startswith(f"https://{HOST}/")
    count, runs = stored(catalogue["url"])
    assert count == 994
    assert [r.status for r in runs] == ["success", "failed"]


def test_garbage_fails_the_run_and_keeps_records(catalogue: dict[str, Any]) -> None:
    server, address = serve(Garbage)
    try:
        [run] = crawl_in_subprocess(
            ["komm_mach_mint"],
            sources_file=catalogue["sources_file"],
            database_url=catalogue["url"],
            replay_hosts={HOST: address},
        )
    finally:
        server.shutdown()
        server.server_close()
    assert run["status"] == "failed"
    assert run["error"] == "0 items"
    assert run["stats"]["errors"]["bad_pages"] == 1
    assert run["stats"]["errors"]["spider_exceptions"] == 0
    count, runs = stored(catalogue["url"])
    assert count == 994
    assert [r.status for r in runs] == ["success", "failed"]


def test_unreachable_host_fails_the_run(tmp_path: Path) -> None:
    server, address = serve(Always500)
    server.shutdown()
    server.server_close()  # nothing listens on that port any more: connection refused
    [run] = crawl_in_subprocess(
        ["komm_mach_mint"],
        sources_file=kmm_sources_file(tmp_path),
        jsonl=tmp_path / "out.jsonl",
        replay_hosts={HOST: address},
        env={"MINTSUCHE_RETRY_TIMES": "0"},
    )
    assert run["status"] == "failed"
    assert "start URL failed" in run["error"]


def test_broken_sources_file_crawls_nothing(tmp_path: Path) -> None:
    text = kmm_sources_file(tmp_path).read_text(encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace("start_urls:", "strat_urls:"), encoding="utf-8")
    events: list[dict[str, Any]] = []
    with pytest.raises(CrawlError, match="did you mean 'start_urls'") as info:
        crawl_in_subprocess(
            ["komm_mach_mint"],
            sources_file=broken,
            database_url=f"sqlite:///{tmp_path / 'x.db'}",
            on_event=events.append,
        )
    assert "broken.yaml:" in str(info.value)
    assert [e["event"] for e in events] == ["error"]
    assert not (tmp_path / "x.db").exists()


def test_unknown_source_id(tmp_path: Path) -> None:
    with pytest.raises(CrawlError, match="komm_mach_mit"):
        crawl_in_subprocess(
            ["komm_mach_mit"],
            sources_file=kmm_sources_file(tmp_path),
            jsonl=tmp_path / "out.jsonl",
        )


@pytest.mark.parametrize(
    ("kwargs", "status", "why"),
    [
        ({"items": 5, "reason": "finished"}, "success", None),
        ({"items": 5, "reason": "closespider_pagecount"}, "success", None),
        ({"items": 0, "reason": "finished"}, "failed", "0 items"),
        ({"items": 5, "reason": "shutdown"}, "failed", "spider closed: shutdown"),
        ({"items": 5, "reason": "finished", "spider_errors": 2}, "failed", "2 exception"),
        (
            {"items": 5, "reason": "finished", "start_failures": [{"url": "u", "error": "e"}]},
            "failed",
            "start URL failed: u (e)",
        ),
    ],
)
def test_decide_status(kwargs: dict[str, Any], status: str, why: str | None) -> None:
    got_status, got_why = decide_status(**kwargs)
    assert got_status == status
    if why is None:
        assert got_why is None
    else:
        assert got_why is not None and why in got_why
