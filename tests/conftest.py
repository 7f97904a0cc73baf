"""Shared fixtures (flaskr style): a demo catalogue built once from the snapshots,
and `app`, `client`, `runner` on top of it."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sqlite3
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from webapp.app import create_app
from webapp.cli import main
from webapp.config import Settings

REPO = Path(__file__).resolve().parent.parent
NOW = "2026-11-26T12:00:00+00:00"
PG_BASE_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def synthetic_offers(n: int, seed: int):  # noqa: ANN201 - SynthOffer list and truth
    """``bench/synth_offers.generate(n, seed)``: seeded synthetic offers and their truth."""
    module = sys.modules.get("synth_offers")
    if module is None:
        path = REPO / "bench" / "synth_offers.py"
        spec = importlib.util.spec_from_file_location("synth_offers", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return module.generate(n, seed)


def pg_unreachable() -> str | None:
    """Return None when PostgreSQL answers, else the reason."""
    import psycopg

    try:
        with psycopg.connect(PG_BASE_URL.replace("+psycopg", ""), connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {PG_BASE_URL} unreachable: {exc}"


@contextlib.contextmanager
def database(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database URL: a SQLite file in ``tmp_path``, or a fresh PostgreSQL schema that is
    dropped afterwards (skipped when PostgreSQL is down, failed under ``CI=true``)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path}/cat.db"
        return
    reason = pg_unreachable()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    plain = PG_BASE_URL.replace("+psycopg", "")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_BASE_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def make_settings(var_dir: Path, sources_file: Path | None = None) -> Settings:
    return Settings(
        sources_file=sources_file or REPO / "sources.yaml",
        var_dir=var_dir,
        database_url=f"sqlite:///{var_dir / 'mintsuche.db'}",
        overrides_file=REPO / "dedupe_overrides.yaml",
        secret_key="test",
    )


def copy_catalogue(settings: Settings, target: Path) -> Settings:
    """Settings for a consistent copy of a catalogue database in ``target`` (the SQLite
    backup API includes what is still in the WAL)."""
    target.mkdir()
    source = sqlite3.connect(settings.var_dir / "mintsuche.db")
    copy = sqlite3.connect(target / "mintsuche.db")
    with copy:
        source.backup(copy)
    source.close()
    copy.close()
    return make_settings(target)


def cli_args(settings: Settings) -> list[str]:
    return [
        "--sources-file",
        str(settings.sources_file),
        "--database-url",
        settings.database_url,
        "--var-dir",
        str(settings.var_dir),
    ]


@pytest.fixture(scope="session")
def demo_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The demo catalogue: every enabled source crawled from its snapshot over loopback."""
    settings = make_settings(tmp_path_factory.mktemp("demo"))
    result = CliRunner().invoke(main, [*cli_args(settings), "crawl", "--replay", "--now", NOW])
    assert result.exit_code == 0, result.output
    return settings


@pytest.fixture
def app(demo_settings: Settings):
    return create_app({"TESTING": True, "SETTINGS": demo_settings})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
