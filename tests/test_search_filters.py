"""Search contract extension: grade, place + radius, dates, sorting, synonyms, compounds,
typo corrections ("Meinten Sie …?") and the new hit fields."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from catalog.search import (
    SYNONYMS,
    SearchDoc,
    SearchIndex,
    SearchQuery,
    SearchResult,
    haversine_km,
    query_words,
)
from normalize.record import NormalizedOffer
from webapp.pipeline import _search_doc

LEIPZIG = (51.3397, 12.3731)
HALLE = (51.4825, 11.9706)  # ~32 km from Leipzig
DRESDEN = (51.0504, 13.7373)  # ~100 km
BERLIN = (52.5200, 13.4050)  # ~150 km
# inside the 40 km bounding box around Leipzig but ~48 km away (the box's corner)
CORNER = (51.3397 + 0.30, 12.3731 + 0.45)
TODAY = date(2026, 11, 26)


def doc(cid: str, title: str, **kw: object) -> SearchDoc:
    return SearchDoc(cluster_id=cid, title=title, **kw)  # type: ignore[arg-type]


DOCS = [
    doc("p01", "Roboter-AG", lat=LEIPZIG[0], lon=LEIPZIG[1], city="Leipzig",
        subjects=["informatik"], bundesland="Sachsen", age_min=10, age_max=13,
        start=date(2026, 12, 5), end=date(2026, 12, 5), free=True),
    doc("p02", "Physik-Show", lat=HALLE[0], lon=HALLE[1], city="Halle",
        subjects=["physik"], bundesland="Sachsen-Anhalt", grade_min=5, grade_max=7,
        start=date(2026, 11, 1), end=date(2026, 12, 20)),
    doc("p03", "Chemie im Schülerlabor", lat=DRESDEN[0], lon=DRESDEN[1], city="Dresden",
        subjects=["chemie"], bundesland="Sachsen", grade_min=9, grade_max=12,
        start=date(2026, 10, 1), end=date(2026, 10, 2)),
    doc("p04", "Sternwarte Berlin", lat=BERLIN[0], lon=BERLIN[1], city="Berlin",
        subjects=["astronomie"], bundesland="Berlin", start=date(2027, 1, 10)),
    doc("p05", "Programmierkurs Scratch", lat=LEIPZIG[0], lon=LEIPZIG[1], city="Leipzig",
        subjects=["informatik"], bundesland="Sachsen", description="Coding für Kinder."),
    doc("p06", "Mathe online", subjects=["mathematik"]),
    doc("p07", "Forschen am Waldrand", lat=CORNER[0], lon=CORNER[1], subjects=["umwelt"],
        bundesland="Sachsen", start=date(2026, 9, 1), end=date(2026, 9, 3)),
    doc("p08", "Mentoring für Schülerinnen", subjects=["technik"], girls=True, age_min=14,
        age_max=18),
    doc("p09", "Feriencamp Elektronik", subjects=["technik"], formats=["ferien"],
        lat=HALLE[0], lon=HALLE[1]),
    doc("p10", "Roboterbau für Einsteiger", subjects=["technik"],
        start=date(2026, 12, 1), end=date(2026, 12, 1)),
]  # fmt: skip


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> SearchIndex:
    return SearchIndex.build(tmp_path_factory.mktemp("idx"), DOCS)


def run(index: SearchIndex, q: str = "", **kw: object) -> SearchResult:
    return index.search(SearchQuery(q=q, per_page=100, **kw))  # type: ignore[arg-type]


def ids(result: SearchResult) -> list[str]:
    return [h.cluster_id for h in result.hits]


def all_pages(index: SearchIndex, per_page: int, **kw: object) -> list[str]:
    out: list[str] = []
    for page in range(1, 20):
        result = index.search(SearchQuery(per_page=per_page, page=page, **kw))  # type: ignore[arg-type]
        out += ids(result)
        if not result.hits:
            break
    return out


def test_haversine() -> None:
    assert haversine_km(LEIPZIG, LEIPZIG) == 0
    assert 31 < haversine_km(LEIPZIG, HALLE) < 33
    assert 99 < haversine_km(LEIPZIG, DRESDEN) < 102
    assert 45 < haversine_km(LEIPZIG, CORNER) < 50


def test_grade_filter_uses_grades_or_mapped_ages(index: SearchIndex) -> None:
    # p01 ages 10-13 -> grades 4-8; p02 grades 5-7; p03 grades 9-12; p08 ages 14-18 -> 8-13
    grade7 = set(ids(run(index, grade=7)))
    assert {"p01", "p02"} <= grade7
    assert not {"p03", "p08"} & grade7
    assert "p06" in grade7  # no age information at all: kept, like the age filter
    grade10 = set(ids(run(index, grade=10)))
    assert {"p03", "p08"} <= grade10 and not {"p01", "p02"} & grade10


def test_radius_filter_is_exact_and_counts_agree(index: SearchIndex) -> None:
    result = run(index, near=LEIPZIG, radius_km=40)
    assert set(ids(result)) == {"p01", "p05", "p02", "p09"}  # not the box corner p07
    assert result.total == 4
    assert sum(result.facets["bundesland"].values()) == 3  # p09 has no Bundesland
    assert result.facets["bundesland"] == {"Sachsen": 2, "Sachsen-Anhalt": 1}
    assert set(ids(run(index, near=LEIPZIG, radius_km=50))) == {
        "p01", "p05", "p02", "p09", "p07"
    }  # fmt: skip
    assert set(ids(run(index, near=LEIPZIG, radius_km=1))) == {"p01", "p05"}
    assert run(index, near=(0.0, 0.0), radius_km=10).total == 0
    # no radius: near only measures distances
    assert run(index, near=LEIPZIG).total == len(DOCS)


def test_distance_sort_and_distances(index: SearchIndex) -> None:
    result = run(index, near=LEIPZIG, sort="distance")
    order = ids(result)
    assert result.total == len(DOCS)
    assert set(order[:2]) == {"p01", "p05"}
    assert set(order[2:4]) == {"p02", "p09"}
    assert order[4:7] == ["p07", "p03", "p04"]
    assert set(order[7:]) == {"p06", "p08", "p10"}  # without a place: last
    distances = [h.distance_km for h in result.hits]
    located = [d for d in distances if d is not None]
    assert located == sorted(located) and len(located) == 7
    assert distances[0] == 0.0 and 31 < (distances[2] or 0) < 33
    for per_page in (1, 2, 3, 4):
        assert all_pages(index, per_page, near=LEIPZIG, sort="distance") == order
    # with a radius and a query word
    assert ids(run(index, "Roboter", near=DRESDEN, sort="distance")) == ["p01", "p10"]


def test_distance_sort_without_place_falls_back_to_relevance(index: SearchIndex) -> None:
    assert ids(run(index, "Roboter", sort="distance")) == ids(run(index, "Roboter"))


def test_date_filters(index: SearchIndex) -> None:
    december = set(ids(run(index, date_from=date(2026, 12, 1), date_to=date(2026, 12, 31))))
    undated = {"p05", "p06", "p08", "p09"}
    assert december == {"p01", "p02", "p10"} | undated
    only = set(
        ids(run(index, date_from=date(2026, 12, 1), date_to=date(2026, 12, 31), dated_only=True))
    )
    assert only == {"p01", "p02", "p10"}
    assert set(ids(run(index, date_from=date(2027, 1, 1), dated_only=True))) == {"p04"}
    assert set(ids(run(index, date_to=date(2026, 9, 30), dated_only=True))) == {"p07"}
    assert set(ids(run(index, dated_only=True))) == {f"p0{i}" for i in (1, 2, 3, 4, 7)} | {"p10"}


def test_date_sort_upcoming_then_past_then_undated(index: SearchIndex) -> None:
    result = run(index, sort="date", today=TODAY, include_past=True)
    order = ids(result)
    assert result.total == len(DOCS)
    # running (p02 since 1 Nov) and upcoming by start, then past (latest first), then undated
    assert order[:4] == ["p02", "p10", "p01", "p04"]
    assert order[4:6] == ["p03", "p07"]
    assert set(order[6:]) == {"p05", "p06", "p08", "p09"}
    for per_page in (1, 3, 4):
        assert all_pages(index, per_page, sort="date", today=TODAY, include_past=True) == order


def test_past_events_drop_out_when_today_is_given(index: SearchIndex) -> None:
    shown = ids(run(index, today=TODAY))
    assert "p03" not in shown and "p07" not in shown  # ended before TODAY
    assert {"p02", "p10", "p01", "p04"} <= set(shown)  # running and upcoming stay
    assert {"p05", "p06", "p08", "p09"} <= set(shown)  # undated entries stay
    assert {"p03", "p07"} <= set(ids(run(index, today=TODAY, include_past=True)))
    assert {"p03", "p07"} <= set(ids(run(index)))  # no today: nothing is judged past
    # without today: every dated entry by start, then undated
    assert ids(run(index, sort="date"))[:6] == ["p07", "p03", "p02", "p10", "p01", "p04"]


def test_hit_fields(index: SearchIndex) -> None:
    hit = run(index, "Roboter-AG", near=HALLE).hits[0]
    assert hit.cluster_id == "p01"
    assert (hit.start, hit.end) == (date(2026, 12, 5), date(2026, 12, 5))
    assert (hit.age_min, hit.age_max, hit.grade_min, hit.grade_max) == (10, 13, None, None)
    assert hit.free is True and hit.girls is False
    assert hit.distance_km is not None and 31 < hit.distance_km < 33
    berlin = run(index, "Sternwarte").hits[0]
    assert (berlin.start, berlin.end) == (date(2027, 1, 10), date(2027, 1, 10))
    assert berlin.distance_km is None


def test_synonyms(index: SearchIndex) -> None:
    assert "p05" in ids(run(index, "Coding"))  # description says "Coding"; and back:
    assert "p05" in ids(run(index, "Programmieren"))  # "Programmierkurs" (compound part)
    assert set(ids(run(index, "Informatik"))) == {"p01", "p05"}
    assert "p08" in ids(run(index, "Mädchen"))  # Schülerinnen
    assert "p09" in ids(run(index, "Ferienkurs"))  # Feriencamp
    assert "p04" in ids(run(index, "Astronomie"))
    # the word itself ranks above its synonyms
    result = run(index, "Sternwarte")
    assert ids(result)[0] == "p04"
    assert all(isinstance(v, list) for v in SYNONYMS.values())


def test_compound_parts(index: SearchIndex) -> None:
    assert "p03" in ids(run(index, "Labor"))  # Schülerlabor
    assert "p10" in ids(run(index, "Roboter"))  # Roboterbau
    assert "p10" in ids(run(index, "Bau"))
    assert "p03" in ids(run(index, "Schülerlabor"))
    assert "p09" in ids(run(index, "Camp"))  # Feriencamp
    words = query_words("Schülerlabor")
    assert words[0].parts == ("schul", "labor")


def test_typos_find_results_and_a_suggestion(index: SearchIndex) -> None:
    for typo, fixed, cid in [
        ("Phisik", "Physik", "p02"),
        ("Scrtach", "Scratch", "p05"),
        ("Sternwrate", "Sternwarte", "p04"),
        ("Mahte", "Mathe", "p06"),
    ]:
        result = run(index, typo)
        assert result.suggestion == fixed, typo
        assert cid in ids(result), typo
    assert run(index, "Physik").suggestion is None
    assert run(index, "Robo").suggestion is None  # a prefix being typed is no typo
    assert run(index, "xqzvwk").suggestion is None
    assert run(index, "Phisik Halle").suggestion == "Physik Halle"
    # a suggestion is only offered if it finds something under the same filters
    assert run(index, "Phisik", subjects=["chemie"]).suggestion is None


@pytest.mark.parametrize(
    "query",
    [
        SearchQuery(near=(math.nan, 1.0), radius_km=10),
        SearchQuery(near=(1e308, -1e308), radius_km=10),
        SearchQuery(near=(91.0, 0.0), sort="distance"),
        SearchQuery(near="Leipzig", radius_km="x"),  # type: ignore[arg-type]
        SearchQuery(near=LEIPZIG, radius_km=-5),
        SearchQuery(near=LEIPZIG, radius_km=math.inf),
        SearchQuery(near=(True, False), sort="distance"),  # type: ignore[arg-type]
        SearchQuery(grade=-3),
        SearchQuery(grade=10**40),
        SearchQuery(grade="7"),  # type: ignore[arg-type]
        SearchQuery(date_from="2026-01-01", date_to=[1]),  # type: ignore[arg-type]
        SearchQuery(date_from=date(2030, 1, 1), date_to=date(2020, 1, 1)),
        SearchQuery(date_from=date.min, date_to=date.max, dated_only=True),
        SearchQuery(sort="bogus"),
        SearchQuery(sort=None, today="heute"),  # type: ignore[arg-type]
        SearchQuery(sort="date", page=10**6),
        SearchQuery(q="Phisik" * 200),
    ],
)
def test_hostile_extension_parameters_never_raise(index: SearchIndex, query: SearchQuery) -> None:
    assert isinstance(index.search(query), SearchResult)


def test_search_doc_takes_the_members_dates() -> None:
    def offer(key: str, start: date | None, end: date | None) -> NormalizedOffer:
        return NormalizedOffer(
            source_id="s", source_key=key, title="T", start=start, end=end
        )  # fmt: skip

    row = {
        "id": "c1", "title": "T", "provider": None, "city": None, "plz": None,
        "bundesland": None, "subjects": [], "formats": [], "platforms": ["s"],
        "lat": None, "lon": None,
    }  # fmt: skip
    members = [
        offer("a", date(2026, 12, 3), None),
        offer("b", date(2026, 11, 30), date(2026, 12, 2)),
        offer("c", None, None),
    ]
    sd = _search_doc(row, members)
    assert (sd.start, sd.end) == (date(2026, 11, 30), date(2026, 12, 2))
    assert (_search_doc(row, [members[2]]).start, _search_doc(row, [members[0]]).end) == (
        None,
        date(2026, 12, 3),
    )


def test_rebuild_keeps_vocabulary_per_generation(tmp_path: Path) -> None:
    first = SearchIndex.build(tmp_path, [doc("a", "Physik")])
    assert first.search(SearchQuery(q="Phisik")).suggestion == "Physik"
    second = SearchIndex.build(tmp_path, [doc("b", "Chemie")])
    assert second.search(SearchQuery(q="Chemei")).suggestion == "Chemie"
    assert second.search(SearchQuery(q="Phisik")).suggestion is None


def test_index_of_another_schema_is_reported_not_searched(tmp_path: Path) -> None:
    import tantivy

    from catalog.search import IndexNotFoundError, IndexOutdatedError

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("cluster_id", stored=True)
    (tmp_path / "gen-1").mkdir()
    old = tantivy.Index(builder.build(), path=str(tmp_path / "gen-1"))
    old.writer().commit()
    (tmp_path / "CURRENT").write_text("gen-1\n")
    with pytest.raises(IndexOutdatedError, match="rebuild"):
        SearchIndex.open(tmp_path)
    assert issubclass(IndexOutdatedError, IndexNotFoundError)
    fresh = SearchIndex.build(tmp_path, [doc("a", "Physik")])  # a rebuild fixes it
    assert fresh.search(SearchQuery(q="Physik")).total == 1


def test_search_doc_description_does_not_depend_on_the_hash_seed() -> None:
    # Equally long descriptions of one cluster's members: the index must get the same one
    # in every process (set iteration order changes with PYTHONHASHSEED).
    script = (
        "from webapp.pipeline import _search_doc\n"
        "from normalize.record import NormalizedOffer\n"
        "row = {'id': 'c1', 'title': 'T', 'provider': None, 'city': None, 'plz': None,"
        " 'bundesland': None, 'subjects': [], 'formats': [], 'platforms': ['s'],"
        " 'lat': None, 'lon': None}\n"
        "texts = [f'Beschreibung {c}' for c in 'ABCDEFGH']\n"
        "members = [NormalizedOffer(source_id='s', source_key=t, title='T', description=t)"
        " for t in texts]\n"
        "print(_search_doc(row, members).description)\n"
    )
    chosen = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in range(6)
    }
    assert chosen == {"Beschreibung H"}
