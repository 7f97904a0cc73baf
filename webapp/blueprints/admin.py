"""The operator area under ``/admin``: sources with health and run history, start a crawl,
dedupe overrides.

Security:

- login with one password whose werkzeug hash is ``MINTSUCHE_ADMIN_PASSWORD_HASH`` (or
  the Flask config key ``ADMIN_PASSWORD_HASH``; make one with
  ``python -c "from werkzeug.security import generate_password_hash as g; print(g('…'))"``).
  Without a hash the area answers 404;
- the session cookie is HttpOnly (Flask's default) and ``SameSite=Lax``;
- every POST carries the session's CSRF token (form field ``csrf_token``), else 400;
- GET never changes state; a crawl is started and overrides are changed only by POST;
- login is rate-limited: after ``LOGIN_MAX_FAILURES`` failed attempts from one address
  within ``LOGIN_WINDOW_SECONDS`` further attempts get 429 (kept in this process's memory).

A started crawl runs in a background thread through ``crawlers.scheduler.run_source``, so
the database lock keeps it apart from scheduled runs of the same source. Failures are shown
as German messages on the page.
"""

from __future__ import annotations

import hmac
import os
import secrets
import tempfile
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import yaml
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.security import check_password_hash

bp = Blueprint("admin", __name__, url_prefix="/admin")

LOGIN_MAX_FAILURES = 5
LOGIN_WINDOW_SECONDS = 900.0
_failures: dict[str, deque[float]] = defaultdict(deque)
_failures_lock = threading.Lock()


@bp.record_once
def _cookie_settings(state: Any) -> None:
    state.app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    if not state.app.config.get("SESSION_COOKIE_SAMESITE"):
        state.app.config["SESSION_COOKIE_SAMESITE"] = "Lax"


def _password_hash() -> str | None:
    return current_app.config.get("ADMIN_PASSWORD_HASH") or os.environ.get(
        "MINTSUCHE_ADMIN_PASSWORD_HASH"
    )


def csrf_token() -> str:
    """The session's CSRF token (created on first use)."""
    token = session.get("csrf_token")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf_token"] = token
    return str(token)


@bp.app_context_processor
def _inject_csrf() -> dict[str, Any]:
    return {"csrf_token": csrf_token}


@bp.before_request
def _guard() -> Any:
    if not _password_hash():
        abort(404)
    if request.method == "POST":
        sent = request.form.get("csrf_token", "")
        token = session.get("csrf_token", "")
        if not token or not hmac.compare_digest(str(sent), str(token)):
            abort(400, "Ungültiges oder fehlendes CSRF-Token. Bitte die Seite neu laden.")
    return None


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not session.get("admin"):
            return redirect(url_for("admin.login", next=request.path))
        return view(*args, **kwargs)

    return wrapped


def _too_many(address: str, now: float) -> bool:
    with _failures_lock:
        attempts = _failures[address]
        while attempts and now - attempts[0] > LOGIN_WINDOW_SECONDS:
            attempts.popleft()
        return len(attempts) >= LOGIN_MAX_FAILURES


def _record_failure(address: str, now: float) -> None:
    with _failures_lock:
        _failures[address].append(now)


@bp.route("/anmelden", methods=["GET", "POST"])
def login() -> Any:
    """Login form; 429 after too many failed attempts, 400 without CSRF token."""
    error = None
    if request.method == "POST":
        address = request.remote_addr or "?"
        now = time.monotonic()
        if _too_many(address, now):
            return render_template(
                "admin/login.html",
                error="Zu viele Fehlversuche. Bitte später erneut versuchen.",
            ), 429
        hashed = _password_hash()
        assert hashed is not None
        if check_password_hash(hashed, request.form.get("password", "")):
            session.clear()
            session["admin"] = True
            csrf_token()
            target = request.args.get("next", "")
            if not target.startswith("/admin") or target.startswith("//"):
                target = url_for("admin.index")
            return redirect(target)
        _record_failure(address, now)
        error = "Falsches Passwort."
    return render_template("admin/login.html", error=error), (401 if error else 200)


@bp.post("/abmelden")
def logout() -> Any:
    session.clear()
    return redirect(url_for("admin.login"))


@bp.get("/")
@login_required
def index() -> Any:
    """Sources with health (latest run) and their last runs."""
    import click

    from webapp.commands.ops import run_history

    settings = current_app.config["SETTINGS"]
    try:
        history = run_history(settings, (), limit=5)
    except click.ClickException as exc:
        abort(500, f"Die Quellendatei ist ungültig: {exc.message}")
    return render_template("admin/index.html", history=history)


def _start_crawl(source_id: str) -> None:
    from crawlers.scheduler import JobContext, run_source

    settings = current_app.config["SETTINGS"]
    context = JobContext(
        sources_file=settings.sources_file,
        database_url=settings.database_url,
        index_dir=settings.index_dir,
        overrides_file=settings.overrides_file,
        log_dir=settings.var_dir / "logs",
    )
    runner = current_app.config.get("ADMIN_RUN_SOURCE") or run_source
    thread = threading.Thread(
        target=runner, args=(source_id, context), name=f"admin-crawl-{source_id}", daemon=True
    )
    thread.start()


@bp.post("/crawl/<source_id>")
@login_required
def crawl(source_id: str) -> Any:
    """Start a crawl of one source in the background (POST only)."""
    from crawlers.sources import load_sources

    config = load_sources(current_app.config["SETTINGS"].sources_file)
    source = config.get(source_id)
    if source is None:
        abort(404, f"Unbekannte Quelle {source_id}.")
    _start_crawl(source_id)
    flash(f"Crawl von {source_id} gestartet. Läuft schon einer, wird dieser übersprungen.")
    return redirect(url_for("admin.index"))


# --- dedupe overrides ---------------------------------------------------------------------

KINDS = {"must_link": "gehören zusammen", "cannot_link": "sind verschieden"}


def _overrides_path() -> Path:
    return Path(current_app.config["SETTINGS"].overrides_file)


def read_overrides(path: Path) -> dict[str, list[list[str]]]:
    """The overrides file as ``{"must_link": [[a, b], …], "cannot_link": […]}`` (validated)."""
    from dedupe import load_overrides

    parsed = load_overrides(path)
    return {
        "must_link": sorted(sorted(group) for group in parsed.must_link),
        "cannot_link": sorted(sorted(group) for group in parsed.cannot_link),
    }


def write_overrides(path: Path, data: dict[str, list[list[str]]]) -> None:
    """Validate and write the overrides atomically (temporary file + rename)."""
    from dedupe.overrides import parse_overrides

    header = (
        "# Maintainers' decisions that beat the automatic deduplication, kept across "
        're-crawls.\n# Each entry names two records as "source_id:source_key".\n'
    )
    text = header + yaml.safe_dump(
        {"must_link": data["must_link"], "cannot_link": data["cannot_link"]},
        allow_unicode=True,
        sort_keys=False,
    )
    parse_overrides(text, source=str(path))  # raises OverridesError, nothing written
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".overrides-", suffix=".yaml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@bp.route("/zusammenfuehrung", methods=["GET", "POST"])
@login_required
def overrides() -> Any:
    """List, add (POST action=add) and remove (POST action=remove) override pairs."""
    from dedupe.overrides import OverridesError

    path = _overrides_path()
    try:
        data = read_overrides(path)
    except OverridesError as exc:
        return render_template(
            "admin/overrides.html", data=None, kinds=KINDS, error=f"{path} ist ungültig: {exc}"
        ), 500
    if request.method == "POST":
        kind = request.form.get("kind", "")
        pair = sorted(
            value.strip() for value in (request.form.get("a", ""), request.form.get("b", ""))
        )
        if kind not in KINDS or not all(pair) or pair[0] == pair[1]:
            flash("Bitte zwei verschiedene Schlüssel der Form quelle:schlüssel angeben.")
            return render_template("admin/overrides.html", data=data, kinds=KINDS), 400
        if not all(":" in key for key in pair):
            flash("Ein Schlüssel hat die Form quelle:schlüssel, z. B. komm_mach_mint:https://…")
            return render_template("admin/overrides.html", data=data, kinds=KINDS), 400
        action = request.form.get("action", "add")
        if action == "add" and pair not in data[kind]:
            data[kind].append(pair)
        elif action == "remove" and pair in data[kind]:
            data[kind].remove(pair)
        try:
            write_overrides(path, data)
        except OverridesError as exc:
            flash(f"Nicht gespeichert: {exc}")
            return render_template("admin/overrides.html", data=data, kinds=KINDS), 400
        flash("Gespeichert. Wirksam ab dem nächsten Neuaufbau (mintsuche rebuild).")
        return redirect(url_for("admin.overrides"))
    return render_template("admin/overrides.html", data=data, kinds=KINDS)
