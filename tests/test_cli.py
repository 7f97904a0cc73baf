"""The `mintsuche` command line end to end, on the demo catalogue and on broken input."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import NOW, REPO, cli_args, make_settings

from catalog import store
from catalog.db import get_engine, init_db, session_scope
from webapp.cli import main


def _raw_count(settings) -> int:
    path = settings.database_url.removeprefix("sqlite:///")
    if not Path(path).exists():
        return 0
    engine = get_engine(settings.database_url)
    init_db(engine)
    with session_scope(engine) as session:
        return sum(1 for _ in store.iter_raw(session))


def test_clusters_json_lists_every_member(demo_settings, runner):
    result = runner.invoke(main, [*cli_args(demo_settings), "clusters", "--json"])
    assert result.exit_code == 0, result.output
    clusters = json.loads(result.stdout)
    members = [(m["source_id"], m["source_key"]) for c in clusters for m in c["members"]]
    assert len(members) == len(set(members))
    assert {sid for sid, _ in members} >= {"komm_mach_mint", "leipzig_mint_orte"}
    assert all(c["id"] and c["members"] for c in clusters)


def test_rebuild_keeps_cluster_ids(demo_settings, runner):
    def ids() -> list[str]:
        out = runner.invoke(main, [*cli_args(demo_settings), "clusters", "--json"]).stdout
        return sorted(c["id"] for c in json.loads(out))

    before = ids()
    result = runner.invoke(main, [*cli_args(demo_settings), "rebuild", "--now", NOW])
    assert result.exit_code == 0, result.output
    assert ids() == before


def test_search_command_matches_json_page(demo_settings, runner, client):
    result = runner.invoke(main, [*cli_args(demo_settings), "search", "Roboter", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == client.get("/suche.json?q=Roboter").get_json()


def test_sources_check_lists_sources(demo_settings, runner):
    result = runner.invoke(main, [*cli_args(demo_settings), "sources", "check"])
    assert result.exit_code == 0, result.output
    assert "komm_mach_mint" in result.output


def test_sources_schema_is_json(tmp_path, runner):
    out = tmp_path / "schema.json"
    result = runner.invoke(main, ["sources", "schema", "-o", str(out)])
    assert result.exit_code == 0, result.output
    schema = json.loads(out.read_text(encoding="utf-8"))
    assert "properties" in schema or "$defs" in schema


BROKEN = """\
sources:
  - id: one
    title: One
    homepage: https://example.org/
    description: x
    strengths: []
    kind: html
    strat_urls: [https://example.org/]
    schedule: "0 3 * * 1"
    licence: {name: x}
    html: {rows: "tr", key: url}
    fields:
      title: {css: "td::text"}
      url: {css: "a::attr(href)"}
  - id: two
    homepage: https://example.org/
    description: x
    strengths: []
    kind: html
    start_urls: [https://example.org/]
    schedule: "0 3 * * 1"
    licence: {name: x}
    html: {rows: "tr", key: url}
    fields:
      title: {css: "td::text"}
      url: {css: "a::attr(href)"}
  - id: three
    title: Three
    homepage: https://example.org/
    description: x
    strengths: []
    kind: gopher
    start_urls: [https://example.org/]
    schedule: "0 3 * * 1"
    licence: {name: x}
    fields:
      title: {value: x}
"""


def test_broken_sources_yaml_crawls_nothing(tmp_path, runner):
    bad = tmp_path / "sources.yaml"
    bad.write_text(BROKEN, encoding="utf-8")
    settings = make_settings(tmp_path / "var", bad)
    result = runner.invoke(main, [*cli_args(settings), "crawl", "--replay", "--now", NOW])
    assert result.exit_code != 0
    text = result.output
    assert "sources.yaml:8: one.strat_urls: unknown field 'strat_urls'" in text
    assert "(did you mean 'start_urls'?)" in text
    assert "sources.yaml:15: two.title: missing required field 'title'" in text
    assert "sources.yaml:32: three.kind: unknown kind 'gopher'" in text
    assert "3 problems" in text
    assert _raw_count(settings) == 0


def test_crawl_twice_changes_nothing(tmp_path, runner):
    settings = make_settings(tmp_path / "var")
    args = [*cli_args(settings), "crawl", "mzs_schulen", "--replay", "--now", NOW]
    assert runner.invoke(main, args).exit_code == 0
    first = _raw_count(settings)
    second = runner.invoke(main, args)
    assert second.exit_code == 0, second.output
    assert "Lauf success, 584" in second.output
    assert _raw_count(settings) == first > 0


def test_readme_documents_every_command():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name, command in main.commands.items():
        assert f"mintsuche {name}" in readme, name
        for sub in getattr(command, "commands", {}):
            assert f"mintsuche {name} {sub}" in readme, (name, sub)


def test_failed_source_keeps_its_offers(tmp_path, runner):
    """A source that breaks (here: its page is gone, 404) gives a failed run; the offers
    it contributed before stay in the catalogue and in search."""
    settings = make_settings(tmp_path / "var")
    ok = runner.invoke(
        main, [*cli_args(settings), "crawl", "komm_mach_mint", "--replay", "--now", NOW]
    )
    assert ok.exit_code == 0, ok.output
    before = _raw_count(settings)
    assert before == 994

    broken = tmp_path / "sources.yaml"
    text = (REPO / "sources.yaml").read_text(encoding="utf-8")
    broken.write_text(
        text.replace("/schuelerinnen/mint-karte\n", "/schuelerinnen/gibt-es-nicht\n"),
        encoding="utf-8",
    )
    moved = make_settings(settings.var_dir, broken)
    failed = runner.invoke(
        main, [*cli_args(moved), "crawl", "komm_mach_mint", "--replay", "--now", NOW]
    )
    assert failed.exit_code != 0
    assert "komm_mach_mint (failed)" in failed.output
    assert _raw_count(settings) == before

    from webapp.app import create_app

    client = create_app({"TESTING": True, "SETTINGS": settings}).test_client()
    data = client.get("/suche.json", query_string={"q": "FIRST LEGO League"}).get_json()
    assert any("FIRST LEGO League" in h["title"] for h in data["hits"])
    assert data["total"] >= 1


def test_crawl_skips_a_source_locked_by_another_process(tmp_path, runner):
    from datetime import UTC, datetime, timedelta

    settings = make_settings(tmp_path / "var")
    engine = get_engine(settings.database_url)
    init_db(engine)
    with session_scope(engine) as session:
        assert store.acquire_lock(
            session,
            "mzs_schulen",
            holder="elsewhere:1:x",
            now=datetime.now(UTC),
            ttl=timedelta(minutes=10),
        )
    result = runner.invoke(
        main, [*cli_args(settings), "crawl", "mzs_schulen", "--replay", "--now", NOW]
    )
    assert result.exit_code != 0
    assert "mzs_schulen: wird gerade von einem anderen Prozess gecrawlt" in result.output
    assert _raw_count(settings) == 0
