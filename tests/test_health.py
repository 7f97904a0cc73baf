"""Health rules (pure), their use in the crawl (a layout change fails the run and loses
nothing), the notification hook (webhook and SMTP on loopback) and `mintsuche status`."""

from __future__ import annotations

import json
import shutil
import socketserver
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from sqlmodel import Session

from catalog import store
from catalog.db import dispose_engines, get_engine, init_db
from crawlers.health import HealthRules, RunFacts, check_run
from crawlers.notify import NotifyConfig, notify_run
from crawlers.replay import ReplayServer
from crawlers.run import crawl_in_subprocess
from webapp.cli import main

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
GOOD = RunFacts(
    items=100, requests=10, failed_requests=0, coverage={"title": 0.97, "city": 0.9, "street": 0.1}
)


# --- rules ---


def codes(run: RunFacts, previous: list[RunFacts], **rules: Any) -> list[str]:
    return [f.code for f in check_run(run, previous, HealthRules(**rules))]


def test_healthy_run_has_no_findings() -> None:
    assert codes(GOOD, [GOOD, GOOD]) == []
    assert codes(GOOD, []) == []


def test_zero_items_fail() -> None:
    assert codes(RunFacts(items=0), [GOOD]) == ["no_items"]


def test_error_rate_above_threshold_fails() -> None:
    run = RunFacts(items=100, requests=10, failed_requests=3, coverage=GOOD.coverage)
    assert codes(run, [GOOD]) == ["error_rate"]
    assert codes(run, [GOOD], max_error_rate=0.5) == []
    few = RunFacts(items=100, requests=3, failed_requests=1, coverage=GOOD.coverage)
    assert codes(few, [GOOD]) == []  # too few requests to judge a rate


def test_item_count_drop_fails_only_against_history() -> None:
    run = RunFacts(items=40, coverage=GOOD.coverage)
    assert codes(run, [GOOD, GOOD, GOOD]) == ["item_drop"]
    assert codes(run, []) == []
    assert codes(RunFacts(items=60, coverage=GOOD.coverage), [GOOD]) == []


def test_coverage_drop_names_the_field() -> None:
    run = RunFacts(items=100, coverage={"title": 0.0, "city": 0.9, "street": 0.0})
    [finding] = check_run(run, [GOOD])
    assert finding.code == "coverage_drop" and finding.field == "title"
    assert finding.message == "Abdeckung title 97 % → 0 %"  # street was too sparse to judge


def test_run_facts_from_stats() -> None:
    stats = {
        "items": 5,
        "http_status": {"200": 8, "500": 1, "404": 1},
        "errors": {"exceptions": {"twisted.internet.error.TimeoutError": 2}},
        "coverage": {"title": 1.0},
    }
    facts = RunFacts.from_stats(stats)
    assert (facts.items, facts.requests, facts.failed_requests) == (5, 12, 4)
    assert facts.coverage == {"title": 1.0}


# --- in the crawl: a layout change ---


def _mzs(tmp: Path) -> tuple[Path, Path, Path]:
    snapshots = tmp / "snapshots"
    shutil.copytree(REPO / "snapshots" / "mzs_schulen", snapshots / "mzs_schulen")
    data = yaml.safe_load((REPO / "sources.yaml").read_text(encoding="utf-8"))
    entry = next(s for s in data["sources"] if s["id"] == "mzs_schulen")
    sources = tmp / "sources.yaml"
    sources.write_text(yaml.safe_dump({"sources": [entry]}, allow_unicode=True), encoding="utf-8")
    [csv_file] = (snapshots / "mzs_schulen").rglob("*.csv")
    return snapshots, sources, csv_file


def _crawl(snapshots: Path, sources: Path, url: str) -> dict[str, Any]:
    with ReplayServer(snapshots, ["mzs_schulen"]) as server:
        [run] = crawl_in_subprocess(
            ["mzs_schulen"],
            sources_file=sources,
            database_url=url,
            replay_hosts=server.host_map,
            now=NOW,
        )
    return run


def test_layout_change_fails_the_run_and_keeps_the_records(tmp_path: Path) -> None:
    snapshots, sources, csv_file = _mzs(tmp_path)
    url = f"sqlite:///{tmp_path / 'x.db'}"
    init_db(get_engine(url))
    first = _crawl(snapshots, sources, url)
    assert first["status"] == "success" and first["items"] == 584
    assert first["stats"]["health"] == []

    # the site renames a column: the city selector now matches nothing
    text = csv_file.read_text(encoding="utf-8")
    csv_file.write_text(text.replace(",Stadt,", ",Ort,", 1), encoding="utf-8")
    second = _crawl(snapshots, sources, url)
    assert second["status"] == "failed"
    assert "Abdeckung city 100 % → 0 %" in second["error"]
    assert [h["code"] for h in second["stats"]["health"]] == ["coverage_drop"]
    with Session(get_engine(url)) as session:
        assert len(list(store.iter_raw(session, ["mzs_schulen"]))) == 584
        assert store.last_success(session, "mzs_schulen").id == first["run_id"]
    dispose_engines()

    result = CliRunner().invoke(
        main,
        [
            "--sources-file",
            str(sources),
            "--database-url",
            url,
            "--var-dir",
            str(tmp_path / "var"),
            "status",
            "--json",
        ],
    )
    assert result.exit_code == 1, result.output  # latest run failed
    [entry] = json.loads(result.output)
    assert entry["source"] == "mzs_schulen" and not entry["healthy"]
    latest, earlier = entry["runs"]
    assert (latest["status"], earlier["status"]) == ("failed", "success")
    assert earlier["items"] == 584 and earlier["coverage"]["city"] == 1.0
    assert latest["coverage"]["city"] == 0.0 and earlier["http_status"] == {
        "200": 2
    }  # robots.txt + the CSV
    assert latest["health"][0]["field"] == "city"
    assert latest["started_at"] and latest["finished_at"]

    plain = CliRunner().invoke(
        main,
        [
            "--sources-file",
            str(sources),
            "--database-url",
            url,
            "--var-dir",
            str(tmp_path / "var"),
            "status",
        ],
    )
    assert "mzs_schulen [" in plain.output and "FEHLER" in plain.output
    assert "Abdeckung city 100 % → 0 %" in plain.output
    dispose_engines()


def test_status_rejects_an_unknown_source(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "--sources-file",
            str(REPO / "sources.yaml"),
            "--database-url",
            f"sqlite:///{tmp_path / 'x.db'}",
            "status",
            "nope",
        ],
    )
    assert result.exit_code == 1 and "unbekannte Quelle" in result.output
    dispose_engines()


# --- notifications ---

EVENT = {
    "event": "run",
    "source": "kmm",
    "status": "failed",
    "items": 0,
    "run_id": 7,
    "error": "0 items",
    "stats": {"health": [{"code": "no_items"}]},
}


def test_webhook_receives_json(caplog: pytest.LogCaptureFixture) -> None:
    received: list[dict[str, Any]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        with caplog.at_level("WARNING", logger="mintsuche.notify"):
            problems = notify_run(EVENT, NotifyConfig(webhook_url=url))
    finally:
        server.shutdown()
        server.server_close()
    assert problems == []
    assert received[0]["source"] == "kmm" and received[0]["run_id"] == 7
    assert received[0]["health"] == [{"code": "no_items"}]
    assert "Lauf von kmm failed" in caplog.text


def test_unreachable_webhook_is_reported_not_raised() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()  # nothing listens there now
    problems = notify_run(EVENT, NotifyConfig(webhook_url=f"http://127.0.0.1:{port}/", timeout=2))
    assert len(problems) == 1 and problems[0].startswith("webhook")


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP to accept one message (RFC 5321 happy path)."""

    messages: list[str] = []

    def _send(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())

    def handle(self) -> None:
        self._send("220 localhost test")
        while True:
            line = self.rfile.readline().decode().strip()
            verb = line.split(" ", 1)[0].upper()
            if verb in {"EHLO", "HELO"}:
                self._send("250 localhost")
            elif verb in {"MAIL", "RCPT", "RSET", "NOOP"}:
                self._send("250 OK")
            elif verb == "DATA":
                self._send("354 go on")
                lines = []
                while (data := self.rfile.readline().decode()) not in {".\r\n", ""}:
                    lines.append(data)
                _SMTPHandler.messages.append("".join(lines))
                self._send("250 queued")
            elif verb == "QUIT" or not line:
                self._send("221 bye")
                return
            else:
                self._send("502 not implemented")


def test_smtp_mail_is_sent() -> None:
    _SMTPHandler.messages = []
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.daemon_threads = True
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    try:
        config = NotifyConfig.from_env(
            {
                "MINTSUCHE_SMTP_HOST": "127.0.0.1",
                "MINTSUCHE_SMTP_PORT": str(server.server_address[1]),
                "MINTSUCHE_SMTP_TO": "ops@example.org, b@example.org",
            }
        )
        problems = notify_run(EVENT, config)
    finally:
        server.shutdown()
        server.server_close()
    assert problems == []
    [message] = _SMTPHandler.messages
    assert "To: ops@example.org, b@example.org" in message
    assert "Subject: MINT-Suche: kmm failed" in message
