"""Every expected-records file belongs to a source and has been filled in by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawlers.sources import load_sources

REPO = Path(__file__).resolve().parent.parent
FILES = sorted((REPO / "tests" / "expected").glob("*.expected.json"))


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_expected_records_are_filled_in(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    source_id = path.name.removesuffix(".expected.json")
    assert load_sources(REPO / "sources.yaml").get(source_id) is not None, source_id
    assert "todo" not in data, f"{path.name}: {data.get('todo')}"
    assert len(data["records"]) >= 5, f"{path.name}: write at least 5 records by hand"
