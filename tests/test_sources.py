"""Tests for the sources.yaml model and loader (crawlers/sources.py)."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml
from pydantic import ValidationError

from crawlers.sources import (
    KINDS,
    FieldRule,
    Source,
    SourceConfig,
    SourceProblem,
    SourcesError,
    load_sources,
    parse_sources,
    sources_json_schema,
)

DATA = Path(__file__).parent / "data" / "sources"

# A valid html source; tests replace single lines to break it. Line 1 is "sources:".
HTML_SOURCE = """\
sources:
  - id: example
    title: "Beispiel"
    homepage: https://www.example.org/
    kind: html
    start_urls: [https://www.example.org/list]
    schedule: "30 2 * * 1"
    licence: {name: "CC0"}
    html: {rows: "tr"}
    fields:
      title: {css: "td::text"}
      url: {css: "a::attr(href)"}
"""

CSV_SOURCE = """\
sources:
  - id: tabelle
    title: "Tabelle"
    homepage: https://www.example.org/
    kind: csv
    start_urls: [https://www.example.org/list.csv]
    schedule: "0 3 * * *"
    licence: {name: "CC0"}
    csv: {key: [Name]}
    fields:
      title: {column: Name}
      city: {column: Stadt}
"""


def problems_of(text: str) -> list[SourceProblem]:
    """Parse ``text`` and return the problems it must raise."""
    with pytest.raises(SourcesError) as info:
        parse_sources(text, "sources.yaml")
    return info.value.problems


def only_problem(text: str) -> SourceProblem:
    problems = problems_of(text)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


# --------------------------------------------------------------------------- valid files


def test_base_fixtures_are_valid() -> None:
    assert parse_sources(HTML_SOURCE, "x.yaml").ids == ["example"]
    assert parse_sources(CSV_SOURCE, "x.yaml").ids == ["tabelle"]


def test_valid_html_rdf_and_csv_sources_load() -> None:
    config = load_sources(DATA / "valid.yaml")

    assert config.ids == ["html_example", "rdf_example", "csv_example"]
    html, rdf, csv = config.sources
    assert [s.kind for s in config.sources] == ["html", "rdf", "csv"]

    assert html.politeness.download_delay == 2.0
    assert html.politeness.max_pages == 200
    assert html.politeness.concurrent_requests_per_domain == 1  # default kept
    assert html.politeness.obey_robots is True
    assert html.constants == {"bundesland": "Sachsen", "tags": ["MINT", "Schule"]}
    assert html.html is not None and html.html.detail == "url"
    assert html.fields["costs"].from_ == "detail"
    assert html.fields["costs"].regex == "Kosten: (.*)"
    assert html.fields["formats"].extractor == "xpath"
    assert html.fields["formats"].many and html.fields["formats"].split == ","
    assert html.section() is html.html
    assert html.rdf is None and html.csv is None

    assert rdf.rdf is not None and rdf.rdf.class_ == "ld:Angebot"
    assert rdf.rdf.documents[1].format == "json-ld"
    assert rdf.rdf.documents[1].context == {"@vocab": "http://schema.org/"}
    assert rdf.fields["bundesland"].expression == "Sachsen"
    assert rdf.hosts() == {"data.example.org", "cdn.example.net"}
    assert rdf.allowed_domains() == ["cdn.example.net", "data.example.org"]
    assert rdf.politeness.max_pages == 500

    assert csv.enabled is False and csv.start_urls == []
    assert csv.csv is not None and csv.csv.key == ["Organisationsname", "Postleitzahl"]
    assert csv.csv.delimiter == ";" and csv.csv.skip_rows == 1
    assert csv.licence.redistribute is True
    assert csv.politeness.obey_robots is False

    assert config.get("rdf_example") is rdf
    assert config.get("nope") is None
    assert config.enabled() == [html, rdf]
    assert "did you mean 'rdf_example'" in config.unknown_id_message("rdf_exampel")


def test_empty_sources_list_is_valid() -> None:
    assert parse_sources("# nothing yet\nsources:\n", "sources.yaml").sources == []
    assert parse_sources("", "sources.yaml").sources == []


def test_models_can_be_built_in_python() -> None:
    rule = FieldRule(css="a", from_="detail")
    assert rule.from_ == "detail"
    assert FieldRule.model_validate({"css": "a", "from": "detail"}) == rule
    data = yaml.safe_load(CSV_SOURCE)["sources"][0]
    assert Source.model_validate(data).hosts() == {"www.example.org"}


# --------------------------------------------------------------------------- the must-show case


def test_three_sources_three_problems_in_one_error() -> None:
    path = DATA / "three_problems.yaml"
    with pytest.raises(SourcesError) as info:
        load_sources(path)

    problems = info.value.problems
    assert [(p.line, p.source_id, p.field) for p in problems] == [
        (7, "komm_mach_mint", "strat_urls"),
        (15, "no_title", "title"),
        (28, "bad_kind", "kind"),
    ]
    assert str(problems[0]) == (
        f"{path}:7: komm_mach_mint.strat_urls: unknown field 'strat_urls' "
        "(did you mean 'start_urls'?)"
    )
    assert str(problems[1]) == f"{path}:15: no_title.title: missing required field 'title'"
    assert "unknown kind 'sparql'" in problems[2].message
    assert "html, rdf, csv" in problems[2].message
    assert "literal" not in str(info.value).lower()  # no pydantic noise

    text = str(info.value)
    assert text.splitlines()[:3] == [str(p) for p in problems]
    assert text.splitlines()[-1] == f"3 problems in {path}"


def test_errors_of_one_source_do_not_hide_another() -> None:
    second = HTML_SOURCE.split("\n", 1)[1].replace("id: example", "id: other")
    text = (
        HTML_SOURCE.replace('"30 2 * * 1"', '"30 2 * *"')
        + second.replace('{css: "td::text"}', '{css: "td::text", regex: "(["}')
        + "    politeness: {max_page: 3, obey_robots: maybe}\n"
    )
    problems = problems_of(text)
    assert [(p.line, p.source_id, p.field) for p in problems] == [
        (7, "example", "schedule"),
        (22, "other", "fields.title.regex"),
        (24, "other", "politeness.obey_robots"),
        (24, "other", "politeness.max_page"),
    ]
    assert "got 'maybe'" in problems[2].message
    assert "did you mean 'max_pages'" in problems[3].message


def test_nested_unknown_keys_point_at_the_key() -> None:
    text = HTML_SOURCE.replace('{css: "td::text"}', '{csss: "td::text"}').replace(
        '    html: {rows: "tr"}', '    html:\n      rows: "tr"\n      nextpage: "a.next"'
    )
    problems = problems_of(text)
    assert [(p.line, p.field) for p in problems] == [
        (11, "html.nextpage"),
        (13, "fields.title.csss"),
    ]
    assert "did you mean 'next_page'" in problems[0].message
    assert "did you mean 'css'" in problems[1].message


# --------------------------------------------------------------------------- single checks


def test_duplicate_ids() -> None:
    second = HTML_SOURCE.split("\n", 1)[1]
    problem = only_problem(HTML_SOURCE + second)
    assert (problem.line, problem.source_id, problem.field) == (13, "example", "id")
    assert problem.message == "duplicate source id 'example' (first defined at line 2)"


def test_duplicate_ids_in_python() -> None:
    source = yaml.safe_load(CSV_SOURCE)["sources"][0]
    with pytest.raises(ValidationError, match="duplicate source id 'tabelle'"):
        SourceConfig.model_validate({"sources": [source, source]})


@pytest.mark.parametrize(
    ("cron", "detail"),
    [
        ("30 2 * *", "expected 5"),
        ("61 2 * * 1", "higher than the maximum"),
        ("jeden Montag", "expected 5"),
        ("0 3 1 * 1", "restricts both day of month and weekday"),
    ],
)
def test_bad_cron(cron: str, detail: str) -> None:
    problem = only_problem(HTML_SOURCE.replace('"30 2 * * 1"', f'"{cron}"'))
    assert (problem.line, problem.field) == (7, "schedule")
    assert problem.message.startswith(f"invalid cron expression '{cron}': ")
    assert detail in problem.message
    assert "minute hour day month weekday" in problem.message


def test_standard_cron_sunday_as_7_is_accepted() -> None:
    config = parse_sources(HTML_SOURCE.replace('"30 2 * * 1"', '"30 2 * * 7"'), "sources.yaml")
    assert config.sources[0].schedule == "30 2 * * 7"


def test_bad_regex() -> None:
    text = HTML_SOURCE.replace('{css: "td::text"}', '{css: "td::text", regex: "([a-z]"}')
    problem = only_problem(text)
    assert (problem.line, problem.field) == (11, "fields.title.regex")
    assert problem.message.startswith("invalid regular expression '([a-z]': missing )")


def test_regex_without_group_is_allowed() -> None:
    text = HTML_SOURCE.replace('{css: "td::text"}', '{css: "td::text", regex: "[0-9]{5}"}')
    assert parse_sources(text, "x").sources[0].fields["title"].regex == "[0-9]{5}"


def test_css_rule_in_csv_source() -> None:
    problem = only_problem(CSV_SOURCE.replace("{column: Stadt}", '{css: "td.city::text"}'))
    assert (problem.line, problem.source_id, problem.field) == (12, "tabelle", "fields.city.css")
    assert problem.message == "'css' rules are for html sources; a csv source uses column or value"


def test_css_rule_in_csv_source_in_python() -> None:
    data = yaml.safe_load(CSV_SOURCE)["sources"][0]
    data["fields"]["city"] = {"css": "td"}
    with pytest.raises(ValidationError) as info:
        Source.model_validate(data)
    assert [e["loc"] for e in info.value.errors()] == [("fields", "city", "css")]


def test_html_options_need_a_selector() -> None:
    problem = only_problem(CSV_SOURCE.replace("{column: Stadt}", "{column: Stadt, attr: href}"))
    assert (problem.line, problem.field) == (12, "fields.city.attr")


def test_from_detail_needs_html_detail() -> None:
    text = HTML_SOURCE.replace('{css: "a::attr(href)"}', '{css: "a::text", from: detail}')
    problem = only_problem(text)
    assert (problem.line, problem.field) == (12, "fields.url.from")
    assert "html.detail" in problem.message


def test_html_key_must_name_a_field() -> None:
    problem = only_problem(HTML_SOURCE.replace('{rows: "tr"}', '{rows: "tr", key: ur}'))
    assert (problem.line, problem.field) == (9, "html.key")
    assert "did you mean 'url'" in problem.message


def test_section_must_match_kind() -> None:
    text = CSV_SOURCE.replace("    csv: {key: [Name]}\n", '    html: {rows: "tr"}\n')
    problems = problems_of(text)
    # a missing section is reported at the entry's id line
    assert [(p.line, p.field) for p in problems] == [(2, "csv"), (9, "html")]
    assert problems[0].message == "a source of kind 'csv' needs an 'csv:' section"
    assert problems[1].message == (
        "an 'html:' section is only allowed for kind 'html' (this source has kind 'csv')"
    )


def test_missing_section_points_at_the_entry() -> None:
    problem = only_problem(CSV_SOURCE.replace("    csv: {key: [Name]}\n", ""))
    assert (problem.line, problem.field) == (2, "csv")


def test_enabled_source_needs_start_urls() -> None:
    text = CSV_SOURCE.replace("    start_urls: [https://www.example.org/list.csv]\n", "")
    problem = only_problem(text)
    assert (problem.line, problem.field) == (2, "start_urls")
    assert "at least one start URL" in problem.message
    assert parse_sources(text.replace("kind: csv", "kind: csv\n    enabled: false"), "x")


def test_urls_must_be_http() -> None:
    text = CSV_SOURCE.replace(
        "[https://www.example.org/list.csv]", "[https://www.example.org/a.csv, ftp://x/b.csv]"
    ).replace("homepage: https://www.example.org/", "homepage: www.example.org")
    problems = problems_of(text)
    assert [(p.line, p.field) for p in problems] == [(4, "homepage"), (6, "start_urls[1]")]
    assert "'ftp://x/b.csv' is not an absolute http(s) URL" in problems[1].message


def test_obey_robots_false_needs_a_note() -> None:
    text = HTML_SOURCE + "    politeness: {obey_robots: false}\n"
    problem = only_problem(text)
    assert (problem.line, problem.field) == (13, "politeness.obey_robots")
    assert "robots_permission_note" in problem.message


def test_rule_needs_exactly_one_extractor() -> None:
    text = HTML_SOURCE.replace('{css: "td::text"}', '{css: "td::text", xpath: "//td"}')
    problem = only_problem(text)
    assert (problem.line, problem.field) == (11, "fields.title")
    assert problem.message.endswith("(found: css, xpath)")


def test_fields_need_title() -> None:
    problem = only_problem(HTML_SOURCE.replace("      title: {", "      name: {"))
    assert (problem.line, problem.field) == (10, "fields")
    assert "'title' field rule" in problem.message


def test_field_names_are_snake_case() -> None:
    problem = only_problem(HTML_SOURCE.replace("      url: {", "      URL: {"))
    assert (problem.line, problem.field) == (12, "fields.URL")
    assert "lower_snake_case" in problem.message


def test_bad_id_and_numbers_as_constants() -> None:
    text = HTML_SOURCE.replace("id: example", "id: Komm-Mach-MINT") + (
        "    constants: {plz: 1067}\n"
    )
    problems = problems_of(text)
    assert [(p.line, p.source_id, p.field) for p in problems] == [
        (2, "Komm-Mach-MINT", "id"),
        (13, "Komm-Mach-MINT", "constants.plz"),
    ]
    assert "quote numbers" in problems[1].message


def test_missing_kind_lists_known_kinds() -> None:
    problem = only_problem(HTML_SOURCE.replace("    kind: html\n", ""))
    assert (problem.line, problem.field) == (2, "kind")
    assert problem.message == "missing kind (one of: " + ", ".join(KINDS) + ")"


def test_kind_typo_gets_a_hint() -> None:
    problem = only_problem(HTML_SOURCE.replace("kind: html", "kind: htlm"))
    assert problem.line == 5
    assert "(did you mean 'html'?)" in problem.message


# --------------------------------------------------------------------------- file level


def test_broken_yaml_reports_its_line() -> None:
    text = HTML_SOURCE.replace('      title: {css: "td::text"}', '      title: {css: "td::text"')
    problem = only_problem(text)
    assert problem.line == 12
    assert problem.message.startswith("invalid YAML: ")
    assert "starts at line 11" in problem.message
    assert str(problem).startswith("sources.yaml:12: invalid YAML: ")


def test_bad_indentation_reports_its_line() -> None:
    problem = only_problem(HTML_SOURCE.replace('    title: "Beispiel"', '   title: "Beispiel"'))
    assert problem.line == 3


def test_duplicate_yaml_key() -> None:
    problem = only_problem(HTML_SOURCE + '    title: "Nochmal"\n')
    assert problem.line == 13
    assert "duplicate key 'title' (first at line 3)" in problem.message


def test_top_level_shape() -> None:
    assert only_problem("- id: x\n").message == "expected a mapping 'sources: [...]'"
    problem = only_problem("source:\n  - id: x\n")
    assert (problem.line, problem.field) == (1, "source")
    assert "did you mean 'sources'" in problem.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourcesError) as info:
        load_sources(tmp_path / "sources.yaml")
    assert str(info.value) == (
        f"{tmp_path / 'sources.yaml'}: file not found\n1 problem in {tmp_path / 'sources.yaml'}"
    )


def test_problem_formatting() -> None:
    assert str(SourceProblem("s.yaml", 3, "a", "b.c", "bad")) == "s.yaml:3: a.b.c: bad"
    assert str(SourceProblem("s.yaml", 3, "a", None, "bad")) == "s.yaml:3: a: bad"
    assert str(SourceProblem("s.yaml", None, None, None, "bad")) == "s.yaml: bad"


# --------------------------------------------------------------------------- JSON Schema


def test_json_schema_is_valid_and_accepts_a_good_file() -> None:
    schema = sources_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] and schema["description"]

    validator = jsonschema.Draft202012Validator(schema)
    good = yaml.safe_load((DATA / "valid.yaml").read_text(encoding="utf-8"))
    assert list(validator.iter_errors(good)) == []


def test_json_schema_rejects_what_editors_can_see() -> None:
    validator = jsonschema.Draft202012Validator(sources_json_schema())
    bad = yaml.safe_load((DATA / "three_problems.yaml").read_text(encoding="utf-8"))
    paths = {tuple(error.path) for error in validator.iter_errors(bad)}
    assert {("sources", 0), ("sources", 1), ("sources", 2, "kind")} <= paths

    wrong_section = yaml.safe_load(CSV_SOURCE)
    del wrong_section["sources"][0]["csv"]
    assert not validator.is_valid(wrong_section)
