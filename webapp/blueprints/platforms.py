"""The "Plattformen" page: the harvested platforms, the 2018 platform collection, licences.

The 2018 collection is the catalogue of MINT platforms that the MINT Mitteldeutschland
working group collected (``platforms_2018/*.ttl``, DCAT, CC0; see its PROVENANCE.md). It is
parsed when the page is built; whether MINT-Suche harvests each platform, and why not, comes
from ``platforms_2018.yaml`` (maintained by hand) and from ``sources.yaml`` (a platform whose
homepage host equals a source's homepage host is that source).

Public API: :func:`load_collection` (pure apart from reading the files) and the ``bp``
Blueprint with the ``/plattformen`` view. A missing or broken collection file is logged and
the page shows the harvested platforms without the collection (never a 500).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from flask import Blueprint, render_template
from rdflib import RDF, Graph, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF

from crawlers.sources import Source, SourcesError, load_sources
from webapp import data

log = logging.getLogger(__name__)

bp = Blueprint("platforms", __name__)

ROOT = Path(__file__).resolve().parents[2]
COLLECTION_FILES: tuple[Path, ...] = (
    ROOT / "platforms_2018" / "MINT-Katalog-MINT-MD.ttl",
    ROOT / "platforms_2018" / "MINT-Katalog.ttl",
)
NOTES_FILE = ROOT / "platforms_2018.yaml"


class CollectionError(Exception):
    """The 2018 collection or its notes file cannot be read; the message says which."""


@dataclass
class CollectedPlatform:
    """One platform of the 2018 collection as shown on the page.

    ``ids`` are the dataset names in the TTL files (two files may list the same platform);
    ``source`` is the matching source of ``sources.yaml`` or None; ``harvested`` is true
    when that source is enabled; ``reason`` (German) says why it is not harvested.
    """

    ids: list[str]
    title: str
    url: str | None
    description: str
    source_id: str | None = None
    source_title: str | None = None
    harvested: bool = False
    reason: str | None = None
    note: str | None = None
    catalogues: list[str] = field(default_factory=list)


def host_key(url: str | None) -> str | None:
    """The host of ``url`` in lower case without a leading ``www.`` (None if no host)."""
    if not url:
        return None
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.") or None


def _url_key(url: str) -> str:
    parts = urlsplit(url)
    return f"{host_key(url)}{parts.path.rstrip('/')}?{parts.query}"


def _read_notes(path: Path) -> dict[str, Any]:
    try:
        notes = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise CollectionError(f"{path}: {exc}") from exc
    if not isinstance(notes, dict) or not isinstance(notes.get("reasons"), dict):
        raise CollectionError(f"{path}: needs a 'reasons:' mapping")
    entries = notes.get("entries") or {}
    reasons = notes["reasons"]
    default = notes.get("default_reason")
    if default not in reasons:
        raise CollectionError(f"{path}: default_reason {default!r} is not under reasons")
    for name, entry in entries.items():
        if not isinstance(entry, dict) or not ({"source", "reason"} & entry.keys()):
            raise CollectionError(f"{path}: entries.{name}: needs 'source:' or 'reason:'")
        if "reason" in entry and entry["reason"] not in reasons:
            raise CollectionError(
                f"{path}: entries.{name}: unknown reason {entry['reason']!r} "
                f"(known: {', '.join(reasons)})"
            )
    return {"reasons": reasons, "entries": entries, "default": default}


def _text(graph: Graph, subject: Any, predicate: URIRef) -> str:
    value = graph.value(subject, predicate)
    return " ".join(str(value).split()) if value is not None else ""


def _read_datasets(paths: tuple[Path, ...]) -> list[tuple[str, str, str | None, str, str]]:
    """``(dataset name, title, url, description, catalogue title)`` in file order."""
    rows = []
    for path in paths:
        graph = Graph()
        try:
            graph.parse(path, format="turtle")
        except Exception as exc:  # noqa: BLE001 - rdflib raises many kinds; all are fatal here
            raise CollectionError(f"{path}: {type(exc).__name__}: {exc}") from exc
        catalogue = next(graph.subjects(RDF.type, DCAT.Catalog), None)
        catalogue_title = _text(graph, catalogue, DCTERMS.title) if catalogue else path.name
        datasets = sorted(graph.subjects(RDF.type, DCAT.Dataset), key=str)
        for subject in datasets:
            link = graph.value(subject, DCAT.landingPage) or graph.value(subject, FOAF.homepage)
            name = str(subject).rstrip("/").rsplit("/", 1)[-1]
            rows.append(
                (
                    name,
                    _text(graph, subject, DCTERMS.title),
                    str(link) if link is not None else None,
                    _text(graph, subject, DCTERMS.description),
                    catalogue_title,
                )
            )
    return rows


def load_collection(
    sources: list[Source],
    *,
    files: tuple[Path, ...] = COLLECTION_FILES,
    notes_file: Path = NOTES_FILE,
) -> list[CollectedPlatform]:
    """Every platform of the 2018 collection with its harvest status, ordered by title.

    Datasets with the same landing page (in either file) become one platform. Raises
    :class:`CollectionError` when a file cannot be read or the notes are inconsistent
    (an entry naming an unknown source, an unknown reason, an unknown dataset).
    """
    notes = _read_notes(notes_file)
    by_id = {source.id: source for source in sources}
    by_host: dict[str, Source] = {}
    for source in sources:
        key = host_key(source.homepage)
        if key is not None:
            by_host.setdefault(key, source)
    datasets = _read_datasets(files)
    known = {row[0] for row in datasets}
    for name, entry in notes["entries"].items():
        if name not in known:
            raise CollectionError(f"{notes_file}: entries.{name}: no such dataset in the TTL files")
        if "source" in entry and entry["source"] not in by_id:
            raise CollectionError(
                f"{notes_file}: entries.{name}: unknown source {entry['source']!r}"
            )
    platforms: list[CollectedPlatform] = []
    by_url: dict[str, CollectedPlatform] = {}
    for name, title, url, description, catalogue in datasets:
        existing = by_url.get(_url_key(url)) if url else None
        if existing is not None:
            existing.ids.append(name)
            if catalogue not in existing.catalogues:
                existing.catalogues.append(catalogue)
            if len(description) > len(existing.description):
                existing.description = description
            continue
        entry = notes["entries"].get(name, {})
        platform = CollectedPlatform(
            ids=[name], title=title, url=url, description=description, catalogues=[catalogue]
        )
        source = by_id.get(entry["source"]) if "source" in entry else None
        if source is None and "reason" not in entry:
            source = by_host.get(host_key(url) or "")
        platform.note = entry.get("note")
        if source is not None:
            platform.source_id = source.id
            platform.source_title = source.title
            platform.harvested = source.enabled
            if not source.enabled:
                platform.reason = (
                    "In der Quellenliste eingetragen, wird aber noch nicht abgerufen: "
                    "ihre Seiten müssen erst live geprüft werden."
                )
        else:
            platform.reason = notes["reasons"][entry.get("reason", notes["default"])].strip()
        platforms.append(platform)
        if url:
            by_url[_url_key(url)] = platform
    return sorted(platforms, key=lambda p: p.title.casefold().strip('"„ '))


@lru_cache(maxsize=4)
def _cached_collection(
    sources_file: str, stamps: tuple[float, ...]
) -> tuple[list[CollectedPlatform], list[Source]]:
    config = load_sources(sources_file)
    return load_collection(config.sources), config.sources


def _stamp(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


@bp.route("/plattformen")
def platforms() -> str:
    """Harvested platforms (with offer counts), the 2018 collection, and licences.

    Sources of ``sources.yaml`` that the database does not know yet (e.g. a disabled
    one before the next crawl) are listed too. The collection is left out, and the
    problem logged, if its files cannot be read.
    """
    harvested = data.platforms()
    sources_file = Path(data.settings().sources_file)
    collection: list[CollectedPlatform] = []
    configured: list[Source] = []
    stamps = tuple(_stamp(p) for p in (sources_file, NOTES_FILE, *COLLECTION_FILES))
    try:
        collection, configured = _cached_collection(str(sources_file), stamps)
    except (CollectionError, SourcesError) as exc:
        log.warning("Plattformen page without the 2018 collection: %s", exc)
    listed = {p["source"].id for p in harvested}
    for source in configured:
        if source.id not in listed:
            harvested.append(
                {"source": source.model_dump(), "offers": 0, "last_success": None}
            )
    return render_template(
        "platforms.html",
        platforms=harvested,
        collection=collection,
        collection_harvested=sum(1 for p in collection if p.harvested),
    )
