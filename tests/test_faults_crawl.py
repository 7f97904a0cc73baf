"""More faults on loopback, each asserting the run's status and that nothing in the
catalogue was lost: truncated body, ISO-8859-1 page, redirect loop, a 10 MB page, robots.txt
disallowing everything, 429 with Retry-After, and a crawl killed with SIGKILL mid-way and
run again."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlmodel import Session, select

from catalog import store
from catalog.db import dispose_engines, get_engine, init_db
from catalog.schema import CrawlRun, OfferRow
from crawlers.middleware import retry_after_seconds
from crawlers.replay import ReplayServer
from crawlers.run import REPO_ROOT, crawl_in_subprocess
from crawlers.scheduler import JobContext, run_source

REPO = Path(__file__).resolve().parent.parent
HOST = "www.komm-mach-mint.de"
PAGE_PATH = "/schuelerinnen/mint-karte"
PAGE = (REPO / "snapshots/komm_mach_mint" / HOST / PAGE_PATH.lstrip("/")).read_bytes()
ROBOTS_OK = b"User-agent: *\nDisallow:\n"
NOW = datetime(2020, 11, 14, 12, 0, tzinfo=UTC)
FAST = {"MINTSUCHE_RETRY_TIMES": "0", "MINTSUCHE_DOWNLOAD_TIMEOUT": "5"}

Route = Callable[[BaseHTTPRequestHandler], None]


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes, **headers: str) -> None:
    handler.send_response(status)
    named = {"Content-Type": "text/html; charset=utf-8"}
    named.update({name.replace("_", "-"): value for name, value in headers.items()})
    for name, value in named.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@contextmanager
def site(page: Route, robots: bytes = ROBOTS_OK, **extra: Route) -> Iterator[dict[str, Any]]:
    """A loopback komm-mach-mint.de: robots.txt, the list page and extra routes."""
    hits: list[tuple[str, float]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            hits.append((self.path, time.monotonic()))
            if self.path == "/robots.txt":
                send(self, 200, robots, Content_Type="text/plain")
            elif self.path == PAGE_PATH:
                page(self)
            elif self.path in extra:
                extra[self.path](self)
            else:
                send(self, 404, b"not found")

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    try:
        host, port = server.server_address[:2]
        yield {"hosts": {HOST: f"{host}:{port}"}, "hits": hits}
    finally:
        server.shutdown()
        server.server_close()


def kmm_sources_file(tmp: Path) -> Path:
    data = yaml.safe_load((REPO / "sources.yaml").read_text(encoding="utf-8"))
    entry = next(s for s in data["sources"] if s["id"] == "komm_mach_mint")
    path = tmp / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": [entry]}, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def good_crawl(tmp_path_factory: pytest.TempPathFactory) -> Path:
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
    dispose_engines()
    return tmp / "x.db"


@pytest.fixture
def catalogue(tmp_path: Path, good_crawl: Path) -> dict[str, Any]:
    for suffix in ("", "-wal", "-shm"):
        source = good_crawl.with_name(good_crawl.name + suffix)
        if source.exists():
            shutil.copy(source, tmp_path / source.name)
    yield {
        "sources_file": kmm_sources_file(tmp_path),
        "url": f"sqlite:///{tmp_path / 'x.db'}",
        "tmp": tmp_path,
    }
    dispose_engines()


def records(url: str) -> dict[str, str]:
    """``{source_key: content_hash}`` of the stored komm_mach_mint records."""
    with Session(get_engine(url)) as session:
        return {r.source_key: r.content_hash for r in store.iter_raw(session, ["komm_mach_mint"])}


def crawl(catalogue: dict[str, Any], hosts: dict[str, str], **env: str) -> dict[str, Any]:
    before = records(catalogue["url"])
    assert len(before) == 994
    [run] = crawl_in_subprocess(
        ["komm_mach_mint"],
        sources_file=catalogue["sources_file"],
        database_url=catalogue["url"],
        replay_hosts=hosts,
        now=NOW,
        env={**FAST, **env},
    )
    after = records(catalogue["url"])
    assert set(after) == set(before)  # nothing lost, nothing invented
    run["unchanged"] = after == before
    return run


def test_truncated_body_fails_the_run(catalogue: dict[str, Any]) -> None:
    def truncated(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(PAGE)))
        handler.end_headers()
        handler.wfile.write(PAGE[: len(PAGE) // 2])
        handler.wfile.flush()
        handler.close_connection = True

    with site(truncated) as s:
        run = crawl(catalogue, s["hosts"])
    assert run["status"] == "failed" and run["items"] == 0
    assert "start URL failed" in run["error"] and run["unchanged"]


def test_iso_8859_1_page_is_decoded_right(catalogue: dict[str, Any]) -> None:
    text = PAGE.decode("utf-8")
    latin1 = text.encode("iso-8859-1", errors="xmlcharrefreplace")
    assert latin1 != PAGE and "ä".encode("iso-8859-1") in latin1
    with site(lambda h: send(h, 200, latin1, Content_Type="text/html; charset=ISO-8859-1")) as s:
        run = crawl(catalogue, s["hosts"])
    assert run["status"] == "success" and run["items"] == 994
    # every record decodes to exactly what the UTF-8 page gave
    assert run["stats"]["outcomes"] == {"unchanged": 994} and run["unchanged"]


def test_redirect_loop_is_an_error_in_the_run(catalogue: dict[str, Any]) -> None:
    def to(path: str) -> Route:
        return lambda h: send(h, 302, b"", Location=f"https://{HOST}{path}")

    with site(to("/loop-a"), **{"/loop-a": to("/loop-b"), "/loop-b": to(PAGE_PATH)}) as s:
        run = crawl(catalogue, s["hosts"], MINTSUCHE_RETRY_TIMES="0")
    assert run["status"] == "failed" and run["items"] == 0
    assert "start URL failed" in run["error"] and "redirect" in run["error"].lower()
    assert run["unchanged"]


def test_a_10_mb_page_is_crawled(catalogue: dict[str, Any]) -> None:
    big = PAGE + b"\n<!-- " + b"x" * (10 * 1024 * 1024) + b" -->\n"
    with site(lambda h: send(h, 200, big)) as s:
        run = crawl(catalogue, s["hosts"], MINTSUCHE_DOWNLOAD_TIMEOUT="30")
    assert run["status"] == "success" and run["items"] == 994
    assert run["stats"]["outcomes"] == {"unchanged": 994}


def test_robots_txt_disallowing_everything_is_obeyed(catalogue: dict[str, Any]) -> None:
    with site(lambda h: send(h, 200, PAGE), robots=b"User-agent: *\nDisallow: /\n") as s:
        run = crawl(catalogue, s["hosts"])
        paths = [path for path, _ in s["hits"]]
    assert paths == ["/robots.txt"]  # the page itself was never requested
    assert run["status"] == "failed" and "robots.txt" in run["error"] and run["unchanged"]


def test_429_with_retry_after_is_honoured(catalogue: dict[str, Any]) -> None:
    calls: list[float] = []

    def limited(handler: BaseHTTPRequestHandler) -> None:
        calls.append(time.monotonic())
        if len(calls) == 1:
            send(handler, 429, b"slow down", Retry_After="1")
        else:
            send(handler, 200, PAGE)

    with site(limited) as s:
        run = crawl(catalogue, s["hosts"], MINTSUCHE_RETRY_TIMES="2")
    assert run["status"] == "success" and run["items"] == 994
    assert len(calls) == 2 and calls[1] - calls[0] >= 1.0  # waited as told, then retried


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (b"7", 7.0),
        ("Sat, 14 Nov 2020 12:00:30 GMT", 30.0),
        (b"Sat, 14 Nov 2020 11:00:00 GMT", 0.0),
        (b"soon", None),
        (None, None),
    ],
)
def test_retry_after_parsing(value: Any, seconds: float | None) -> None:
    assert retry_after_seconds(value, NOW) == seconds


def test_crawl_killed_with_sigkill_then_run_again_loses_nothing(
    catalogue: dict[str, Any],
) -> None:
    """SIGKILL mid-download: the run stays 'running' until the next scheduled run marks it
    interrupted; the next run (no JOBDIR) re-crawls and not one offer is lost."""
    from webapp.pipeline import rebuild

    url, tmp = catalogue["url"], catalogue["tmp"]
    rebuild(url, tmp / "index", now=NOW)
    with Session(get_engine(url)) as session:
        offers_before = set(session.exec(select(OfferRow.source_key)))
    assert len(offers_before) > 900
    dispose_engines()

    halfway = threading.Event()

    def slow(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(PAGE)))
        handler.end_headers()
        handler.wfile.write(PAGE[: len(PAGE) // 2])
        handler.wfile.flush()
        halfway.set()
        time.sleep(30)  # the crawler is killed meanwhile

    env = {**os.environ, **FAST, "MINTSUCHE_DOWNLOAD_TIMEOUT": "60", "PYTHONPATH": str(REPO_ROOT)}
    with site(slow) as s:
        import json

        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "crawlers.run",
                "--sources-file",
                str(catalogue["sources_file"]),
                "--database-url",
                url,
                "--replay-hosts",
                json.dumps(s["hosts"]),
                "komm_mach_mint",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert halfway.wait(60)
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    with Session(get_engine(url)) as session:
        killed = session.exec(select(CrawlRun).order_by(CrawlRun.id.desc())).first()  # type: ignore[union-attr]
        assert killed is not None and killed.status == "running"
    assert len(records(url)) == 994

    context = JobContext(
        sources_file=catalogue["sources_file"], database_url=url, index_dir=tmp / "index", env=FAST
    )
    with ReplayServer(REPO / "snapshots", ["komm_mach_mint"]) as server:
        context = JobContext(**{**context.__dict__, "replay_hosts": server.host_map})
        outcome = run_source("komm_mach_mint", context, notify=lambda e: None)
    assert outcome["status"] == "success" and outcome["rebuilt"]
    assert outcome["interrupted"] == [killed.id]
    with Session(get_engine(url)) as session:
        assert session.get(CrawlRun, killed.id).status == "interrupted"
        offers_after = set(session.exec(select(OfferRow.source_key)))
    assert offers_after == offers_before  # 0 offers lost
