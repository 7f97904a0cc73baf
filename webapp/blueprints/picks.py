"""Editorial control on the site: editors' picks ("Empfehlungen") and unpublished entries.

``picks.yaml`` (or the file in ``MINTSUCHE_PICKS``) lists catalogue entries by cluster id,
each with an optional German note::

    picks:
      - id: cb7ad3d5e3268
        note: "Roboter bauen und programmieren im Team."

The start page shows them through the template global ``editor_picks()`` (rendered by
``_picks.html``). Cluster ids are stable across re-crawls, so a pick survives them; an id
that is not in the catalogue (or whose entry the publication policy hides) is skipped and
logged at WARNING. A broken picks file is logged and shows no picks (never a 500).

Entries that the publication policy (``webapp.policy``) does not publish answer 404 on
``/angebot/<id>`` and ``/angebot/<id>.json``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import yaml
from flask import Blueprint, abort, request
from pydantic import BaseModel, ConfigDict, ValidationError

from catalog import store
from catalog.db import get_engine, init_db, session_scope
from webapp import data

log = logging.getLogger(__name__)

bp = Blueprint("picks", __name__)

DEFAULT_PICKS = "picks.yaml"
OFFER_ENDPOINTS = ("site.offer", "site.offer_json")


class Pick(BaseModel):
    """One editors' pick: a cluster id and an optional note for visitors."""

    model_config = ConfigDict(extra="forbid")

    id: str
    note: str | None = None


class PicksFile(BaseModel):
    """The whole picks file."""

    model_config = ConfigDict(extra="forbid")

    picks: list[Pick] = []


class PicksError(Exception):
    """The picks file is unreadable or invalid."""


def picks_file(environ: dict[str, str] | None = None) -> Path:
    """The picks file: ``MINTSUCHE_PICKS`` or ``picks.yaml`` (in the working directory)."""
    env = os.environ if environ is None else environ
    return Path(env.get("MINTSUCHE_PICKS", DEFAULT_PICKS))


def load_picks(path: Path) -> list[Pick]:
    """The picks in file order; a missing file means none. Raises :class:`PicksError`."""
    if not path.exists():
        return []
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return PicksFile.model_validate(raw).picks
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise PicksError(f"{path}: {exc}") from exc


def resolve_picks(picks: list[Pick], database_url: str) -> list[dict[str, Any]]:
    """The picked entries that exist and are published, with title, city, platforms, note."""
    engine = get_engine(database_url)
    init_db(engine)
    shown: list[dict[str, Any]] = []
    with session_scope(engine) as session:
        for pick in picks:
            row = store.get_cluster(session, pick.id)
            if row is None:
                log.warning("editors' pick %s: no such entry in the catalogue, skipped", pick.id)
                continue
            if not row.published:
                log.warning(
                    "editors' pick %s: not published (%s), skipped", pick.id, row.unpublished_reason
                )
                continue
            shown.append(
                {
                    "id": row.id,
                    "title": row.title,
                    "provider": row.provider,
                    "city": row.city,
                    "platforms": list(row.platforms or []),
                    "note": pick.note,
                }
            )
    return shown


def editor_picks() -> list[dict[str, Any]]:
    """The picks to show on the start page (template global)."""
    try:
        picks = load_picks(picks_file())
    except PicksError as exc:
        log.warning("no editors' picks shown: %s", exc)
        return []
    if not picks:
        return []
    return resolve_picks(picks, data.settings().database_url)


@bp.app_context_processor
def _inject_picks() -> dict[str, Any]:
    return {"editor_picks": editor_picks}


@bp.before_app_request
def _hide_unpublished() -> None:
    """404 for the offer page of an entry the publication policy does not publish."""
    if request.endpoint not in OFFER_ENDPOINTS or not request.view_args:
        return
    cluster_id = request.view_args.get("cluster_id")
    engine = get_engine(data.settings().database_url)
    init_db(engine)
    with session_scope(engine) as session:
        row = store.get_cluster(session, str(cluster_id))
        if row is not None and not row.published:
            abort(404, "Dieses Angebot wird nach den Veröffentlichungsregeln nicht gezeigt.")
