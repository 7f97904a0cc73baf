"""`mintsuche report` and the operator page /betrieb/abdeckung on the demo catalogue."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from conftest import cli_args, make_settings

from catalog.db import get_engine, init_db
from webapp.app import create_app
from webapp.cli import main


def _db(settings) -> sqlite3.Connection:
    return sqlite3.connect(settings.database_url.removeprefix("sqlite:///"))


@pytest.fixture(scope="module")
def report(demo_settings) -> dict:
    from click.testing import CliRunner

    result = CliRunner().invoke(main, [*cli_args(demo_settings), "report", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_totals_match_the_database(report, demo_settings) -> None:
    with _db(demo_settings) as db:
        offers = db.execute("select count(*) from offer").fetchone()[0]
        raw = db.execute("select count(*) from raw_record").fetchone()[0]
        with_coords = db.execute(
            "select count(*) from offer where lat is not null and lon is not null"
        ).fetchone()[0]
        known_cost = db.execute(
            "select count(*) from offer where cost_kind != 'unknown'"
        ).fetchone()[0]
        per_source = dict(db.execute("select source_id, count(*) from offer group by source_id"))
    assert report["offers"] == offers > 1000
    assert report["raw_records"] == raw
    total = report["total"]
    assert total["headline"]["coordinates"] == round(100 * with_coords / offers, 1)
    assert total["headline"]["cost_kind_known"] == round(100 * known_cost / offers, 1)
    assert total["fields"]["cost_kind"] == total["headline"]["cost_kind_known"]
    assert {s["source_id"]: s["offers"] for s in report["sources"]} == per_source
    assert set(report["headline_labels"]) == set(total["headline"])


def test_subject_share_per_source_matches_the_database(report, demo_settings) -> None:
    with _db(demo_settings) as db:
        rows = db.execute("select source_id, subjects from offer").fetchall()
    for source in report["sources"]:
        mine = [json.loads(s) for sid, s in rows if sid == source["source_id"]]
        expected = round(100 * sum(1 for s in mine if s) / len(mine), 1)
        assert source["headline"]["subject"] == expected, source["source_id"]


def test_unmapped_tags_are_counted_from_the_raw_records(report, demo_settings) -> None:
    # leipzig_mint_orte tags its places "GTA" (Ganztagsangebot): no subject, no format
    with _db(demo_settings) as db:
        raw = [
            json.loads(f)
            for (f,) in db.execute(
                "select fields from raw_record where source_id = 'leipzig_mint_orte'"
            )
        ]
    gta_tags = sum(1 for fields in raw if "GTA" in (fields.get("tags") or []))
    assert gta_tags > 50
    orte = next(s for s in report["sources"] if s["source_id"] == "leipzig_mint_orte")
    assert ["GTA", gta_tags] in orte["unmapped"]["tags"]
    # participants (group size) has no place in the offer: listed with its fill rate
    unread = {u["name"]: u for u in orte["unread_raw"]}
    assert {"participants", "opening_hours"} <= set(unread)
    assert "gta" not in unread  # read: "ja" gives the format ag
    with_count = sum(1 for fields in raw if (fields.get("participants") or "").strip())
    assert unread["participants"]["filled"] == round(100 * with_count / len(raw), 1)
    top_value, top_count = unread["participants"]["top"][0]
    assert top_count == sum(1 for f in raw if (f.get("participants") or "").strip() == top_value)


def test_samples_show_the_stored_raw_record(report, demo_settings) -> None:
    orte = next(s for s in report["sources"] if s["source_id"] == "leipzig_mint_orte")
    assert len(orte["samples"]) == 2
    sample = orte["samples"][0]
    assert sample["unmapped"]  # offers with unmapped values come first
    with _db(demo_settings) as db:
        (fields,) = db.execute(
            "select fields from raw_record where source_id = ? and source_key = ?",
            ("leipzig_mint_orte", sample["source_key"]),
        ).fetchone()
        (city, cost_kind) = db.execute(
            "select city, cost_kind from offer where source_id = ? and source_key = ?",
            ("leipzig_mint_orte", sample["source_key"]),
        ).fetchone()
    raw = json.loads(fields)
    rows = {r["label"]: r for r in sample["rows"]}
    assert ["costs", raw["costs"]] in rows["Kosten"]["raw"]
    assert ["cost_kind", cost_kind] in rows["Kosten"]["normalized"]
    assert ["city", city] in rows["Ort"]["normalized"]


def test_text_report(runner, demo_settings, report) -> None:
    result = runner.invoke(main, [*cli_args(demo_settings), "report", "--samples", "0"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"Abdeckung des Katalogs: {report['offers']} Angebote" in out
    coords = report["total"]["headline"]["coordinates"]
    assert f"mit Koordinaten                    {coords:5.1f} %" in out
    for source in report["sources"]:
        assert f"== {source['source_id']} (" in out
    assert "GTA (" in out
    assert "Beispiel roh" not in out


def test_report_without_catalogue(runner, tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "leer")
    result = runner.invoke(main, [*cli_args(settings), "report"])
    assert result.exit_code == 1
    assert "keine Datenbank" in result.output
    init_db(get_engine(settings.database_url))
    result = runner.invoke(main, [*cli_args(settings), "report", "--json"])
    assert result.exit_code == 1
    assert "keine Angebote" in result.output


def test_operator_page(client, report) -> None:
    resp = client.get("/betrieb/abdeckung")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "<caption>Kennzahlen je Quelle</caption>" in html
    assert '<th scope="col">mit Koordinaten</th>' in html
    assert '<th scope="row"><a href="#quelle-leipzig_mint_orte">leipzig_mint_orte</a></th>' in html
    coords = f"{report['total']['headline']['coordinates']:.1f}".replace(".", ",")
    assert f"<td>{coords}&nbsp;%</td>" in html
    assert "Rohfelder, die nicht normalisiert werden" in html
    assert html.count("<caption>Beispiel: ") == 2 * len(report["sources"])
    # the raw value next to the normalized one (leipzig_mint_orte, ADFC.Kurse)
    assert "<li><code>costs</code>: je nach Angebot</li>" in html
    without = client.get("/betrieb/abdeckung?beispiele=0").get_data(as_text=True)
    assert "<h3>Beispiele" not in without and "<caption>Beispiel: " not in without


def test_operator_page_without_catalogue(tmp_path: Path) -> None:
    app = create_app({"TESTING": True, "SETTINGS": make_settings(tmp_path / "leer")})
    resp = app.test_client().get("/betrieb/abdeckung?top=x")
    assert resp.status_code == 200
    assert "noch keine Angebote" in resp.get_data(as_text=True)


def test_source_without_offers_is_listed(runner, demo_settings, tmp_path: Path) -> None:
    # a copy of the demo catalogue in which every offer of one source is gone
    settings = make_settings(tmp_path / "kopie")
    settings.var_dir.mkdir()
    target = sqlite3.connect(settings.database_url.removeprefix("sqlite:///"))
    with _db(demo_settings) as source:
        source.backup(target)
    with target:
        target.execute("delete from offer where source_id = 'leipzig_angebote_2016'")
        raw = target.execute(
            "select count(*) from raw_record where source_id = 'leipzig_angebote_2016'"
        ).fetchone()[0]
    target.close()
    result = runner.invoke(main, [*cli_args(settings), "report", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    empty = next(s for s in data["sources"] if s["source_id"] == "leipzig_angebote_2016")
    assert (empty["offers"], empty["raw_records"]) == (0, raw)
    assert raw > 0 and set(empty["headline"].values()) == {0.0}
    ids = [s["source_id"] for s in data["sources"]]
    assert ids == sorted(ids)
