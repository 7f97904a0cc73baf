"""The "Plattformen" page: the 2018 platform collection and sources without selectors."""

from __future__ import annotations

from pathlib import Path

import pytest
from markupsafe import escape
from rdflib import RDF, Graph
from rdflib.namespace import DCAT, DCTERMS

from catalog import store
from catalog.db import get_engine, session_scope
from crawlers.sources import SourcesError, load_sources, parse_sources
from webapp.blueprints.platforms import (
    COLLECTION_FILES,
    NOTES_FILE,
    CollectionError,
    load_collection,
)

REPO = Path(__file__).resolve().parent.parent


def _datasets() -> dict[str, str]:
    """Every dataset of the two TTL files: local name -> title (read independently)."""
    found = {}
    for path in COLLECTION_FILES:
        graph = Graph().parse(path, format="turtle")
        for subject in graph.subjects(RDF.type, DCAT.Dataset):
            found[str(subject).rsplit("/", 1)[-1]] = str(graph.value(subject, DCTERMS.title))
    return found


@pytest.fixture(scope="module")
def collection():
    return load_collection(load_sources(REPO / "sources.yaml").sources)


def test_collection_files_are_the_samples_copied_verbatim() -> None:
    samples = Path("/work/shared/samples/leipzig-data")
    if not samples.exists():
        pytest.skip("sample collection not available")
    for path in COLLECTION_FILES:
        assert path.read_bytes() == (samples / path.name).read_bytes()


def test_every_dataset_of_the_collection_is_on_exactly_one_platform(collection) -> None:
    datasets = _datasets()
    assert len(datasets) == 45 + 14
    ids = [name for platform in collection for name in platform.ids]
    assert sorted(ids) == sorted(datasets)
    # same landing page in both files (or twice in one) -> one platform
    merged = {tuple(p.ids) for p in collection if len(p.ids) > 1}
    assert merged == {("P_100", "dataset-001"), ("P_107", "P_141"), ("P_121", "dataset-009")}
    assert len(collection) == 59 - 3


def test_every_platform_has_title_description_and_a_status(collection) -> None:
    for platform in collection:
        assert platform.title.strip()
        assert platform.description.strip() or platform.ids == ["dataset-004"]
        if platform.harvested:
            assert platform.source_id and platform.reason is None
        else:
            assert platform.reason and len(platform.reason) > 20, platform.ids
    without_link = [p.ids for p in collection if not p.url]
    assert without_link == [["dataset-004"]]  # only a PDF distribution


def test_harvest_status_matches_sources_yaml(collection) -> None:
    by_id = {name: p for p in collection for name in p.ids}
    assert by_id["P_100"].harvested and by_id["P_100"].source_id == "komm_mach_mint"
    assert by_id["dataset-002"].source_id == "leipzig_mint_orte" and by_id["dataset-002"].harvested
    assert by_id["dataset-006"].source_id == "mzs_schulen"
    atlas = by_id["P_120"]
    assert atlas.source_id == "schuelerlabor_atlas" and not atlas.harvested
    assert "live" in atlas.reason
    assert by_id["P_126"].reason.startswith("Angebote außerhalb Deutschlands")
    assert by_id["P_112"].reason.startswith("Noch nicht geprüft")
    harvested = {p.source_id for p in collection if p.harvested}
    assert harvested == {"komm_mach_mint", "leipzig_mint_orte", "mzs_schulen"}


def test_host_match_without_an_entry(tmp_path: Path) -> None:
    notes = tmp_path / "notes.yaml"
    notes.write_text("default_reason: x\nreasons: {x: 'Noch nicht geprüft.'}\nentries: {}\n")
    sources = load_sources(REPO / "sources.yaml").sources
    platforms = load_collection(sources, notes_file=notes)
    by_id = {name: p for p in platforms for name in p.ids}
    assert by_id["P_120"].source_id == "schuelerlabor_atlas"  # www. and scheme ignored
    assert by_id["P_100"].source_id == "komm_mach_mint"
    assert by_id["P_102"].source_id is None  # mintzukunftschaffen.de != mint-zukunft-schaffen.de
    assert by_id["P_102"].reason == "Noch nicht geprüft."


@pytest.mark.parametrize(
    ("notes", "message"),
    [
        ("default_reason: x\nreasons: {x: a}\nentries: {P_999: {reason: x}}", "no such dataset"),
        ("default_reason: x\nreasons: {x: a}\nentries: {P_100: {source: nope}}", "unknown source"),
        ("default_reason: x\nreasons: {x: a}\nentries: {P_100: {reason: y}}", "unknown reason"),
        ("default_reason: y\nreasons: {x: a}\n", "default_reason"),
        ("default_reason: x\nreasons: {x: a}\nentries: {P_100: {note: n}}", "needs 'source:'"),
        ("reasons: [", "platforms_notes.yaml"),
    ],
)
def test_broken_notes_are_reported(tmp_path: Path, notes: str, message: str) -> None:
    path = tmp_path / "platforms_notes.yaml"
    path.write_text(notes)
    with pytest.raises(CollectionError, match=message):
        load_collection(load_sources(REPO / "sources.yaml").sources, notes_file=path)


def test_maintained_notes_file_is_consistent() -> None:
    # load_collection raises on any entry naming an unknown dataset, source or reason
    assert NOTES_FILE.exists()
    assert load_collection(load_sources(REPO / "sources.yaml").sources)


def test_page_lists_the_whole_collection(client, collection) -> None:
    page = client.get("/plattformen").get_data(as_text=True)
    assert "MINT-Plattformen aus dem Katalog 2018" in page
    for platform in collection:
        assert str(escape(platform.title)) in page, platform.title
        if platform.url:
            assert str(escape(platform.url)) in page
    assert page.count('class="platform harvested"') == sum(p.harvested for p in collection)
    assert "Nicht abgerufen (Schülerlabor-Atlas)" in page
    assert "MINT-Katalog 2018: MINT Mitteldeutschland" in page  # CC0 attribution


def test_disabled_source_is_on_the_page_and_never_crawled(client, demo_settings) -> None:
    page = client.get("/plattformen").get_data(as_text=True)
    assert "rund 400 Schülerlabore" in page
    with session_scope(get_engine(demo_settings.database_url)) as session:
        for source_id in ("schuelerlabor_atlas", "mintvernetzt"):
            assert list(store.iter_raw(session, [source_id])) == []
            assert store.last_success(session, source_id) is None
    assert "Schemaabgeleitetes Beispiel" not in page


def test_schuelerlabor_atlas_entry_has_no_guessed_selectors() -> None:
    atlas = load_sources(REPO / "sources.yaml").get("schuelerlabor_atlas")
    assert atlas is not None and not atlas.enabled
    assert atlas.fields == {} and atlas.start_urls == [] and atlas.section() is None
    assert "inspected live" in (atlas.notes or "")
    assert atlas.homepage == "https://www.schuelerlabor-atlas.de/"


DISABLED = """\
sources:
  - id: later
    title: "Später"
    homepage: https://www.example.org/
    kind: html
    enabled: {enabled}
    schedule: "30 2 * * 1"
    licence: {{name: "unbekannt"}}
"""


def test_only_a_disabled_source_may_omit_start_urls_section_and_fields() -> None:
    assert parse_sources(DISABLED.format(enabled="false")).get("later") is not None
    with pytest.raises(SourcesError) as caught:
        parse_sources(DISABLED.format(enabled="true"))
    text = str(caught.value)
    assert "at least one start URL" in text
    assert "needs an 'html:' section" in text
    assert "'title' field rule" in text
