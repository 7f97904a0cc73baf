"""Incremental re-clustering: a re-crawl of one source re-clusters only what it touched,
and the result equals a full re-cluster."""

from __future__ import annotations

from dataclasses import replace

from conftest import synthetic_offers

from dedupe import cluster_offers


def _recrawl(offers: list, source: str) -> tuple[list, set[tuple[str, str]]]:
    """One source re-crawled: three offers reworded, two gone, one new (a re-listing of
    another source's offer). Returns the new offers and the keys whose content changed."""
    own = [n for n, o in enumerate(offers) if o.source_id == source]
    reworded, gone = own[:3], set(own[3:5])
    result = []
    for n, offer in enumerate(offers):
        if n in gone:
            continue
        if n in reworded:
            offer = replace(offer, title=offer.title + " Intensivkurs", provider=None)
        result.append(offer)
    template = next(o for o in offers if o.source_id != source)
    result.append(replace(template, source_id=source, source_key="neu-1", url=None))
    changed = {(offers[n].source_id, offers[n].source_key) for n in reworded}
    return result, changed


def _view(clusters: list) -> list:
    return [(c.id, c.members, c.fields) for c in clusters]


def test_recrawl_of_one_source_equals_full_recluster_and_keeps_the_rest() -> None:
    offers, _ = synthetic_offers(2000, seed=7)
    first_report: dict[str, int] = {}
    first = cluster_offers(offers, report=first_report)
    source = offers[0].source_id
    recrawled, changed = _recrawl(offers, source)

    report: dict[str, int] = {}
    incremental = cluster_offers(
        recrawled, previous_clusters=first, changed_keys=changed, report=report
    )
    previous = {m: c.id for c in first for m in c.members}
    full = cluster_offers(recrawled, previous=previous)
    assert _view(incremental) == _view(full)
    # The re-crawl did change the clustering (gone, new and split members).
    assert {tuple(c.members) for c in full} != {tuple(c.members) for c in first}
    assert {c.id for c in full} & {c.id for c in first}

    # Only a small part was compared and re-clustered; the rest was kept as it was.
    assert 0 < report["pairs_scored"] < first_report["pairs_scored"] / 20
    assert report["records_reclustered"] < len(recrawled) / 20
    assert report["clusters_kept"] > len(first) * 0.9
    before = {c.id: c for c in first}
    kept = [c for c in incremental if c.id in before and c.members == before[c.id].members]
    assert len(kept) >= report["clusters_kept"]
    reused = [c for c in kept if c.fields["title"] is before[c.id].fields["title"]]
    assert len(reused) == report["clusters_kept"]  # merged fields not recomputed


def test_nothing_changed_compares_nothing() -> None:
    offers, _ = synthetic_offers(800, seed=3)
    first = cluster_offers(offers)
    report: dict[str, int] = {}
    again = cluster_offers(offers, previous_clusters=first, changed_keys=set(), report=report)
    assert report == {"pairs_scored": 0, "records_reclustered": 0, "clusters_kept": len(first)}
    assert _view(again) == _view(first)
