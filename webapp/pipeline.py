"""The composition root of the data flow: raw records -> offers -> clusters -> index.

`rebuild` re-runs the pure stages (normalize, dedupe) over every stored raw record, writes
the derived tables in one transaction and swaps in a new search index. It never crawls.

Dedupe runs incrementally when it can: offers whose normalized content is unchanged since
the last rebuild (same ``content_hash``) keep their clusters unless a changed offer
reaches them; only the rest is re-clustered (``dedupe.cluster_offers`` with
``previous_clusters``/``changed_keys``). A change of the dedupe rules or of the overrides
file (``dedupe_fingerprint``) or ``full=True`` re-clusters everything.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import dedupe
from catalog import store
from catalog.db import get_engine, init_db, session_scope
from catalog.search import SearchDoc, SearchIndex
from dedupe import Cluster, MergedField, Overrides, cluster_offers, load_overrides
from dedupe.providers import resolve_provider_refs
from normalize import NormalizedOffer, normalize_record
from normalize.places import load_gazetteer
from normalize.vocab import FORMAT_LABELS, SUBJECT_LABELS
from webapp.policy import check as check_policy
from webapp.policy import load_policy, policy_file

Progress = Callable[[str], None]


@dataclass
class RebuildReport:
    """What a rebuild did, for the CLI and the operator page."""

    raw_records: int = 0
    offers: int = 0
    clusters: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    per_source: Counter[str] = field(default_factory=Counter)
    stale: Counter[str] = field(default_factory=Counter)
    published: int = 0
    unpublished: Counter[str] = field(default_factory=Counter)
    #: "full" or "incremental" (see the module docstring) and why a full run was needed
    mode: str = "full"
    full_reason: str | None = None
    #: dedupe's own counts: pairs_scored, records_reclustered, clusters_kept
    dedupe: dict[str, int] = field(default_factory=dict)


def jsonable(value: Any) -> Any:
    """Turn dates, dataclasses and pydantic models into plain JSON values."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return jsonable(value.model_dump())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=json.dumps) if isinstance(value, set | frozenset) else items
    return value


def offer_hash(offer: NormalizedOffer, borrowed_provider: str | None = None) -> str:
    """A stable hash of what dedupe reads of an offer: its normalized content and the
    provider name it borrows through ``provider_ref`` from other records (so an offer is
    "changed" when the record it borrows its provider name from changes)."""
    content = jsonable(offer.model_dump())
    content["_borrowed_provider"] = borrowed_provider
    text = json.dumps(content, sort_keys=True, ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def dedupe_fingerprint(overrides_file: Path | None) -> str:
    """A hash of the dedupe rules (the ``dedupe`` package files) and the overrides file.

    When it changes, the clusters of the last rebuild are no longer what the rules give,
    so the next rebuild re-clusters everything.
    """
    digest = hashlib.blake2b(digest_size=16)
    package = Path(dedupe.__file__).resolve().parent
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(package).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    if overrides_file is not None and overrides_file.exists():
        digest.update(b"overrides\0" + overrides_file.read_bytes())
    return digest.hexdigest()


def _offer_row(offer: NormalizedOffer, cluster_id: str, content_hash: str) -> dict[str, Any]:
    row = offer.model_dump()
    row["cluster_id"] = cluster_id
    row["content_hash"] = content_hash
    return row


def _previous_clusters(
    session: Any, fingerprint: str
) -> tuple[list[Cluster] | None, dict[tuple[str, str], str | None], str | None]:
    """The last rebuild's clusters and offer hashes, or ``None`` with the reason a full
    re-clustering is needed."""
    state = store.catalog_state(session)
    hashes = store.offer_hashes(session)
    if not hashes:
        return None, hashes, "noch kein Katalog"
    if state.get("dedupe_fingerprint") != fingerprint:
        return None, hashes, "Regeln oder Overrides geändert"
    if any(h is None for h in hashes.values()):
        return None, hashes, "Angebote ohne Inhalts-Hash (ältere Datenbank)"
    clusters: list[Cluster] = []
    for cluster_id, members, fields in store.published_clusters(session):
        try:
            merged = {name: MergedField(**value) for name, value in fields.items()}
        except TypeError:
            return None, hashes, f"Eintrag {cluster_id} ohne lesbare Felder"
        clusters.append(Cluster(id=cluster_id, members=members, fields=merged))
    return clusters, hashes, None


def _cluster_row(cluster: Any, members: list[NormalizedOffer]) -> dict[str, Any]:
    fields = {name: jsonable(merged) for name, merged in cluster.fields.items()}

    def value(name: str) -> Any:
        merged = cluster.fields.get(name)
        return None if merged is None else jsonable(merged.value)

    platforms = sorted({m.source_id for m in members})
    return {
        "id": cluster.id,
        "title": value("title") or members[0].title,
        "provider": value("provider"),
        "city": value("city"),
        "plz": value("plz"),
        "bundesland": value("bundesland"),
        "lat": value("lat"),
        "lon": value("lon"),
        "subjects": sorted({s for m in members for s in m.subjects}),
        "formats": sorted({f for m in members for f in m.formats}),
        "platforms": platforms,
        "member_count": len(members),
        "fields": fields,
    }


def _search_doc(row: dict[str, Any], members: list[NormalizedOffer]) -> SearchDoc:
    ages_min = [m.age_min for m in members if m.age_min is not None]
    ages_max = [m.age_max for m in members if m.age_max is not None]
    grades_min = [m.grade_min for m in members if m.grade_min is not None]
    grades_max = [m.grade_max for m in members if m.grade_max is not None]
    descriptions = sorted(
        {m.description for m in members if m.description}, key=lambda d: (len(d), d)
    )
    # the members' earliest date range (a series listed on several platforms shares it)
    dated = sorted((m.start or m.end, m.end or m.start) for m in members if m.start or m.end)
    start, end = dated[0] if dated else (None, None)
    return SearchDoc(
        cluster_id=row["id"],
        title=row["title"] or "",
        provider=row["provider"] or "",
        city=row["city"] or "",
        plz=row["plz"] or "",
        bundesland=row["bundesland"] or "",
        subjects=row["subjects"],
        formats=row["formats"],
        platforms=row["platforms"],
        description=descriptions[-1] if descriptions else "",
        lat=row["lat"],
        lon=row["lon"],
        age_min=min(ages_min) if ages_min else None,
        age_max=max(ages_max) if ages_max else None,
        grade_min=min(grades_min) if grades_min else None,
        grade_max=max(grades_max) if grades_max else None,
        free=any(m.cost_kind == "free" for m in members),
        girls=any(m.girls for m in members),
        keywords=[SUBJECT_LABELS.get(s, s) for s in row["subjects"]]
        + [FORMAT_LABELS.get(f, f) for f in row["formats"]],
        start=start,
        end=end,
    )


def rebuild(
    database_url: str,
    index_dir: Path,
    *,
    now: datetime,
    overrides_file: Path | None = None,
    progress: Progress | None = None,
    policy_path: Path | None = None,
    freshness: store.Freshness | None = None,
    full: bool = False,
) -> RebuildReport:
    """Normalize, dedupe and index again from the stored raw records.

    Records that cannot be normalized are dropped and counted by reason; the run goes on.
    The publication policy (``policy_path``, default :func:`webapp.policy.policy_file`)
    marks entries outside it ``published = False`` with their first reason; they are kept
    in the store but not indexed (``report.unpublished`` counts them by first reason).
    An invalid policy file raises ``PolicyError`` before anything is written.
    Stale records (``store.stale_keys``: missed by successful runs; ``freshness`` defaults
    to ``MINTSUCHE_STALE_RUNS`` / ``MINTSUCHE_STALE_DAYS``) are left out and counted per
    source in ``report.stale``; they stay stored.
    Dedupe is incremental unless ``full`` is set or the rules changed (``report.mode``,
    ``report.full_reason``, ``report.dedupe``). Offers, clusters and the catalogue state are
    written in one transaction.
    """
    say = progress or (lambda _msg: None)
    policy = load_policy(policy_path if policy_path is not None else policy_file())
    engine = get_engine(database_url)
    init_db(engine)
    report = RebuildReport()
    gazetteer = load_gazetteer()
    offers: list[NormalizedOffer] = []
    fingerprint = dedupe_fingerprint(overrides_file)
    with session_scope(engine) as session:
        previous = store.previous_cluster_ids(session)
        earlier, earlier_hashes, report.full_reason = _previous_clusters(session, fingerprint)
        if full:
            earlier, report.full_reason = None, "--full verlangt"
        rules = freshness or store.Freshness.from_env(os.environ)
        stale = store.stale_keys(session, now=now, rules=rules)
        for record in store.iter_raw(session):
            report.raw_records += 1
            if (record.source_id, record.source_key) in stale:
                report.stale[record.source_id] += 1
                continue
            try:
                offers.append(normalize_record(record, gazetteer=gazetteer, now=now))
            except Exception as exc:  # noqa: BLE001 - a bad record is counted, never fatal
                report.dropped[f"{record.source_id}: {type(exc).__name__}"] += 1
            if report.raw_records % 500 == 0:
                say(f"normalisiert: {report.raw_records} Rohdatensätze")
    say(f"normalisiert: {report.raw_records} Rohdatensätze, {len(offers)} Angebote")
    for source_id, count in sorted(report.stale.items()):
        say(f"veraltet (nicht mehr gesehen, nicht veröffentlicht): {source_id}: {count}")
    overrides = _overrides(overrides_file)
    borrowed = resolve_provider_refs(offers)
    hashes = {
        (o.source_id, o.source_key): offer_hash(o, borrowed.get((o.source_id, o.source_key)))
        for o in offers
    }
    changed = None
    if earlier is not None:
        report.mode = "incremental"
        changed = {key for key, h in hashes.items() if earlier_hashes.get(key) != h}
    clusters = cluster_offers(
        offers,
        previous=previous,
        overrides=overrides,
        previous_clusters=earlier,
        changed_keys=changed,
        report=report.dedupe,
    )
    if report.mode == "incremental":
        say(
            f"zusammengeführt (inkrementell): {len(changed or ())} geänderte Angebote, "
            f"{report.dedupe.get('records_reclustered', 0)} neu gruppiert, "
            f"{report.dedupe.get('clusters_kept', 0)} Einträge unverändert übernommen"
        )
    else:
        say(f"vollständig neu gruppiert: {report.full_reason}")
    say(f"zusammengeführt: {len(offers)} Angebote -> {len(clusters)} Einträge")
    by_key = {(o.source_id, o.source_key): o for o in offers}
    offer_rows: list[dict[str, Any]] = []
    cluster_rows: list[dict[str, Any]] = []
    docs: list[SearchDoc] = []
    for cluster in clusters:
        members = [by_key[key] for key in cluster.members if key in by_key]
        if not members:
            continue
        offer_rows.extend(
            _offer_row(m, cluster.id, hashes[(m.source_id, m.source_key)]) for m in members
        )
        row = _cluster_row(cluster, members)
        reasons = check_policy(policy, row, members)
        row["published"] = not reasons
        row["unpublished_reason"] = reasons[0] if reasons else None
        cluster_rows.append(row)
        if reasons:
            report.unpublished[reasons[0]] += 1
            continue
        docs.append(_search_doc(row, members))
    # Publish as one generation: the index is prepared first (readers do not see it yet),
    # then offers, clusters and the state naming that index commit in one transaction, then
    # readers are switched to the index by a rename. If the commit fails, the prepared
    # index is discarded and readers keep the old catalogue.
    generation = SearchIndex.prepare(index_dir, docs)
    state = {
        "dedupe_fingerprint": fingerprint,
        "published_at": now.isoformat(),
        "index_generation": generation,
    }
    try:
        with session_scope(engine) as session:
            store.publish_catalogue(session, offer_rows, cluster_rows, state)
    except BaseException:
        SearchIndex.discard(index_dir, generation)
        raise
    SearchIndex.activate(index_dir, generation)
    say(f"Suchindex neu aufgebaut: {len(docs)} Einträge")
    if report.unpublished:
        say(
            f"nicht veröffentlicht (Richtlinie): {sum(report.unpublished.values())} Einträge – "
            + ", ".join(f"{reason}: {n}" for reason, n in report.unpublished.most_common())
        )
    report.published = len(docs)
    report.offers = len(offer_rows)
    report.clusters = len(cluster_rows)
    report.per_source = Counter(o.source_id for o in offers)
    return report


def _overrides(path: Path | None) -> Overrides | None:
    if path is None or not path.exists():
        return None
    return load_overrides(path)


def cluster_listing(database_url: str) -> Iterable[dict[str, Any]]:
    """Every cluster with its members, for `mintsuche clusters --json`."""
    engine = get_engine(database_url)
    init_db(engine)
    with session_scope(engine) as session:
        yield from store.cluster_members(session)
