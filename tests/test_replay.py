"""The replay server (files, robots.txt, 404, queries, content types) and the middleware
that maps original URLs to loopback and back."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawlers.middleware import ReplayMiddleware, parse_replay_hosts
from crawlers.replay import ReplayServer, guess_type, stored_path

REPO = Path(__file__).resolve().parent.parent
KMM_PAGE = REPO / "snapshots/komm_mach_mint/www.komm-mach-mint.de/schuelerinnen/mint-karte"


def fetch(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


@pytest.fixture
def snapshots(tmp_path: Path) -> Path:
    host = tmp_path / "demo" / "www.example.org"
    (host / "kurse").mkdir(parents=True)
    (host / "robots.txt").write_text("User-agent: *\nDisallow: /privat\n", encoding="utf-8")
    (host / "index.html").write_text("<p>start</p>", encoding="utf-8")
    (host / "kurse" / "liste").write_text("<p>Seite 1</p>", encoding="utf-8")
    (host / "kurse" / "liste@seite=2&sort=a").write_text("<p>Seite 2</p>", encoding="utf-8")
    (host / "daten.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (host / "api").mkdir()
    (host / "api" / "events").write_text('{"x": 1}', encoding="utf-8")
    (host / "_types.json").write_text(json.dumps({"api/events": "application/json"}))
    (tmp_path / "demo" / "PROVENANCE.md").write_text("not served", encoding="utf-8")
    (tmp_path / "demo" / "secret.txt").write_text("outside the host dir", encoding="utf-8")
    other = tmp_path / "other" / "data.example.net"
    other.mkdir(parents=True)
    (other / "robots.txt").write_text("User-agent: *\nDisallow:\n", encoding="utf-8")
    return tmp_path


def test_serves_recorded_files_per_host(snapshots: Path) -> None:
    with ReplayServer(snapshots) as server:
        assert set(server.host_map) == {"www.example.org", "data.example.net"}
        assert len(set(server.host_map.values())) == 2
        assert all(v.startswith("127.0.0.1:") for v in server.host_map.values())
        base = f"http://{server.host_map['www.example.org']}"
        assert fetch(f"{base}/kurse/liste") == (
            200,
            "text/html; charset=utf-8",
            b"<p>Seite 1</p>",
        )
        assert fetch(f"{base}/kurse/liste?seite=2&sort=a")[2] == b"<p>Seite 2</p>"
        assert fetch(f"{base}/")[2] == b"<p>start</p>"
        status, ctype, body = fetch(f"{base}/robots.txt")
        assert (status, ctype) == (200, "text/plain; charset=utf-8")
        assert b"Disallow: /privat" in body
        assert fetch(f"{base}/daten.csv")[1] == "text/csv; charset=utf-8"
        assert fetch(f"{base}/api/events")[1] == "application/json"
        other = f"http://{server.host_map['data.example.net']}"
        assert fetch(f"{other}/robots.txt")[0] == 200
    assert server.host_map == {}


@pytest.mark.parametrize(
    "path",
    [
        "/nicht/da",
        "/kurse/liste?seite=9",
        "/_types.json",
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/../PROVENANCE.md",
    ],
)
def test_missing_or_outside_is_404(snapshots: Path, path: str) -> None:
    with ReplayServer(snapshots, ["demo"]) as server:
        assert set(server.host_map) == {"www.example.org"}
        status, ctype, _ = fetch(f"http://{server.host_map['www.example.org']}{path}")
        assert status == 404


def test_unknown_source_id(snapshots: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope"):
        ReplayServer(snapshots, ["nope"]).start()


def test_komm_mach_mint_snapshot_is_served_verbatim() -> None:
    with ReplayServer(REPO / "snapshots", ["komm_mach_mint"]) as server:
        base = f"http://{server.host_map['www.komm-mach-mint.de']}"
        status, ctype, body = fetch(f"{base}/schuelerinnen/mint-karte")
        assert (status, ctype) == (200, "text/html; charset=utf-8")
        assert body == KMM_PAGE.read_bytes()
        assert fetch(f"{base}/robots.txt")[0] == 200
        # the vocabulary file lies outside the host directory: never served
        assert fetch(f"{base}/KommMachMINT-Kuerzel.xml")[0] == 404


def test_stored_path_and_types() -> None:
    assert stored_path("/a/b/") == "a/b/index.html"
    assert stored_path("/") == "index.html"
    assert stored_path("/liste", "seite=2") == "liste@seite=2"
    assert stored_path("/Stra%C3%9Fe") == "Straße"
    assert guess_type("liste@seite=2") == "text/html; charset=utf-8"
    assert guess_type("x.json") == "application/json; charset=utf-8"
    assert guess_type("x", {"x": "text/turtle"}) == "text/turtle"


def test_cli_prints_host_map() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawlers.replay", "komm_mach_mint"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        host_map = json.loads(proc.stdout.readline())
        url = f"http://{host_map['www.komm-mach-mint.de']}/robots.txt"
        assert fetch(url)[0] == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


# --- middleware -------------------------------------------------------------------------

HOSTS = {"www.komm-mach-mint.de": "127.0.0.1:40123", "data.example.net": "127.0.0.1:40124"}


def make_middleware(hosts: object = HOSTS) -> ReplayMiddleware:
    crawler = get_crawler(settings_dict={"REPLAY_HOSTS": hosts})
    return ReplayMiddleware.from_crawler(crawler)


def test_middleware_rewrites_request_and_maps_response_back() -> None:
    mw = make_middleware()
    original = "https://www.komm-mach-mint.de/schuelerinnen/mint-karte?x=1#liste"
    request = Request(original, meta={"keep": 1}, cb_kwargs={"a": 2})
    replayed = mw.process_request(request)
    assert replayed is not None
    assert replayed.url == "http://127.0.0.1:40123/schuelerinnen/mint-karte?x=1"
    assert replayed.meta["keep"] == 1 and replayed.cb_kwargs == {"a": 2}
    # the loopback request passes unchanged the second time round
    assert mw.process_request(replayed) is None
    response = HtmlResponse(replayed.url, body=b"<p>x</p>", request=replayed)
    back = mw.process_response(replayed, response)
    assert back.url == original
    assert back.urljoin("/projekte/a") == "https://www.komm-mach-mint.de/projekte/a"
    assert back.request is not None and back.request.url == original


def test_middleware_maps_redirect_targets_and_robots_back() -> None:
    mw = make_middleware()
    robots = Request("http://127.0.0.1:40123/robots.txt")
    response = HtmlResponse(robots.url, body=b"", request=robots)
    assert mw.process_response(robots, response).url == "https://www.komm-mach-mint.de/robots.txt"


def test_middleware_leaves_other_hosts_alone() -> None:
    mw = make_middleware()
    assert mw.process_request(Request("https://elsewhere.example.com/")) is None
    response = HtmlResponse("https://elsewhere.example.com/", body=b"")
    assert mw.process_response(Request(response.url), response) is response


def test_middleware_config() -> None:
    with pytest.raises(NotConfigured):
        make_middleware({})
    assert make_middleware(json.dumps(HOSTS)).host_map == HOSTS
    with pytest.raises(ValueError, match="REPLAY_HOSTS"):
        parse_replay_hosts("{not json")
    with pytest.raises(ValueError, match="REPLAY_HOSTS"):
        parse_replay_hosts({"host": 8080})
