"""The "Plattformen" page: every source platform and the data-licence attributions."""

from __future__ import annotations

from flask import Blueprint, render_template

from webapp import data

bp = Blueprint("platforms", __name__)


@bp.route("/plattformen")
def platforms() -> str:
    """Every source platform with description, strengths, offer count and last crawl."""
    return render_template("platforms.html", platforms=data.platforms())
