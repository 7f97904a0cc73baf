"""Shared fixtures (flaskr style): a demo catalogue built once from the snapshots,
and `app`, `client`, `runner` on top of it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from webapp.app import create_app
from webapp.cli import main
from webapp.config import Settings

REPO = Path(__file__).resolve().parent.parent
NOW = "2026-11-26T12:00:00+00:00"


def make_settings(var_dir: Path, sources_file: Path | None = None) -> Settings:
    return Settings(
        sources_file=sources_file or REPO / "sources.yaml",
        var_dir=var_dir,
        database_url=f"sqlite:///{var_dir / 'mintsuche.db'}",
        overrides_file=REPO / "dedupe_overrides.yaml",
        secret_key="test",
    )


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
