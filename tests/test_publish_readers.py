"""Readers keep working while a new catalogue is published: two reader processes search
in a loop while the index is rebuilt again and again, and two read offer pages from the
database while offers and clusters are replaced again and again; every answer must come
whole from one generation (no error, no mix of old and new)."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import pytest
from conftest import database

from catalog import store
from catalog.db import dispose_engines, get_engine, init_db, session_scope
from catalog.search import SearchDoc, SearchIndex, SearchQuery

DOCS_PER_GENERATION = 60
REBUILDS = 8


def _docs(tag: str) -> list[SearchDoc]:
    return [
        SearchDoc(
            cluster_id=f"{tag}-{i:03d}",
            title=f"Schülerlabor Robotik {tag} {i}",
            provider=f"Anbieter {tag}",
            city="Leipzig",
            subjects=["technik"],
            platforms=[tag],
        )
        for i in range(DOCS_PER_GENERATION)
    ]


def _reader(index_dir: str, ready, stop, results) -> None:  # runs in a child process
    errors = 0
    mixed = 0
    searches = 0
    generations = set()
    idx = None
    while not stop.is_set() or searches < 20:
        try:
            if idx is None:
                idx = SearchIndex.open(index_dir)
            else:
                idx.reload_if_changed()
            result = idx.search(SearchQuery(q="Robotik", per_page=100))
            tags = {hit.cluster_id.split("-")[0] for hit in result.hits}
            if len(tags) != 1 or result.total != DOCS_PER_GENERATION:
                mixed += 1
            generations |= tags
            searches += 1
        except Exception:  # noqa: BLE001 - counted: the test asserts there are none
            errors += 1
            searches += 1
        ready.set()
    results.put((errors, mixed, searches, sorted(generations)))


def test_two_reader_processes_see_whole_generations(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    SearchIndex.build(index_dir, _docs("g0"))
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    results = ctx.Queue()
    ready = [ctx.Event() for _ in range(2)]
    readers = [
        ctx.Process(target=_reader, args=(str(index_dir), flag, stop, results)) for flag in ready
    ]
    for proc in readers:
        proc.start()
    for flag in ready:
        assert flag.wait(timeout=600), "reader did not start"
    for n in range(1, REBUILDS + 1):
        SearchIndex.build(index_dir, _docs(f"g{n}"))
    stop.set()
    outcomes = [results.get(timeout=120) for _ in readers]
    for proc in readers:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    for errors, mixed, searches, generations in outcomes:
        assert searches >= 20
        assert errors == 0
        assert mixed == 0
        assert generations  # saw at least one whole generation
    # the readers really overlapped the rebuilds: together they saw several generations
    assert len({g for outcome in outcomes for g in outcome[3]}) >= 2


CLUSTERS = 40


def _catalogue(n: int) -> tuple[list[dict], list[dict]]:
    """Generation ``n``: every cluster's member count changes from one generation to the
    next, so a page mixing two generations shows in its counts or its titles."""
    offers, clusters = [], []
    for i in range(CLUSTERS):
        cid = f"c{i:03d}"
        size = 1 + (i + n) % 3
        clusters.append({"id": cid, "title": f"g{n} Eintrag {i}", "member_count": size})
        offers += [
            {
                "source_id": "src",
                "source_key": f"{cid}-{k}",
                "title": f"g{n} Angebot {i}/{k}",
                "cluster_id": cid,
            }
            for k in range(size)
        ]
    return offers, clusters


def _page_reader(url: str, ready, stop, results) -> None:  # runs in a child process
    errors = mixed = reads = 0
    engine = get_engine(url)
    while not stop.is_set() or reads < 50:
        try:
            with session_scope(engine) as session:
                found = store.cluster_with_offers(session, f"c{reads % CLUSTERS:03d}")
            if found is None:
                mixed += 1
            else:
                row, offers = found
                tag = row.title.split()[0]
                if len(offers) != row.member_count or any(
                    not o.title.startswith(tag + " ") for o in offers
                ):
                    mixed += 1
        except Exception:  # noqa: BLE001 - counted: the test asserts there are none
            errors += 1
        reads += 1
        ready.set()
    results.put((errors, mixed, reads))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_reader_processes_see_whole_catalogues(backend: str, tmp_path: Path) -> None:
    with database(backend, tmp_path) as url:
        try:
            outcomes = _read_while_publishing(url)
        finally:
            dispose_engines()
    for errors, mixed, reads in outcomes:
        assert reads >= 50
        assert errors == 0
        assert mixed == 0


def _read_while_publishing(url: str) -> list[tuple[int, int, int]]:
    """Two reader processes read offer pages while the catalogue is published again and
    again; return their (errors, mixed, reads)."""
    engine = get_engine(url)
    init_db(engine)
    with session_scope(engine) as session:
        store.publish_catalogue(session, *_catalogue(0), {"published_at": "g0"})
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    results = ctx.Queue()
    ready = [ctx.Event() for _ in range(2)]
    readers = [ctx.Process(target=_page_reader, args=(url, flag, stop, results)) for flag in ready]
    for proc in readers:
        proc.start()
    try:
        for flag in ready:
            assert flag.wait(timeout=600), "reader did not start"
        for n in range(1, REBUILDS * 3 + 1):
            with session_scope(engine) as session:
                store.publish_catalogue(session, *_catalogue(n), {"published_at": f"g{n}"})
        stop.set()
        outcomes = [results.get(timeout=120) for _ in readers]
        for proc in readers:
            proc.join(timeout=60)
            assert proc.exitcode == 0
        with session_scope(engine) as session:
            assert store.catalog_state(session) == {"published_at": f"g{REBUILDS * 3}"}
    finally:
        stop.set()
    return outcomes
