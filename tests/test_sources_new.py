"""`mintsuche sources new`: entry, snapshot and expectations for a new platform."""

from __future__ import annotations

import json
import shutil
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import REPO, cli_args, make_settings

from crawlers.sources import load_sources
from webapp.cli import main

PAGE = b"<html><body><table><tr><td>Robotik-AG</td></tr></table></body></html>"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/robots.txt":
            body, ctype = b"User-agent: *\nDisallow: /privat/\n", "text/plain"
        elif self.path == "/kurse/":
            body, ctype = PAGE, "text/html; charset=utf-8"
        else:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def workspace(tmp_path):
    sources = tmp_path / "sources.yaml"
    shutil.copy(REPO / "sources.yaml", sources)
    settings = make_settings(tmp_path / "var", sources)
    args = [
        *cli_args(settings),
        "sources",
        "new",
        "--snapshots-dir",
        str(tmp_path / "snapshots"),
        "--expected-dir",
        str(tmp_path / "expected"),
    ]
    return tmp_path, sources, args


def test_new_source_records_page_and_appends_disabled_entry(site, workspace, runner):
    tmp_path, sources, args = workspace
    result = runner.invoke(main, [*args, "beispiel_labor", f"{site}/kurse/"])
    assert result.exit_code == 0, result.output
    source = load_sources(sources).get("beispiel_labor")
    assert source is not None and source.enabled is False and source.kind == "html"
    assert source.start_urls == [f"{site}/kurse/"]
    snapshot = tmp_path / "snapshots" / "beispiel_labor" / "localhost" / "kurse" / "index.html"
    assert snapshot.read_bytes() == PAGE
    assert (tmp_path / "snapshots" / "beispiel_labor" / "PROVENANCE.md").is_file()
    expected = json.loads((tmp_path / "expected" / "beispiel_labor.expected.json").read_text())
    assert expected["todo"] and expected["records"] == []
    # the other sources are untouched
    assert {s.id for s in load_sources(REPO / "sources.yaml").sources} < {
        s.id for s in load_sources(sources).sources
    }


def test_robots_disallow_means_no_snapshot(site, workspace, runner):
    tmp_path, sources, args = workspace
    result = runner.invoke(main, [*args, "privat_labor", f"{site}/privat/liste"])
    assert result.exit_code == 0, result.output
    assert "robots.txt" in result.output
    assert not (tmp_path / "snapshots" / "privat_labor").exists()
    assert load_sources(sources).get("privat_labor") is not None


def test_unreachable_page_still_adds_the_entry(workspace, runner):
    tmp_path, sources, args = workspace
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = runner.invoke(main, [*args, "weg_labor", f"http://localhost:{port}/x"])
    assert result.exit_code == 0, result.output
    assert "nicht erreichbar" in result.output
    assert load_sources(sources).get("weg_labor") is not None


@pytest.mark.parametrize(
    ("source_id", "url", "message"),
    [
        ("komm_mach_mint", "https://example.org/", "gibt es schon"),
        ("Neu-Labor", "https://example.org/", "ungültige Quell-ID"),
        ("neu_labor", "ftp://example.org/", "keine http(s)-Adresse"),
    ],
)
def test_bad_input_changes_nothing(workspace, runner, source_id, url, message):
    tmp_path, sources, args = workspace
    before = sources.read_text(encoding="utf-8")
    result = runner.invoke(main, [*args, "--no-fetch", source_id, url])
    assert result.exit_code != 0
    assert message in result.output
    assert sources.read_text(encoding="utf-8") == before
    assert not (tmp_path / "expected").exists()
