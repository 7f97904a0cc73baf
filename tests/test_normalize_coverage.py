"""normalize.coverage: per-source coverage and unmapped values."""

from __future__ import annotations

from normalize import NormalizedOffer
from normalize.coverage import coverage_report


def _offer(source_id: str, key: str, **values) -> NormalizedOffer:
    return NormalizedOffer(source_id=source_id, source_key=key, title=f"T {key}", **values)


def test_coverage_report() -> None:
    offers = [
        _offer("a", "1", lat=51.0, lon=12.0, subjects=["chemie"], cost_kind="free", price_eur=0.0,
               unmapped={"tags": ["GTA", "BehiGe"]}),
        _offer("a", "2", grade_min=5, formats=["ag"], unmapped={"tags": ["GTA"]}),
        _offer("a", "3"),
        _offer("a", "4", age_max=14),
        _offer("b", "1", lat=50.0, lon=11.0, girls=True),
    ]  # fmt: skip
    report = {c.source_id: c for c in coverage_report(offers)}
    assert list(report) == ["a", "b", "*"]
    a = report["a"]
    assert a.offers == 4
    assert a.headline == {
        "coordinates": 25.0,
        "subject": 25.0,
        "format": 25.0,
        "ages_or_grades": 50.0,
        "cost_kind_known": 25.0,
    }
    assert a.fields["title"] == 100.0
    assert a.fields["girls"] == 0.0
    assert a.fields["cost_kind"] == 25.0  # "unknown" is no value
    assert a.unmapped == {"tags": [("GTA", 2), ("BehiGe", 1)]}
    assert report["b"].fields["girls"] == 100.0
    assert report["*"].offers == 5
    assert report["*"].headline["coordinates"] == 40.0


def test_empty() -> None:
    assert [(c.source_id, c.offers) for c in coverage_report([])] == [("*", 0)]


def test_unread_raw_fields() -> None:
    from datetime import UTC, datetime

    from crawlers.records import RawRecord
    from normalize.coverage import RawFieldUse, unread_raw_fields

    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    records = [
        # values as in the leipzig_mint_orte snapshot (ld:GTA, ld:Teilnehmerzahl)
        RawRecord.make("orte", "1", "u", now, {"title": "A", "gta": "ja", "participants": "30"}),
        RawRecord.make("orte", "2", "u", now, {"title": "B", "gta": "ja", "participants": ""}),
        RawRecord.make("orte", "3", "u", now, {"title": "C", "gta": "nein"}),
        RawRecord.make("orte", "4", "u", now, {"title": "D", "tags": ["GTA"]}),
        RawRecord.make("mzs", "1", "u", now, {"title": "E", "school_type": ["Gymnasium", " "]}),
        RawRecord.make("kmm", "1", "u", now, {"title": "F", "costs": "keine"}),
    ]
    report = unread_raw_fields(records, top=1)
    assert report == {
        "kmm": [],
        "mzs": [RawFieldUse("school_type", 100.0, [("Gymnasium", 1)])],
        "orte": [RawFieldUse("participants", 25.0, [("30", 1)])],  # gta is read
    }
