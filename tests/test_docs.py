"""The docs stay true: every source, command and setting is documented (Datasette style)."""

from __future__ import annotations

import re
from pathlib import Path

import crawlers.settings
import webapp.config
from crawlers.sources import load_sources

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def test_every_source_is_documented():
    for source in load_sources(REPO / "sources.yaml").sources:
        assert f"`{source.id}`" in README, source.id
        assert (REPO / "snapshots" / source.id / "PROVENANCE.md").is_file() or not source.enabled


def test_every_setting_is_documented():
    documented = set(re.findall(r"`((?:MINTSUCHE_|DATABASE_)[A-Z_]+)`", README))
    declared = set(re.findall(r"`((?:MINTSUCHE_|DATABASE_)[A-Z_]+)`", webapp.config.__doc__ or ""))
    declared |= set(re.findall(r"``(MINTSUCHE_[A-Z_]+)``", crawlers.settings.__doc__ or ""))
    assert declared, "no settings found in the docstrings"
    assert declared <= documented, declared - documented


def test_geonames_attribution_is_shown():
    assert "GeoNames (geonames.org), CC BY 4.0" in README
    base = (REPO / "webapp" / "templates" / "base.html").read_text(encoding="utf-8")
    assert "GeoNames (geonames.org), CC BY 4.0" in base
