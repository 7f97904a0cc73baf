"""parse_audience: hand-checked expectations for real target-group strings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from normalize.audience import Audience, effective_grades, parse_audience, stage_grades

DATA = Path(__file__).parent / "data" / "normalize"
LEIPZIG = json.loads((DATA / "audience_leipzig.json").read_text(encoding="utf-8"))["cases"]


def _params(cases: list[dict]) -> list:
    params = []
    for case in cases:
        marks = [pytest.mark.xfail(reason=case["xfail"], strict=True)] if "xfail" in case else []
        params.append(pytest.param(case, id=case["text"][:60], marks=marks))
    return params


def _check(result: Audience, case: dict) -> None:
    got = {
        "age_min": result.age_min,
        "age_max": result.age_max,
        "grade_min": result.grade_min,
        "grade_max": result.grade_max,
        "groups": sorted(result.groups),
        "girls": result.girls,
    }
    want = {k: case[k] for k in got}
    want["groups"] = sorted(want["groups"])
    assert got == want


@pytest.mark.parametrize("case", _params(LEIPZIG))
def test_leipzig_zielgruppen(case: dict) -> None:
    _check(parse_audience(case["text"]), case)


# (text, age_min, age_max, grade_min, grade_max, groups, girls), written by hand
OTHER = [
    # komm-mach-mint filter form, select name=audience (KommMachMINT-Kuerzel.xml)
    ("Akademiker/innen", None, None, None, None, ["erwachsene"], False),
    ("Auszubildende", None, None, None, None, ["auszubildende"], False),
    ("Berufseinsteiger/innen", None, None, None, None, ["erwachsene"], False),
    ("Berufstätige", None, None, None, None, ["erwachsene"], False),
    ("Eltern", None, None, None, None, ["familien"], False),
    ("Engagierte", None, None, None, None, [], False),
    ("Lehrkräfte", None, None, None, None, ["lehrkraefte"], False),
    ("Schüler/innen", None, None, None, None, ["schueler"], False),
    ("Student/innen", None, None, None, None, ["studierende"], False),
    # komm-mach-mint rows list several labels
    ("Auszubildende, Schüler/innen", None, None, None, None, ["auszubildende", "schueler"], False),
    (
        "Lehrkräfte, Schüler/innen, Student/innen",
        None,
        None,
        None,
        None,
        ["lehrkraefte", "schueler", "studierende"],
        False,
    ),
    # examples from issue 3
    ("5-10 Jahre", 5, 10, None, None, [], False),
    ("ab 8", 8, None, None, None, [], False),
    ("bis 14", None, 14, None, None, [], False),
    ("zw. 8 und 12", 8, 12, None, None, [], False),
    ("10- bis 16-Jährige", 10, 16, None, None, [], False),
    ("Klasse 5 - 12", None, None, 5, 12, ["schueler"], False),
    ("ab Klassenstufe 9", None, None, 9, None, ["schueler"], False),
    ("9. bis 12.", None, None, 9, 12, ["schueler"], False),
    ("1.-4. Klasse", None, None, 1, 4, ["schueler"], False),
    ("Mädchen und junge Frauen von 12 bis 18 Jahren", 12, 18, None, None, [], True),
    ("Mädchen und Jungen ab 6 Jahren", 6, None, None, None, [], False),
    ("Kinder (6-12 Jahre) mit ihren Eltern", 6, 12, None, None, ["kinder", "familien"], False),
    ("SchülerInnen der Oberstufe", None, None, None, None, ["schueler", "sek2"], False),
    (
        "Kinder bis Grundschulalter (10 Jahre)",
        None,
        10,
        None,
        None,
        ["kinder", "grundschule"],
        False,
    ),
    ("seit 5 Jahren für Schüler/innen", None, None, None, None, ["schueler"], False),
    ("", None, None, None, None, [], False),
]


@pytest.mark.parametrize(
    "text,age_min,age_max,grade_min,grade_max,groups,girls", OTHER, ids=[o[0] for o in OTHER]
)
def test_other_strings(text, age_min, age_max, grade_min, grade_max, groups, girls) -> None:
    _check(
        parse_audience(text),
        {
            "age_min": age_min,
            "age_max": age_max,
            "grade_min": grade_min,
            "grade_max": grade_max,
            "groups": groups,
            "girls": girls,
        },
    )


def test_list_input_is_joined() -> None:
    result = parse_audience(["Schüler/innen", "Lehrkräfte"])
    assert sorted(result.groups) == ["lehrkraefte", "schueler"]


def test_none_gives_empty() -> None:
    assert parse_audience(None) == Audience()


def test_stage_conventions() -> None:
    assert stage_grades("grundschule") == (1, 4)
    assert stage_grades("grundschule", "Berlin") == (1, 6)
    assert stage_grades("grundschule", "Brandenburg") == (1, 6)
    assert stage_grades("sek1") == (5, 10)
    assert stage_grades("kinder") is None
    assert effective_grades(parse_audience("Grundschule")) == (1, 4)
    assert effective_grades(parse_audience("Klassen 3 - 6")) == (3, 6)
    assert effective_grades(parse_audience("Kinder")) == (None, None)
    # the parsed grades themselves stay None for named stages
    assert parse_audience("Grundschule").grade_min is None
