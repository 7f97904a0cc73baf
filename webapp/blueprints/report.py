"""The operator page "Abdeckung" (/betrieb/abdeckung): coverage per source and field.

Read-only and self-contained (its own queries through ``catalog.report``, no state), so it
can move behind the admin login unchanged. With no database or no offers yet it says so
(200) instead of failing; ``?beispiele=N`` (0-10, default 2) sets the raw-vs-normalized
samples per source, ``?top=N`` (1-50, default 10) the unmapped values shown per field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, render_template, request
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

bp = Blueprint("report", __name__, url_prefix="/betrieb")


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(request.args.get(name, default))
    except (TypeError, ValueError):
        return default
    return min(max(value, low), high)


def _load(database_url: str, *, top: int, samples: int) -> dict[str, Any] | None:
    from catalog.db import get_engine, session_scope
    from catalog.report import build_report

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        if not Path(url.database).exists():
            return None
    try:
        with session_scope(get_engine(database_url)) as session:
            report = build_report(session, top=top, samples=samples)
    except SQLAlchemyError:
        current_app.logger.exception("coverage report: database not readable")
        return None
    return report if report["offers"] else None


@bp.route("/abdeckung")
def coverage() -> str:
    """Coverage of the stored catalogue; an empty catalogue gives a hint, not an error."""
    settings = current_app.config["SETTINGS"]
    top = _int_arg("top", 10, 1, 50)
    samples = _int_arg("beispiele", 2, 0, 10)
    report = _load(settings.database_url, top=top, samples=samples)
    return render_template("report.html", report=report, top=top, samples=samples)
