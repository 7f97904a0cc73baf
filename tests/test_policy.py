"""The publication policy (webapp/policy.py, applied in rebuild) and editors' picks."""

from __future__ import annotations

import logging
import shutil
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import NOW, cli_args, make_settings
from sqlmodel import select

from catalog import store
from catalog.db import get_engine, session_scope
from catalog.schema import ClusterRow
from webapp.app import create_app
from webapp.blueprints.picks import load_picks, resolve_picks
from webapp.cli import main
from webapp.commands.policy import policy_counts
from webapp.pipeline import rebuild
from webapp.policy import Policy, PolicyError, check, load_policy

REPO = Path(__file__).resolve().parent.parent
THREE_STATES = ("Sachsen", "Sachsen-Anhalt", "Thüringen")


def cluster_ids(database_url: str, bundesland: str) -> list[str]:
    with session_scope(get_engine(database_url)) as session:
        stmt = select(ClusterRow.id).where(ClusterRow.bundesland == bundesland)
        return sorted(session.exec(stmt).all())


def offer(**values: Any) -> SimpleNamespace:
    base = {
        "title": "Roboter-AG",
        "bundesland": None,
        "landkreis": None,
        "city": None,
        "formats": [],
        "groups": [],
        "description": "",
    }
    return SimpleNamespace(**(base | values))


def policy(**values: Any) -> Policy:
    return Policy.model_validate(values)


# --------------------------------------------------------------------------- pure rules


def test_empty_policy_publishes_everything() -> None:
    assert check(Policy(), {"title": "x"}, [offer()]) == []


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        ([offer(bundesland="Sachsen")], []),
        ([offer(bundesland="Bayern")], ["region"]),
        ([offer(bundesland="Bayern"), offer(bundesland="Thüringen")], []),  # any member
        ([offer()], ["region_unknown"]),
        ([offer(landkreis="Landkreis Leipzig")], ["region"]),  # Kreis given, not listed
    ],
)
def test_region_by_bundesland(members: list[SimpleNamespace], expected: list[str]) -> None:
    rule = policy(region={"bundeslaender": list(THREE_STATES)})
    assert check(rule, {"title": "x"}, members) == expected


def test_region_by_landkreis() -> None:
    rule = policy(region={"landkreise": ["Landkreis Leipzig"]})
    assert check(rule, {}, [offer(bundesland="Sachsen", landkreis="Landkreis Leipzig")]) == []
    assert check(rule, {}, [offer(bundesland="Sachsen", landkreis="Dresden")]) == ["region"]


def test_required_fields_and_exclusions() -> None:
    rule = policy(
        required_fields=["title", "city", "description"],
        exclude={"formats": ["mint_schule"], "groups": ["erwachsene"]},
    )
    members = [offer(formats=["workshop", "mint_schule"], groups=["erwachsene"], city="Halle")]
    assert check(rule, {"title": "x"}, members) == [
        "missing:description",
        "format:mint_schule",
        "group:erwachsene",
    ]
    # a field of the merged row counts as well as a member's
    assert check(rule, {"description": "d"}, [offer(city="Halle")]) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("region: {bundeslaender: [Sachsn]}", "unknown Bundesland 'Sachsn'"),
        ("exclude: {formats: [kino]}", "unknown format id 'kino'"),
        ("exclude: {groups: [rentner]}", "unknown target group 'rentner'"),
        ("required_fields: [colour]", "unknown field 'colour'"),
        ("regions: {}", "regions: Extra inputs are not permitted"),
        ("region: [", "policy.yaml"),
    ],
)
def test_invalid_policy_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError, match=message):
        load_policy(path)


def test_shipped_policy_files() -> None:
    default = load_policy(REPO / "policy.yaml")
    assert not default.region.is_set  # the demo shows everything
    central = load_policy(REPO / "policy.mitteldeutschland.yaml")
    assert tuple(central.region.bundeslaender) == THREE_STATES
    assert load_policy(REPO / "no-such-policy.yaml") == Policy()


# --------------------------------------------------------------------------- the demo catalogue


@pytest.fixture(scope="module")
def central(demo_settings, tmp_path_factory: pytest.TempPathFactory):
    """A copy of the demo catalogue rebuilt with the three central German states."""
    var_dir = tmp_path_factory.mktemp("central")
    for path in demo_settings.var_dir.glob("mintsuche.db*"):  # with the WAL, if any
        shutil.copy(path, var_dir / path.name)
    settings = make_settings(var_dir)
    report = rebuild(
        settings.database_url,
        settings.index_dir,
        now=datetime.fromisoformat(NOW),
        overrides_file=settings.overrides_file,
        policy_path=REPO / "policy.mitteldeutschland.yaml",
    )
    return settings, report


def test_three_states_policy_shows_only_offers_there(central) -> None:
    settings, report = central
    assert report.clusters == report.published + sum(report.unpublished.values())
    assert report.published > 100 and set(report.unpublished) == {"region", "region_unknown"}
    client = create_app({"TESTING": True, "SETTINGS": settings}).test_client()
    result = client.get("/suche.json?q=").get_json()
    assert result["total"] == report.published
    states = {f["value"]: f["count"] for f in result["facets"]["bundesland"]}
    assert set(states) <= set(THREE_STATES) and sum(states.values()) == report.published
    # every entry is still in the store, flagged with its reason
    counts = policy_counts(settings.database_url)
    assert counts["entries"] == report.clusters
    assert counts["unpublished_by_reason"] == dict(report.unpublished)
    assert counts["published_by_bundesland"] == states


def test_unpublished_offer_page_is_404_but_kept(central) -> None:
    settings, _report = central
    hidden = cluster_ids(settings.database_url, "Bayern")[0]
    shown = cluster_ids(settings.database_url, "Sachsen")[0]
    with session_scope(get_engine(settings.database_url)) as session:
        row = store.get_cluster(session, hidden)
        assert row is not None and not row.published and row.unpublished_reason == "region"
        assert store.offers_of_cluster(session, hidden)
    client = create_app({"TESTING": True, "SETTINGS": settings}).test_client()
    assert client.get(f"/angebot/{hidden}").status_code == 404
    assert client.get(f"/angebot/{hidden}.json").status_code == 404
    assert client.get(f"/angebot/{shown}").status_code == 200


def test_policy_report_command(central, runner) -> None:
    settings, report = central
    result = runner.invoke(main, [*cli_args(settings), "policy", "report"])
    assert result.exit_code == 0, result.output
    assert f"veröffentlicht: {report.published}" in result.output
    assert f"außerhalb der Region: {report.unpublished['region']}" in result.output


def test_policy_check_command(runner, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MINTSUCHE_POLICY", str(REPO / "policy.mitteldeutschland.yaml"))
    result = runner.invoke(main, ["policy", "check"])
    assert result.exit_code == 0 and "Sachsen, Sachsen-Anhalt, Thüringen" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("region: {bundeslaender: [Bayen]}", encoding="utf-8")
    monkeypatch.setenv("MINTSUCHE_POLICY", str(bad))
    result = runner.invoke(main, ["policy", "check"])
    assert result.exit_code == 1 and "unknown Bundesland 'Bayen'" in result.output


def test_default_demo_publishes_everything(demo_settings) -> None:
    counts = policy_counts(demo_settings.database_url)
    assert counts["unpublished"] == 0 and counts["published"] == counts["entries"]


# --------------------------------------------------------------------------- picks


def test_shipped_picks_are_in_the_demo_catalogue(client, demo_settings) -> None:
    picks = load_picks(REPO / "picks.yaml")
    assert picks
    shown = resolve_picks(picks, demo_settings.database_url)
    assert [p["id"] for p in shown] == [p.id for p in picks]
    page = client.get("/").get_data(as_text=True)
    assert "Empfehlungen" in page
    for pick in shown:
        assert f"/angebot/{pick['id']}" in page


def test_unknown_and_hidden_picks_are_skipped(
    central, tmp_path: Path, monkeypatch, caplog
) -> None:
    settings, _report = central
    hidden = cluster_ids(settings.database_url, "Bayern")[0]
    shown = cluster_ids(settings.database_url, "Sachsen")[0]
    path = tmp_path / "picks.yaml"
    path.write_text(
        f"picks:\n  - id: nosuchid\n  - id: {hidden}\n  - id: {shown}\n    note: 'Tipp'\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("MINTSUCHE_PICKS", str(path))
    with caplog.at_level(logging.WARNING, logger="webapp.blueprints.picks"):
        page = create_app({"TESTING": True, "SETTINGS": settings}).test_client().get("/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"/angebot/{shown}" in text and "Tipp" in text
    assert f"/angebot/{hidden}" not in text and "nosuchid" not in text
    assert "nosuchid: no such entry" in caplog.text
    assert f"{hidden}: not published (region)" in caplog.text


def test_picks_survive_a_rebuild(central, tmp_path: Path) -> None:
    settings, _report = central
    ids = cluster_ids(settings.database_url, "Sachsen")
    path = tmp_path / "picks.yaml"
    path.write_text("picks:\n" + "".join(f"  - id: {i}\n" for i in ids[:5]), encoding="utf-8")
    before = resolve_picks(load_picks(path), settings.database_url)
    rebuild(
        settings.database_url,
        settings.index_dir,
        now=datetime.fromisoformat(NOW),
        overrides_file=settings.overrides_file,
        policy_path=REPO / "policy.mitteldeutschland.yaml",
    )
    after = resolve_picks(load_picks(path), settings.database_url)
    assert len(before) == 5 and after == before


def test_broken_picks_file_shows_no_picks(client, tmp_path: Path, monkeypatch, caplog) -> None:
    path = tmp_path / "picks.yaml"
    path.write_text("picks: [{idd: 1}]", encoding="utf-8")
    monkeypatch.setenv("MINTSUCHE_PICKS", str(path))
    with caplog.at_level(logging.WARNING, logger="webapp.blueprints.picks"):
        page = client.get("/")
    assert page.status_code == 200 and "Empfehlungen" not in page.get_data(as_text=True)
    assert "no editors' picks shown" in caplog.text
