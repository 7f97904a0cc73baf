"""The csv spider over real HTTP on loopback: the mzs_schulen snapshot into SQLite, compared
with hand-written expected records; a missing column, duplicate keys, empty names and a
wrongly declared encoding from small synthetic files (tmp_path, host
``fixtures.mintsuche.test``, clearly not a platform snapshot); the row helpers in process.

Every crawl runs in its own process (``crawl_in_subprocess``), as in production.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from snapshot_crawl import crawl, source_entry, write_sources

from crawlers.spiders.csv import (
    ENCODING_FALLBACK_STAT,
    MISSING_COLUMN_STAT,
    decode_body,
    missing_columns,
    read_rows,
    row_key,
)

REPO = Path(__file__).resolve().parent.parent
SNAPSHOTS = REPO / "snapshots"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FIXTURE_HOST = "fixtures.mintsuche.test"
HEADER = (
    "Organisationsname,Straße,Postleitzahl,Stadt,Bildungsbereich,Tag(s),Schultyp,Bundesland,"
    "Land,Änderungsdatum"
)

# Counted from the raw file, independently of the spider: 585 lines = header + 584 rows
# (wc -l; no quoted newlines: csv.reader gives 584 rows too), and
# len({(name, plz) for each row}) == 584 with no empty name: no drops, no duplicates.
MZS_COUNT = 584


@pytest.fixture(scope="module")
def mzs_crawl(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Any], list[Any]]:
    tmp = tmp_path_factory.mktemp("mzs")
    sources_file = write_sources(tmp, source_entry("mzs_schulen"))
    return crawl(tmp, "mzs_schulen", SNAPSHOTS, sources_file, runs=2)


def test_mzs_record_count(mzs_crawl) -> None:
    (first, second), records = mzs_crawl
    assert first["status"] == "success", first
    assert first["items"] == MZS_COUNT
    assert len(records) == MZS_COUNT
    assert first["stats"]["dropped"] == {}
    assert first["stats"]["errors"]["log_errors"] == 0
    assert second["stats"]["outcomes"] == {"unchanged": MZS_COUNT}


def test_mzs_matches_hand_written_records(mzs_crawl) -> None:
    _events, records = mzs_crawl
    exp = json.loads(
        (REPO / "tests" / "expected" / "mzs_schulen.expected.json").read_text(encoding="utf-8")
    )
    by_key = {r.source_key: r for r in records}
    assert len(exp["records"]) >= 5
    for want in exp["records"]:
        got = by_key.get(want["source_key"])
        assert got is not None, want["source_key"]
        assert got.fields == want["fields"], want["source_key"]
        assert got.url == exp["url"]
        assert got.fetched_at == NOW


def test_mzs_never_extracts_workflow_notes(mzs_crawl) -> None:
    _events, records = mzs_crawl
    for record in records:
        text = json.dumps(record.fields, ensure_ascii=False)
        assert "Ehrung" not in text and "Bewerbung" not in text and "Solka" not in text


# -- synthetic files -----------------------------------------------------------------------


def fixture_source(tmp_path: Path, files: dict[str, bytes], **csv: Any) -> tuple[Path, Path]:
    """A csv source ``csv_fixture`` (mzs_schulen's rules) serving ``files`` on FIXTURE_HOST."""
    snapshots = tmp_path / "snapshots"
    host = snapshots / "csv_fixture" / FIXTURE_HOST
    for path, body in files.items():
        (host / path).parent.mkdir(parents=True, exist_ok=True)
        (host / path).write_bytes(body)
    (host / "robots.txt").write_text("User-agent: *\nDisallow:\n", encoding="utf-8")
    entry = source_entry("mzs_schulen")
    entry["id"] = "csv_fixture"
    entry["start_urls"] = [f"https://{FIXTURE_HOST}/{path}" for path in files]
    entry["csv"].update(csv)
    return snapshots, write_sources(tmp_path, entry)


def test_missing_column_duplicates_and_empty_names(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    rows = [
        "Organisationsname,Straße,Postleitzahl,Stadt,Bundesland,Land",  # no Schultyp
        "Testschule Eins,Weg 1,1067,Dresden,SN,Deutschland",
        "  Testschule   Eins ,Weg 1 (Doppel),1067 ,Dresden,SN,Deutschland",  # same key
        ",Weg 3,04103,Leipzig,SN,Deutschland",  # no name: no title
        "Testschule Zwei,Weg 2,04103,Leipzig,SN,Deutschland",
    ]
    body = ("\n".join(rows) + "\n").encode("utf-8")
    snapshots, sources_file = fixture_source(tmp_path, {"a.csv": body, "b.csv": body})
    (event,), records = crawl(tmp_path, "csv_fixture", snapshots, sources_file)
    assert event["status"] == "success", event
    assert sorted(r.source_key for r in records) == [
        "Testschule Eins|1067",
        "Testschule Zwei|04103",
    ]
    # per file: 1 duplicate + 1 without title; the second file repeats both keys
    assert event["stats"]["dropped"] == {"duplicate_key": 4, "no_title": 2}
    assert all("school_type" not in r.fields for r in records)
    first = next(r for r in records if r.source_key == "Testschule Eins|1067")
    assert first.fields["street"] == "Weg 1"  # the first row with a key wins
    err = capfd.readouterr().err
    assert "has no column 'Schultyp'" in err
    assert f"'{MISSING_COLUMN_STAT}': 2" in err  # once per file


def test_wrongly_declared_encoding_falls_back(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    text = (
        HEADER
        + "\nGrundschule Möckern,Straße der Einheit 5,04159,Leipzig,,,Grundschule,SN,Deutschland,\n"
    )
    snapshots, sources_file = fixture_source(
        tmp_path, {"cp.csv": text.encode("cp1252")}, encoding="utf-8"
    )
    (event,), records = crawl(tmp_path, "csv_fixture", snapshots, sources_file)
    assert [r.fields["title"] for r in records] == ["Grundschule Möckern"]
    assert records[0].fields["street"] == "Straße der Einheit 5"
    err = capfd.readouterr().err
    assert f"'{ENCODING_FALLBACK_STAT}': 1" in err


def test_semicolon_cp1252_with_preamble(tmp_path: Path) -> None:
    text = (
        "Stand: 2020\n"
        + HEADER.replace(",", ";")
        + "\nSchule Süd;Weg 9;99084;Erfurt;;;Gymnasium;TH;Deutschland;\n"
    )
    snapshots, sources_file = fixture_source(
        tmp_path, {"s.csv": text.encode("cp1252")}, encoding="cp1252", delimiter=";", skip_rows=1
    )
    (event,), records = crawl(tmp_path, "csv_fixture", snapshots, sources_file)
    assert event["status"] == "success", event
    assert [r.source_key for r in records] == ["Schule Süd|99084"]
    assert records[0].fields["school_type"] == "Gymnasium"


# -- helpers in process --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "declared", "text", "fallback"),
    [
        ("Straße".encode(), "utf-8", "Straße", None),
        ("\ufeffStraße".encode(), "utf-8", "Straße", None),
        ("\ufeffStraße".encode(), "utf-8-sig", "Straße", None),
        ("Straße".encode("cp1252"), "utf-8", "Straße", "cp1252"),
        ("Straße".encode("cp1252"), "cp1252", "Straße", None),
    ],
)
def test_decode_body(body: bytes, declared: str, text: str, fallback: str | None) -> None:
    assert decode_body(body, declared) == (text, fallback)


@pytest.mark.parametrize(
    ("row", "key"),
    [
        ({"a": " X  Y ", "b": "0123"}, "X Y|0123"),
        ({"a": "X", "b": ""}, "X|"),
        ({"a": " ", "b": ""}, None),
        ({}, None),
    ],
)
def test_row_key(row: dict[str, str], key: str | None) -> None:
    assert row_key(row, ["a", "b"]) == key


def test_read_rows_adds_extra_columns_and_tolerates_short_rows() -> None:
    header, rows = read_rows("a,b\n1,2\n3\n", ",", {"Auszeichnung": "Digitale Schule"})
    assert header == ["a", "b", "Auszeichnung"]
    assert list(rows) == [
        {"a": "1", "b": "2", "Auszeichnung": "Digitale Schule"},
        {"a": "3", "b": "", "Auszeichnung": "Digitale Schule"},
    ]


def test_missing_columns_lists_each_once() -> None:
    class Rule:
        def __init__(self, column: str | None) -> None:
            self.column = column

    rules = {"title": Rule("Name"), "plz": Rule("PLZ"), "x": Rule(None), "y": Rule("PLZ")}
    assert missing_columns(["Name"], rules, ["Name", "PLZ", "Ort"]) == ["PLZ", "Ort"]
