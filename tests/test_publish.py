"""A rebuild publishes database rows and search index as one generation: the index is
prepared, the rows naming it commit, then readers are switched; a failed commit leaves
readers on the old catalogue and no stray index generation behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import NOW, copy_catalogue

from catalog import store
from catalog.db import dispose_engines, get_engine, session_scope
from catalog.search import SearchIndex, SearchQuery
from webapp import pipeline
from webapp.cli import _now


def _rebuild(settings) -> pipeline.RebuildReport:
    return pipeline.rebuild(
        settings.database_url,
        settings.index_dir,
        now=_now(NOW),
        overrides_file=settings.overrides_file,
    )


def test_state_names_the_active_index_generation(demo_settings, tmp_path: Path) -> None:
    settings = copy_catalogue(demo_settings, tmp_path / "ok")
    _rebuild(settings)
    first = SearchIndex.open(settings.index_dir).generation
    _rebuild(settings)
    index = SearchIndex.open(settings.index_dir)
    assert index.generation != first
    with session_scope(get_engine(settings.database_url)) as session:
        assert store.catalog_state(session)["index_generation"] == index.generation
    dispose_engines()


def test_failed_commit_keeps_the_old_catalogue(
    demo_settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = copy_catalogue(demo_settings, tmp_path / "failing")
    _rebuild(settings)
    before = SearchIndex.open(settings.index_dir)
    generations = sorted(p.name for p in settings.index_dir.iterdir() if p.is_dir())
    total = before.search(SearchQuery(q="Roboter")).total

    def broken(*_args, **_kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(store, "publish_catalogue", broken)
    with pytest.raises(RuntimeError, match="database gone"):
        _rebuild(settings)
    after = SearchIndex.open(settings.index_dir)
    assert after.generation == before.generation
    assert sorted(p.name for p in settings.index_dir.iterdir() if p.is_dir()) == generations
    assert after.search(SearchQuery(q="Roboter")).total == total
    with session_scope(get_engine(settings.database_url)) as session:
        assert store.catalog_state(session)["index_generation"] == before.generation
    dispose_engines()
