"""`mintsuche dedupe explain` on the demo catalogue (records re-normalized from the store)."""

import json

from conftest import NOW, cli_args

from webapp.cli import main

KMM = "komm_mach_mint:https://www.komm-mach-mint.de/schuelerinnen/mint-karte/projekte/"


def _explain(runner, settings, *args):
    return runner.invoke(main, [*cli_args(settings), "dedupe", "explain", *args, "--now", NOW])


def test_explain_json_for_a_known_duplicate(runner, demo_settings) -> None:
    result = _explain(runner, demo_settings, KMM + "mint-4-girls", KMM + "mint4girls", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["decision"] == "match"
    assert doc["similarities"]["title"] == 1.0
    assert doc["a"]["title"] == "MINT 4 Girls" and doc["b"]["title"] == "MINT4Girls"
    assert doc["score"] >= doc["threshold"]
    assert doc["reason"].startswith("match")


def test_explain_text_for_different_offers_names_the_gate(runner, demo_settings) -> None:
    result = _explain(runner, demo_settings, KMM + "mint-4-girls", KMM + "studieren-probieren")
    assert result.exit_code == 0, result.output
    assert "Entscheidung: no_match" in result.output
    assert "Titel" in result.output and "Begründung" in result.output
    assert "title similarity below" in result.output


def test_explain_unknown_and_malformed_keys_fail_cleanly(runner, demo_settings) -> None:
    result = _explain(runner, demo_settings, KMM + "mint-4-girls", KMM + "gibt-es-nicht")
    assert result.exit_code == 1
    assert "nicht im Katalog" in result.output and "gibt-es-nicht" in result.output
    result = _explain(runner, demo_settings, "ohne-doppelpunkt", KMM + "mint4girls")
    assert result.exit_code == 2
    assert "source_id:source_key" in result.output


def test_explain_compares_a_borrowed_provider_like_clustering(runner, demo_settings) -> None:
    """The 2016 record names no provider, only its place URI; the MINT-Orte record of that
    place lends the name, as in clustering."""
    result = _explain(
        runner,
        demo_settings,
        "leipzig_angebote_2016:http://leipzig-data.de/Data/Angebot/IHK.MINT-Berufetag",
        "leipzig_mint_orte:http://leipzig-data.de/Data/MINT-2014/Schwerpunkt/IndustrieHandelskammer",
        "--json",
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["a"]["provider"] is None  # what the platform said is shown as it was
    assert doc["similarities"]["provider"] == 1.0
