"""German full-text search: analysis, ranking, facets, filters, paging, rebuilds, hostile input."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog import search as catalog_search
from catalog.search import (
    MAX_PER_PAGE,
    IndexNotFoundError,
    SearchDoc,
    SearchIndex,
    SearchQuery,
    SearchResult,
    query_words,
)


def doc(cid: str, title: str, **kw: object) -> SearchDoc:
    return SearchDoc(cluster_id=cid, title=title, **kw)  # type: ignore[arg-type]


DOCS = [
    doc("c01", "Roboter bauen und programmieren", provider="TU Dresden", city="Dresden",
        bundesland="Sachsen", subjects=["informatik", "technik"], formats=["workshop"],
        platforms=["komm_mach_mint"], description="Mit LEGO bauen Kinder ihre ersten Roboter.",
        age_min=10, age_max=14, free=True),
    doc("c02", "Schülerlabor Chemie", provider="Universität Leipzig", city="Leipzig",
        bundesland="Sachsen", subjects=["chemie"], formats=["schuelerlabor"],
        platforms=["leipzig_data"], description="Schüler experimentieren mit Säuren und Basen.",
        grade_min=7, grade_max=10),
    doc("c03", "Mädchen-Technik-Kongress", provider="Hochschule Merseburg", city="Merseburg",
        bundesland="Sachsen-Anhalt", subjects=["technik"], formats=["veranstaltung"],
        platforms=["komm_mach_mint", "mint_sachsen_anhalt"],
        description="Ein Tag voller Workshops nur für Mädchen.", girls=True, free=True,
        age_min=12, age_max=18),
    doc("c04", "Astronomie-AG", provider="Schulsternwarte Jena", city="Jena",
        bundesland="Thüringen", subjects=["astronomie", "physik"], formats=["ag"],
        platforms=["mint_thueringen"], description="Sterne beobachten an der Sternwarte.",
        grade_min=5, grade_max=12),
    doc("c05", "Ferienkurs Programmieren mit Python", provider="Code Club Halle", city="Halle",
        bundesland="Sachsen-Anhalt", subjects=["informatik"], formats=["ferien", "workshop"],
        platforms=["mint_sachsen_anhalt"], description="In den Sommerferien lernen Kinder "
        "programmieren. Treffpunkt: Große Straße 5.", age_min=11, age_max=15),
    doc("c06", "Mathe-Olympiade Sachsen", provider="Landeskomitee", city="Chemnitz",
        bundesland="Sachsen", subjects=["mathematik"], formats=["wettbewerb"],
        platforms=["komm_mach_mint"], description="Der Wettbewerb für Schülerinnen und Schüler.",
        grade_min=3, grade_max=13, free=True),
    doc("c07", "Robotik-Wettbewerb FIRST LEGO League", provider="HANDS on TECHNOLOGY",
        city="Leipzig", bundesland="Sachsen", subjects=["technik", "informatik"],
        formats=["wettbewerb"], platforms=["komm_mach_mint", "leipzig_data"],
        description="Teams bauen Robotern neue Aufgaben bei.", age_min=9, age_max=16),
    doc("c08", "Umweltdetektive im Auwald", provider="Auwaldstation", city="Leipzig",
        bundesland="Sachsen", subjects=["umwelt", "biologie"], formats=["workshop"],
        platforms=["leipzig_data"], description="Wir untersuchen Wasserproben im Wald.",
        age_min=8, age_max=12, free=True),
    doc("c09", "Physik zum Anfassen", provider="Phänomenta", city="Erfurt",
        bundesland="Thüringen", subjects=["physik"], formats=["museum"],
        platforms=["mint_thueringen"], description="Mitmach-Ausstellung mit 100 Stationen."),
    doc("c10", "Informatik-Schnupperstudium", provider="TU Ilmenau", city="Ilmenau",
        bundesland="Thüringen", subjects=["informatik"], formats=["studienorientierung"],
        platforms=["mint_thueringen"], description="Studieren ausprobieren in den Herbstferien.",
        grade_min=10, grade_max=13, free=True),
    doc("c11", "Biologie-Camp", provider="Zoo Magdeburg", city="Magdeburg",
        bundesland="Sachsen-Anhalt", subjects=["biologie"], formats=["ferien"],
        platforms=["mint_sachsen_anhalt"], description="Tiere pflegen und beobachten."),
    doc("c12", "Geologie-Exkursion", provider="Bergakademie Freiberg", city="Freiberg",
        bundesland="Sachsen", subjects=["geowissenschaften"], formats=["veranstaltung"],
        platforms=["komm_mach_mint"], description="Gesteine und Mineralien in der Grube."),
    doc("c13", "Elektronik löten", provider="Makerspace Dresden", city="Dresden",
        bundesland="Sachsen", subjects=["technik"], formats=["workshop"],
        platforms=["komm_mach_mint"], description="Wir löten eine blinkende Schaltung.",
        age_min=12, age_max=99),
    doc("c14", "Mentoring für junge Frauen", provider="Hochschule Anhalt", city="Köthen",
        bundesland="Sachsen-Anhalt", subjects=["informatik", "technik"], formats=["mentoring"],
        platforms=["mint_sachsen_anhalt"], description="Studentinnen begleiten Schülerinnen.",
        girls=True, age_min=15, age_max=19),
    doc("c15", "Chemie-AG am Gymnasium", provider="Goethe-Gymnasium", city="Weimar",
        bundesland="Thüringen", subjects=["chemie"], formats=["ag"],
        platforms=["mint_thueringen"], description="Experimente jeden Donnerstag."),
    doc("c16", "Klimawerkstatt", provider="Umweltzentrum", city="Gera", bundesland="Thüringen",
        subjects=["umwelt"], formats=["workshop"], platforms=["mint_thueringen"],
        description="Klima verstehen: Messungen an der Straße vor der Schule."),
    doc("c17", "Programmierkurs Scratch", provider="Stadtbibliothek Leipzig", city="Leipzig",
        bundesland="Sachsen", subjects=["informatik"], formats=["workshop"],
        platforms=["leipzig_data"], description="Spiele programmieren für Einsteiger.",
        age_min=8, age_max=11, free=True),
    doc("c18", "Mathematik-Zirkel", provider="Universität Halle", city="Halle",
        bundesland="Sachsen-Anhalt", subjects=["mathematik"], formats=["ag"],
        platforms=["mint_sachsen_anhalt"], description="Knobelaufgaben für Schüler."),
    doc("c19", "Sternwarte Sonneberg", provider="Sternwarte Sonneberg", city="Sonneberg",
        bundesland="Thüringen", subjects=["astronomie"], formats=["museum"],
        platforms=["mint_thueringen"], description="Führungen durch die Sternwarte."),
    doc("c20", "Technikmuseum für Kinder", provider="Museum Sachsen", city="Chemnitz",
        bundesland="Sachsen", subjects=["technik"], formats=["museum"],
        platforms=["komm_mach_mint"], description="Dampfmaschinen, Webstühle und Roboterbau.",
        keywords=["Technik", "Museum"]),
]  # fmt: skip


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> SearchIndex:
    return SearchIndex.build(tmp_path_factory.mktemp("idx"), DOCS)


def ids(result: SearchResult) -> set[str]:
    return {h.cluster_id for h in result.hits}


def search(index: SearchIndex, q: str = "", **kw: object) -> SearchResult:
    return index.search(SearchQuery(q=q, per_page=100, **kw))  # type: ignore[arg-type]


def test_stemming(index: SearchIndex) -> None:
    # "Roboter" finds "Robotern" (c07, description only) and "Roboter" (c01)
    assert {"c01", "c07"} <= ids(search(index, "Roboter"))
    assert {"c01", "c07"} <= ids(search(index, "Robotern"))
    assert "c05" in ids(search(index, "Sommerferien"))
    assert "c04" in ids(search(index, "Stern"))  # Sterne -> stern
    assert "c11" in ids(search(index, "Tier"))  # Tiere -> tier


@pytest.mark.parametrize(
    "text",
    [
        "Schülerlabor Chemie: Säuren und Basen",
        "Roboterbau mit Robotern, Straße 5, MINT-Camp",
        "Mädchen-Technik-Kongress der Hochschule Merseburg",
        "Ferienakademie Informatik für Schülerinnen",
    ],
)
def test_stems_of_folded_words_equal_the_stems_of_the_text(text: str) -> None:
    # the build analyzes each folded word once (cached) instead of every text again
    words = catalog_search._FOLD.analyze(text)
    assert catalog_search._word_stems(words) == set(catalog_search._STEM.analyze(text))


def test_umlaut_and_sharp_s_folding(index: SearchIndex) -> None:
    assert {"c02", "c06", "c18"} <= ids(search(index, "Schuler"))
    assert {"c02", "c06", "c18"} <= ids(search(index, "Schüler"))
    assert {"c05", "c16"} <= ids(search(index, "Strasse"))
    assert {"c05", "c16"} <= ids(search(index, "Straße"))
    assert "c03" in ids(search(index, "Madchen"))
    assert "c13" in ids(search(index, "LOETEN")) or "c13" in ids(search(index, "loten"))
    assert "c02" in ids(search(index, "Sauren"))


def test_prefix_on_last_word(index: SearchIndex) -> None:
    assert {"c01", "c07"} <= ids(search(index, "Robo"))  # Roboter, Robotik
    # the prefix covers every field but the description (measured: 4x cheaper at 100k);
    # description compounds are reached through their parts
    assert "c20" not in ids(search(index, "Robo"))
    assert "c20" in ids(search(index, "Roboter"))  # "Roboterbau" = "Roboter" + "bau"
    assert {"c01", "c05", "c17"} <= ids(search(index, "Program"))
    # prefix only applies to the last word: "Robo Dresden" needs a whole word "robo"
    assert ids(search(index, "Robo Dresden")) == set()
    assert ids(search(index, "Dresden Robo")) == {"c01"}


def test_prefix_only_for_a_half_typed_last_word(index: SearchIndex) -> None:
    searcher = index._gen.searcher
    # "Chem" is no word of the index: its beginning matches (one term of the prefix field)
    assert catalog_search._typed_half(query_words("Chem")[0], searcher)
    assert {"c02", "c15"} <= ids(search(index, "Chem"))
    # a typed-out word is matched by its stem (and compound parts) only; too short: neither
    assert not catalog_search._typed_half(query_words("Chemie")[0], searcher)
    assert not catalog_search._typed_half(query_words("Ch")[0], searcher)
    assert ids(search(index, "Ch")) == set()


def test_synonyms_match_through_one_group_term_and_rank_below_the_word(
    index: SearchIndex,
) -> None:
    searcher = index._gen.searcher
    words = query_words("Mädchen")
    groups = catalog_search.GROUPS.of_stem[words[0].stem]
    token = catalog_search._group_token(groups[0])
    # every entry with a member of the group holds the group token: Mädchen (c03),
    # Schülerinnen (c06, c14)
    holders = searcher.search(
        catalog_search._term(catalog_search.SYNONYM_FIELD, token, scored=False), 100
    )
    assert {searcher.doc(a).get_first("cluster_id") for _, a in holders.hits} >= {
        "c03",
        "c06",
        "c14",
    }
    result = search(index, "Mädchen")
    assert {"c03", "c06", "c14"} <= ids(result)
    assert result.hits[0].cluster_id == "c03"  # the word itself (title) first


def test_typo_tolerance(index: SearchIndex) -> None:
    assert "c04" in ids(search(index, "Astronommie"))
    assert "c02" in ids(search(index, "Schueler"))


def test_all_words_must_match_and_fields_are_weighted(index: SearchIndex) -> None:
    assert ids(search(index, "Leipzig Chemie")) == {"c02"}
    result = search(index, "Sternwarte")
    # title match (c19) outranks provider (c04 provider + description)
    assert [h.cluster_id for h in result.hits][:1] == ["c19"]
    hits = search(index, "Technik").hits
    assert hits[0].cluster_id in {"c03", "c20"}  # title matches first
    assert "c13" in {h.cluster_id for h in hits}  # subject only


def test_hit_fields_and_snippet(index: SearchIndex) -> None:
    hit = search(index, "Roboter").hits[0]
    assert hit.cluster_id == "c01"
    assert hit.title == "Roboter bauen und programmieren"
    assert (hit.provider, hit.city) == ("TU Dresden", "Dresden")
    assert hit.subjects == ["informatik", "technik"] and hit.formats == ["workshop"]
    assert hit.platforms == ["komm_mach_mint"]
    assert "<b>Roboter</b>" in hit.snippet
    assert hit.score > 0


def test_snippet_is_escaped(tmp_path: Path) -> None:
    evil = doc("x1", "<script>alert(1)</script> Labor", description="<img src=x onerror=a()> Labor")
    idx = SearchIndex.build(tmp_path, [evil])
    hit = idx.search(SearchQuery(q="Labor")).hits[0]
    assert "<img" not in hit.snippet and "&lt;img" in hit.snippet
    plain = idx.search(SearchQuery()).hits[0]
    assert "<img" not in plain.snippet
    assert plain.title.startswith("<script>")  # stored verbatim; the template escapes


def test_empty_query_lists_all_by_title(index: SearchIndex) -> None:
    result = search(index, "")
    assert result.total == len(DOCS)
    titles = [h.title for h in result.hits]
    assert titles[0] == "Astronomie-AG" and titles[-1] == "Umweltdetektive im Auwald"
    assert titles.index("Mädchen-Technik-Kongress") < titles.index("Mathe-Olympiade Sachsen")
    assert search(index, "   ").total == len(DOCS)


def test_facets_are_disjunctive(index: SearchIndex) -> None:
    unfiltered = search(index)
    assert unfiltered.facets["bundesland"] == {"Sachsen": 9, "Thüringen": 6, "Sachsen-Anhalt": 5}
    assert unfiltered.facets["subjects"]["informatik"] == 6
    assert unfiltered.facets["platforms"]["komm_mach_mint"] == 7

    result = search(index, subjects=["informatik"])
    assert result.total == 6
    # the selected facet keeps its counts as if nothing were selected there
    assert result.facets["subjects"] == unfiltered.facets["subjects"]
    # the other facets count only informatik entries
    assert result.facets["bundesland"] == {"Sachsen": 3, "Sachsen-Anhalt": 2, "Thüringen": 1}

    both = search(index, subjects=["informatik", "chemie"], bundesland=["Sachsen"])
    assert ids(both) == {"c01", "c02", "c07", "c17"}
    assert both.facets["subjects"]["chemie"] == 1  # chemie in Sachsen
    assert both.facets["subjects"]["informatik"] == 3
    assert both.facets["bundesland"] == {"Sachsen": 4, "Sachsen-Anhalt": 2, "Thüringen": 2}

    with_text = search(index, "Roboter", subjects=["informatik"])
    assert ids(with_text) == {"c01", "c07"}
    assert with_text.facets["subjects"]["technik"] == 3  # c01, c07, c20 match "Roboter"

    missing = search(index, subjects=["gibtsnicht"])
    assert missing.total == 0 and missing.facets["subjects"]["gibtsnicht"] == 0


def test_filters(index: SearchIndex) -> None:
    assert ids(search(index, girls=True)) == {"c03", "c14"}
    assert ids(search(index, free=True)) == {"c01", "c03", "c06", "c08", "c10", "c17"}
    assert "c01" not in ids(search(index, free=False))
    assert ids(search(index, formats=["museum"], bundesland=["Thüringen"])) == {"c09", "c19"}
    assert ids(search(index, platforms=["leipzig_data"], q="Leipzig")) == {
        "c02",
        "c07",
        "c08",
        "c17",
    }
    age9 = ids(search(index, age=9))
    assert {"c07", "c08", "c17", "c06"} <= age9  # age ranges, grade 3..13 -> 8..19
    assert not {"c01", "c03", "c14", "c13"} & age9  # ranges that exclude 9
    assert "c09" in age9  # no age information: not excluded
    assert "c02" not in age9 and "c02" in ids(search(index, age=13))  # grade 7..10 -> 12..16


def test_pagination(index: SearchIndex) -> None:
    seen: list[str] = []
    for page in range(1, 6):
        result = index.search(SearchQuery(page=page, per_page=6))
        assert result.total == 20 and result.page == page and result.per_page == 6
        seen += [h.cluster_id for h in result.hits]
    assert len(seen) == 20 and set(seen) == {d.cluster_id for d in DOCS}
    scored = [
        h.cluster_id
        for p in (1, 2)
        for h in index.search(SearchQuery("Sachsen", page=p, per_page=3)).hits
    ]
    assert len(set(scored)) == 6
    assert index.search(SearchQuery(per_page=1000)).per_page == MAX_PER_PAGE
    assert index.search(SearchQuery(page=0)).page == 1
    assert index.search(SearchQuery(per_page=0)).per_page == 1
    deep = index.search(SearchQuery(page=10**12))
    assert deep.total == 20 and deep.hits == []


def test_atomic_rebuild(tmp_path: Path) -> None:
    first = SearchIndex.build(tmp_path, [doc("a1", "Roboter-AG")])
    reader = SearchIndex.open(tmp_path)
    assert reader.generation == first.generation == "gen-1"
    second = SearchIndex.build(tmp_path, [doc("b1", "Chemielabor"), doc("b2", "Roboterbau")])
    assert second.generation == "gen-2"
    assert (tmp_path / "CURRENT").read_text().strip() == "gen-2"
    # the old reader still answers from its generation
    assert ids(reader.search(SearchQuery("Roboter"))) == {"a1"}
    assert reader.search(SearchQuery()).total == 1
    assert reader.reload_if_changed() is True
    assert reader.generation == "gen-2"
    assert ids(reader.search(SearchQuery("Roboter"))) == {"b2"}
    assert reader.reload_if_changed() is False
    SearchIndex.build(tmp_path, [doc("c1", "Physik")])
    # current and previous are kept, older generations are removed
    gens = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("gen-"))
    assert gens == ["gen-2", "gen-3"]
    assert ids(reader.search(SearchQuery("Roboter"))) == {"b2"}
    assert reader.reload_if_changed() is True and reader.num_docs == 1


def test_open_without_index(tmp_path: Path) -> None:
    assert SearchIndex.exists(tmp_path) is False
    with pytest.raises(IndexNotFoundError, match="no search index"):
        SearchIndex.open(tmp_path)
    SearchIndex.build(tmp_path / "x", [])
    assert SearchIndex.exists(tmp_path / "x")
    assert SearchIndex.open(tmp_path / "x").search(SearchQuery("Roboter")).total == 0


def test_query_words() -> None:
    words = query_words('Schüler "Roboter" AND Straße*')
    assert [w.stem for w in words] == ["schul", "robot", "and", "strass"]
    assert words[-1].folded == "strasse"
    assert len(query_words("wort " * 2000)) == 1
    assert len(query_words(" ".join(f"w{i}" for i in range(1000)))) == 16
    assert query_words(None) == []  # type: ignore[arg-type]


HOSTILE = [
    "",
    " ",
    "\t\n\r",
    '"',
    '"""',
    '"Roboter',
    "Roboter\"'",
    "*",
    "Robo*",
    "**",
    "?",
    "NEAR(",
    "NEAR(Roboter, Chemie)",
    "Roboter NEAR/3 Chemie",
    "AND",
    "OR",
    "NOT",
    "Roboter AND",
    "AND OR NOT",
    "NOT Roboter",
    "-",
    "-Roboter",
    "--",
    "+Roboter -Chemie",
    ":",
    "title:",
    "title:Roboter",
    "description:(a OR b)",
    "cluster_id:*",
    "(",
    ")",
    "((Roboter",
    "Roboter))",
    "[",
    "]",
    "[1 TO 5]",
    "{a TO b}",
    "{",
    "}",
    "\x00",
    "Rob\x00oter",
    "\x00" * 100,
    "🤖",
    "Roboter 🤖🧪",
    "👩‍🔬" * 200,
    "東京 ロボット",
    "x" * 5000,
    "Roboter " * 700,
    " ".join(f"wort{i}" for i in range(2000)),
    "a" * 100_000,
    "\\",
    "\\\\",
    "Roboter\\",
    "'; DROP TABLE offer; --",
    "<script>alert(1)</script>",
    "%",
    "%_%",
    "^2",
    "Roboter^100",
    "~",
    "Roboter~2",
    "/regex.*/",
    "$",
    "IN [a b]",
    "\u202e\u200b\ufeff",
    "\ud800",
    "ﬁ ß ẞ Ǆ",
    "ÄÖÜäöüß",
    "1e309",
    "-1",
    "0",
]


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_input_never_raises(index: SearchIndex, q: str) -> None:
    result = index.search(SearchQuery(q=q))
    assert isinstance(result, SearchResult)
    assert result.total >= 0 and len(result.hits) <= 20
    suggestions = index.suggest(q)
    assert isinstance(suggestions, list)


@pytest.mark.parametrize(
    "query",
    [
        SearchQuery(subjects=['"', "*", "", "\x00", "a" * 10_000]),
        SearchQuery(bundesland=["Sachsen"] * 500),
        SearchQuery(platforms="komm_mach_mint"),  # type: ignore[arg-type]
        SearchQuery(formats=None),  # type: ignore[arg-type]
        SearchQuery(page=-5, per_page=-1),
        SearchQuery(page="2", per_page="x"),  # type: ignore[arg-type]
        SearchQuery(age=-3),
        SearchQuery(age=10**30),
        SearchQuery(q=None),  # type: ignore[arg-type]
        SearchQuery(q=12),  # type: ignore[arg-type]
    ],
)
def test_hostile_parameters_never_raise(index: SearchIndex, query: SearchQuery) -> None:
    assert isinstance(index.search(query), SearchResult)


def test_facet_counts_fall_back_when_combinations_overflow(
    index: SearchIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    import catalog.search

    monkeypatch.setattr(index, "counts_cache_size", 0)  # count again, don't reuse
    queries = [
        SearchQuery(),
        SearchQuery("Leipzig", subjects=["informatik"], free=True),
        SearchQuery(subjects=["informatik", "technik"], bundesland=["Sachsen"]),
    ]
    fast = [index.search(q).facets for q in queries]
    monkeypatch.setattr(catalog.search, "MAX_COMBINATIONS", 1)
    assert [index.search(q).facets for q in queries] == fast


def _separate_counts(index: SearchIndex, query: SearchQuery) -> dict[str, dict[str, int]]:
    """Each facet counted by its own aggregation over the scored query (the slow way)."""
    from catalog import search as S

    searcher = index._gen.searcher
    words = query_words(query.q)
    text_q = S._text_query(words, searcher=searcher) if words else S.tantivy.Query.all_query()
    base = [S._filter(q) for q in S._attribute_filters(query)]
    selected = {name: list(getattr(query, name)) for name in S.FACETS}
    facet_qs = {n: S._filter(S._any_of(S.FACETS[n], v)) for n, v in selected.items() if v}
    out = {}
    for name in S.FACETS:
        others = [q for other, q in facet_qs.items() if other != name]
        counts = S._aggregate(searcher, S._and([text_q, *base, *others]), [name])[0][name]
        for value in selected[name]:
            counts.setdefault(value, 0)
        out[name] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return out


@pytest.mark.parametrize(
    "query",
    [
        SearchQuery(),
        SearchQuery("Roboter", subjects=["informatik"]),
        SearchQuery(subjects=["informatik", "chemie"], bundesland=["Sachsen"], free=True),
        SearchQuery("Schüler", formats=["ag", "workshop"], platforms=["mint_thueringen"]),
        SearchQuery(
            "Labor",
            subjects=["chemie"],
            formats=["schuelerlabor"],
            bundesland=["Sachsen"],
            platforms=["leipzig_data"],
        ),
        # a value that cannot be written as query text: counted one facet at a time
        SearchQuery("Programmieren", subjects=['infor"matik', "informatik"], age=11),
        SearchQuery("Robo", bundesland=["Sachsen-Anhalt", "Thüringen"], subjects=["technik"]),
        SearchQuery("Informatk", bundesland=["Sachsen"]),  # a typo (fuzzy, correction)
    ],
)
def test_one_pass_counts_equal_separate_counts(index: SearchIndex, query: SearchQuery) -> None:
    index.counts_cache_size = 0
    try:
        result = index.search(query)
    finally:
        index.counts_cache_size = catalog_search.COUNTS_CACHE_SIZE
    assert result.facets == _separate_counts(index, query)
    assert (
        result.total
        == index._gen.searcher.search(
            catalog_search._and(
                [
                    catalog_search._text_query(query_words(query.q), searcher=index._gen.searcher)
                    if query.q
                    else catalog_search.tantivy.Query.all_query(),
                    *[catalog_search._filter(q) for q in catalog_search._attribute_filters(query)],
                    *[
                        catalog_search._any_of(catalog_search.FACETS[n], getattr(query, n))
                        for n in catalog_search.FACETS
                        if getattr(query, n)
                    ],
                ]
            ),
            1,
        ).count
    )


@pytest.mark.parametrize("q", ["Roboter", "Schülerlabor", "Programmieren", "Robo", "Informatk"])
def test_unscored_query_matches_the_same_documents(index: SearchIndex, q: str) -> None:
    searcher = index._gen.searcher
    words = query_words(q)
    scored = searcher.search(catalog_search._text_query(words), 100)
    unscored = searcher.search(catalog_search._text_query(words, scored=False), 100)
    addresses = {(a.segment_ord, a.doc) for _, a in scored.hits}
    assert addresses and addresses == {(a.segment_ord, a.doc) for _, a in unscored.hits}


def test_one_pass_is_used_unless_a_value_cannot_be_quoted(index: SearchIndex) -> None:
    S = catalog_search
    searcher = index._gen.searcher
    everything = S.tantivy.Query.all_query()
    chosen = {"subjects": ["informatik"], "bundesland": ["Sachsen"]}
    facet_qs = {name: S._filter(S._any_of(S.FACETS[name], v)) for name, v in chosen.items()}
    one_pass = S._aggregate_disjunctive(searcher, everything, [], facet_qs, chosen, ["formats"])
    assert one_pass is not None and one_pass[1] == 3
    assert one_pass[0]["bundesland"] == {"Sachsen": 3, "Sachsen-Anhalt": 2, "Thüringen": 1}
    for odd in ('a"b', "a\\b", "a\nb"):
        chosen = {"subjects": [odd]}
        facet_qs = {"subjects": S._filter(S._any_of(S.FACETS["subjects"], [odd]))}
        assert S._aggregate_disjunctive(searcher, everything, [], facet_qs, chosen, []) is None


def test_exclusions_join_the_query_as_must_not_clauses(index: SearchIndex) -> None:
    S = catalog_search
    searcher = index._gen.searcher
    free = S.tantivy.Query.term_query(S.SCHEMA, "free", True)
    girls = S.tantivy.Query.term_query(S.SCHEMA, "girls", True)
    everything = S._count(searcher, S.tantivy.Query.all_query())
    n_free = S._count(searcher, free)
    assert 0 < n_free < everything
    assert S._count(searcher, S._and([S._Excluded(free)])) == everything - n_free
    assert S._filter(S._Excluded(free)) == S._Excluded(free)
    both = S._count(searcher, S._and([girls, free]))
    assert S._count(searcher, S._and([girls, S._Excluded(free)])) == (
        S._count(searcher, girls) - both
    )
    # "today" and the date range are exclusions, not a nested "all but" query of their own
    from datetime import date

    filters = S._date_filters(SearchQuery(today=date(2026, 11, 26), date_to=date(2027, 1, 1)))
    assert len(filters) == 2 and all(isinstance(f, S._Excluded) for f in filters)
    assert S._date_filters(SearchQuery()) == []


def test_counts_are_kept_per_request_not_per_page(tmp_path: Path) -> None:
    idx = SearchIndex.build(tmp_path, DOCS)
    first = idx.search(SearchQuery("Schüler", per_page=1))
    assert len(idx._gen.counts_cache) == 1
    first.facets["subjects"]["chemie"] = 999  # a caller changing its result changes nothing
    second = idx.search(SearchQuery("Schüler", page=2, per_page=1, sort="date"))
    assert len(idx._gen.counts_cache) == 1
    assert second.total == first.total and second.facets["subjects"]["chemie"] != 999
    assert [h.cluster_id for h in first.hits] != [h.cluster_id for h in second.hits]
    idx.search(SearchQuery("Schüler", free=True))
    assert len(idx._gen.counts_cache) == 2
    # a rebuild starts a new generation with its own (empty) cache and new counts
    SearchIndex.build(tmp_path, DOCS[8:10])
    assert idx.reload_if_changed()
    assert idx._gen.counts_cache == {} and idx.search(SearchQuery("Schüler")).total == 0


def test_keywords_and_suggestions(index: SearchIndex) -> None:
    assert "c20" in ids(search(index, "Museum"))
    assert {"roboter", "robotern"} <= set(index.suggest("Robo"))
    assert index.suggest("") == [] and index.suggest("r") == []


def test_an_edited_synonym_file_never_makes_an_older_index_match_the_wrong_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = [
        doc("robo", "Robotik für Einsteiger"),
        doc("code", "Coding Club"),
        doc("kurs", "Seminar Astronomie"),
    ]
    index = SearchIndex.build(tmp_path / "idx", docs)
    assert ids(search(index, "Roboter")) == {"robo"}
    assert ids(search(index, "Informatik")) == {"code"}
    # the file edited after the build: a new group at the top (every later group moves
    # one place down), and the programming group gets one more member
    edited = tmp_path / "synonyms.yaml"
    edited.write_text(
        "groups:\n"
        "  - [Sternwarte, Teleskop]\n"
        "  - [Robotik, Roboter, Robot, Robotics, Mindstorms, LEGO]\n"
        "  - [Programmieren, Coding, Informatik, Programmierung, Coden, Hacking]\n"
        "  - [Workshop, Kurs, Seminar]\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(catalog_search, "GROUPS", catalog_search._load_groups(edited))
    # an unchanged group still matches through its token, wherever it stands in the file
    assert ids(search(index, "Roboter")) == {"robo"}
    assert ids(search(index, "Kurs")) == {"kurs"}
    # a changed group's token is not in this index: its words match through their own
    # stems (the synonyms come back with the next rebuild), never through another group
    assert ids(search(index, "Coding")) == {"code"}
    assert ids(search(index, "Informatik")) == set()
    assert ids(search(index, "Teleskop")) == set()
    rebuilt = SearchIndex.build(tmp_path / "idx", docs)
    assert ids(search(rebuilt, "Informatik")) == {"code"}
