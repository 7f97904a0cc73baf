"""Where the site gets its data: the search index and the catalogue database.

All database and index access of the web layer goes through here (as flaskr's `db.py`).
"""

from __future__ import annotations

import threading
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app

from catalog import store
from catalog.db import get_engine, init_db, session_scope
from catalog.search import SearchIndex, SearchQuery, SearchResult
from webapp.config import Settings

_lock = threading.Lock()


def init_app(app: Flask) -> None:
    app.extensions["mintsuche.index"] = None


def settings() -> Settings:
    return current_app.config["SETTINGS"]


def _engine() -> Any:
    engine = get_engine(settings().database_url)
    init_db(engine)
    return engine


def today() -> date:
    """The site's "today": ``app.config["TODAY"]`` when set (tests pass it in), else the date
    in Germany."""
    fixed = current_app.config.get("TODAY")
    if isinstance(fixed, date):
        return fixed
    return datetime.now(ZoneInfo("Europe/Berlin")).date()


def index() -> SearchIndex | None:
    """The current search index, reloaded when a rebuild has swapped in a new one."""
    with _lock:
        idx = current_app.extensions.get("mintsuche.index")
        if idx is None:
            try:
                idx = SearchIndex.open(settings().index_dir)
            except FileNotFoundError:
                return None
            current_app.extensions["mintsuche.index"] = idx
        else:
            idx.reload_if_changed()
        return idx


def search(query: SearchQuery) -> SearchResult | None:
    idx = index()
    return None if idx is None else idx.search(query)


def cluster(cluster_id: str) -> tuple[Any, list[Any]] | None:
    with session_scope(_engine()) as session:
        found = store.cluster_with_offers(session, cluster_id)
        if found is None:
            return None
        row, members = found
        seen = store.raw_seen(session, [(m.source_id, m.source_key) for m in members])
        return _detach(row), [(_detach(m), seen.get((m.source_id, m.source_key))) for m in members]


def platforms() -> list[dict[str, Any]]:
    with session_scope(_engine()) as session:
        counts = store.offer_counts_by_source(session)
        rows = []
        for src in store.list_sources(session):
            last = store.last_success(session, src.id)
            rows.append(
                {
                    "source": _detach(src),
                    "offers": counts.get(src.id, 0),
                    "last_success": last.finished_at if last is not None else None,
                }
            )
        return rows


def platform_titles() -> dict[str, str]:
    """Source id -> platform title, read from the database once per search index generation
    (every search page needs them; sources change with a crawl, which rebuilds the index)."""
    idx = index()
    key = (settings().database_url, None if idx is None else (str(idx.index_dir), idx.generation))
    cached = current_app.extensions.get("mintsuche.platform_titles")
    if idx is not None and cached is not None and cached[0] == key:
        return dict(cached[1])
    with session_scope(_engine()) as session:
        titles = {src.id: src.title for src in store.list_sources(session)}
    current_app.extensions["mintsuche.platform_titles"] = (key, titles)
    return dict(titles)


def _detach(row: Any) -> Any:
    """A plain copy of a row that outlives its session."""
    return type(row).model_validate(row.model_dump()) if hasattr(row, "model_dump") else row


def cluster_ids(limit: int) -> list[tuple[str, datetime | None]]:
    """(id, last_seen) of up to ``limit`` published catalogue entries, by id (sitemap)."""
    from sqlmodel import select

    from catalog.schema import ClusterRow

    with session_scope(_engine()) as session:
        rows = session.exec(
            select(ClusterRow.id, ClusterRow.last_seen)
            .where(ClusterRow.published == True)  # noqa: E712 (SQL expression)
            .order_by(ClusterRow.id)
            .limit(limit)
        ).all()
        return [(row[0], row[1]) for row in rows]
