"""parse_costs: hand-checked expectations for real cost strings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from normalize.costs import COST_KINDS, Costs, parse_costs

DATA = Path(__file__).parent / "data" / "normalize"
LEIPZIG = json.loads((DATA / "costs_leipzig.json").read_text(encoding="utf-8"))["cases"]


def _params(cases: list[dict]) -> list:
    params = []
    for case in cases:
        marks = [pytest.mark.xfail(reason=case["xfail"], strict=True)] if "xfail" in case else []
        params.append(pytest.param(case, id=case["text"][:60], marks=marks))
    return params


@pytest.mark.parametrize("case", _params(LEIPZIG))
def test_leipzig_kosten(case: dict) -> None:
    result = parse_costs(case["text"])
    got = {
        "kind": result.kind,
        "price_eur": result.price_eur,
        "price_max_eur": result.price_max_eur,
        "reduced_eur": result.reduced_eur,
        "minimum_eur": result.minimum_eur,
    }
    want = {k: case[k] for k in got}
    assert got == want


# (text, kind, price_eur), written by hand: examples from issue 3 and common forms
OTHER = [
    ("kostenlos", "free", 0.0),
    ("keine", "free", 0.0),
    ("0 €", "free", 0.0),
    ("Eintritt frei", "free", 0.0),
    ("Spende", "donation", None),
    ("gegen Spende", "donation", None),
    ("nach Absprache", "on_request", None),
    ("auf Anfrage", "on_request", None),
    ("ab 3 Euro", "paid", 3.0),
    ("3 Euro / 1 Euro (ermäßigt)", "paid", 3.0),
    ("2 Euro, mind. jedoch 100 Euro", "paid", 2.0),
    ("2.50 bis 4.00 Euro pro Schüler", "paid", 2.5),
    ("€ 12,50", "paid", 12.5),
    ("15,- EUR", "paid", 15.0),
    ("Teilnahmegebühr 1.200 Euro", "paid", 1200.0),
    ("Mitglieder 5 Euro, Nichtmitglieder 8 Euro", "paid", 8.0),
    ("", "unknown", None),
    ("siehe Website", "unknown", None),
]


@pytest.mark.parametrize("text,kind,price", OTHER, ids=[o[0] or "<empty>" for o in OTHER])
def test_other_strings(text: str, kind: str, price: float | None) -> None:
    result = parse_costs(text)
    assert (result.kind, result.price_eur) == (kind, price)


def test_parts_kept_separately() -> None:
    result = parse_costs(
        "2 Euro (Mindestgebühr 40 Euro) zzgl. Eintritt: 6 Euro, ermäßigt: 3 Euro; "
        "Kinder bis fünf Jahre frei"
    )
    assert result.extras_eur == [6.0]
    assert result.reduced_eur == [3.0]
    assert result.minimum_eur == 40.0
    assert parse_costs("kostenfrei (eigene Anreise)").notes == ["eigene Anreise"]


def test_kinds_closed() -> None:
    assert set(COST_KINDS) == {"free", "paid", "donation", "on_request", "unknown"}
    assert parse_costs(None) == Costs()
