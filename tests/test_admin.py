"""The operator area: login with a password hash, CSRF on every POST, no state change over
GET, rate-limited login, the sources page with run history, starting a crawl, overrides."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import make_settings
from werkzeug.security import generate_password_hash

from catalog import store
from catalog.db import dispose_engines, get_engine, init_db, session_scope
from dedupe import load_overrides
from webapp.app import create_app
from webapp.blueprints import admin

PASSWORD = "richtig-geheim"
HASH = generate_password_hash(PASSWORD)
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
A = "komm_mach_mint:https://www.komm-mach-mint.de/a"
B = "mzs_schulen:Schule X|01234"


@pytest.fixture
def started() -> list[str]:
    return []


@pytest.fixture
def admin_app(tmp_path: Path, started: list[str]) -> Any:
    settings = make_settings(tmp_path)
    settings = type(settings)(**{**settings.__dict__, "overrides_file": tmp_path / "ov.yaml"})
    init_db(get_engine(settings.database_url))
    with session_scope(get_engine(settings.database_url)) as s:
        ok = store.start_run(s, "komm_mach_mint", started_at=NOW - timedelta(days=7))
        store.finish_run(
            s,
            ok,
            finished_at=NOW - timedelta(days=7),
            status="success",
            stats={"items": 994, "http_status": {"200": 2}, "coverage": {"title": 0.97}},
        )
        bad = store.start_run(s, "komm_mach_mint", started_at=NOW)
        store.finish_run(
            s,
            bad,
            finished_at=NOW,
            status="failed",
            error="Gesundheitsprüfung",
            stats={
                "items": 994,
                "coverage": {"title": 0.0},
                "health": [
                    {
                        "code": "coverage_drop",
                        "message": "Abdeckung title 97 % → 0 %",
                        "field": "title",
                    }
                ],
            },
        )
    admin._failures.clear()
    app = create_app(
        {
            "TESTING": True,
            "SETTINGS": settings,
            "ADMIN_PASSWORD_HASH": HASH,
            "ADMIN_RUN_SOURCE": lambda sid, ctx: started.append(sid),
        }
    )
    yield app
    dispose_engines()


def token(client: Any, path: str = "/admin/anmelden") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def login(client: Any) -> None:
    response = client.post(
        "/admin/anmelden", data={"password": PASSWORD, "csrf_token": token(client)}
    )
    assert response.status_code == 302


def test_area_is_off_without_a_password_hash(tmp_path: Path) -> None:
    app = create_app({"TESTING": True, "SETTINGS": make_settings(tmp_path)})
    assert app.test_client().get("/admin/").status_code == 404


def test_pages_need_login(admin_app: Any) -> None:
    client = admin_app.test_client()
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/anmelden" in response.headers["Location"]


def test_login_sets_a_safe_session_cookie(admin_app: Any) -> None:
    client = admin_app.test_client()
    csrf = token(client)
    response = client.post("/admin/anmelden", data={"password": PASSWORD, "csrf_token": csrf})
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_wrong_password_and_missing_csrf(admin_app: Any) -> None:
    client = admin_app.test_client()
    csrf = token(client)
    assert (
        client.post("/admin/anmelden", data={"password": "falsch", "csrf_token": csrf}).status_code
        == 401
    )
    assert client.post("/admin/anmelden", data={"password": PASSWORD}).status_code == 400
    assert (
        client.post("/admin/anmelden", data={"password": PASSWORD, "csrf_token": "x"}).status_code
        == 400
    )
    assert client.get("/admin/").status_code == 302  # still logged out


def test_login_is_rate_limited(admin_app: Any) -> None:
    client = admin_app.test_client()
    csrf = token(client)
    codes = [
        client.post("/admin/anmelden", data={"password": "falsch", "csrf_token": csrf}).status_code
        for _ in range(admin.LOGIN_MAX_FAILURES + 1)
    ]
    assert codes == [401] * admin.LOGIN_MAX_FAILURES + [429]
    # even the right password is refused while limited
    assert (
        client.post("/admin/anmelden", data={"password": PASSWORD, "csrf_token": csrf}).status_code
        == 429
    )


def test_sources_page_shows_health_and_history(admin_app: Any) -> None:
    client = admin_app.test_client()
    login(client)
    html = client.get("/admin/").get_data(as_text=True)
    section = html[html.index('id="quelle-komm_mach_mint"') :]
    section = section[: section.index("</section>")]
    assert "FEHLER" in section and "Abdeckung title 97 % → 0 %" in section
    assert "run-success" in section and "run-failed" in section and "200×2" in section


def test_crawl_starts_only_by_post_with_csrf(admin_app: Any, started: list[str]) -> None:
    client = admin_app.test_client()
    login(client)
    assert client.get("/admin/crawl/komm_mach_mint").status_code == 405
    assert client.post("/admin/crawl/komm_mach_mint").status_code == 400
    assert started == []
    csrf = token(client, "/admin/")
    response = client.post("/admin/crawl/komm_mach_mint", data={"csrf_token": csrf})
    assert response.status_code == 302
    for _ in range(100):
        if started:
            break
        time.sleep(0.01)
    assert started == ["komm_mach_mint"]
    assert client.post("/admin/crawl/nope", data={"csrf_token": csrf}).status_code == 404


def test_overrides_are_listed_added_and_removed(admin_app: Any) -> None:
    client = admin_app.test_client()
    login(client)
    path = admin_app.config["SETTINGS"].overrides_file
    csrf = token(client, "/admin/zusammenfuehrung")
    response = client.post(
        "/admin/zusammenfuehrung",
        data={"csrf_token": csrf, "action": "add", "kind": "cannot_link", "a": A, "b": B},
    )
    assert response.status_code == 302
    assert load_overrides(path).cannot(A, B)
    assert A in client.get("/admin/zusammenfuehrung").get_data(as_text=True)
    bad = client.post(
        "/admin/zusammenfuehrung",
        data={"csrf_token": csrf, "action": "add", "kind": "must_link", "a": A, "b": A},
    )
    assert bad.status_code == 400
    assert (
        client.post(
            "/admin/zusammenfuehrung", data={"action": "add", "kind": "must_link", "a": A, "b": B}
        ).status_code
        == 400
    )  # no CSRF
    assert not load_overrides(path).must_link
    client.post(
        "/admin/zusammenfuehrung",
        data={"csrf_token": csrf, "action": "remove", "kind": "cannot_link", "a": B, "b": A},
    )
    assert not load_overrides(path).cannot(A, B)


def test_logout_is_a_post(admin_app: Any) -> None:
    client = admin_app.test_client()
    login(client)
    assert client.get("/admin/abmelden").status_code == 405
    csrf = token(client, "/admin/")
    assert client.post("/admin/abmelden", data={"csrf_token": csrf}).status_code == 302
    assert client.get("/admin/").status_code == 302
