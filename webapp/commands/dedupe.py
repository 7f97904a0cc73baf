"""`mintsuche dedupe explain KEY1 KEY2`: why two stored records are (not) one offer.

Both records are read from the raw store and normalized again exactly as `rebuild` does,
then compared with `dedupe.explain`. Keys are member keys ``"source_id:source_key"`` as
listed by ``mintsuche clusters --json`` (the source key may itself contain colons).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

import click

from webapp.config import Settings

__all__ = ["COMMANDS", "dedupe_group", "load_offers"]

_FIELD_LABELS = {
    "title": "Titel",
    "provider": "Anbieter",
    "place": "Ort",
    "url": "Angebotsseite",
    "website": "Website",
    "dates": "Termine",
    "subjects": "Fächer",
    "formats": "Formate",
}


def _split_key(key: str) -> tuple[str, str]:
    source_id, sep, source_key = key.partition(":")
    if not sep or not source_id or not source_key:
        raise click.BadParameter(
            f"{key!r}: erwartet 'source_id:source_key' (siehe 'mintsuche clusters --json')"
        )
    return source_id, source_key


def load_offers(
    database_url: str, keys: list[tuple[str, str]], now: datetime
) -> dict[tuple[str, str], Any]:
    """Normalize the stored raw records with the given keys (missing keys are left out)."""
    from catalog import store
    from catalog.db import get_engine, init_db, session_scope
    from normalize import normalize_record
    from normalize.places import load_gazetteer

    wanted = set(keys)
    engine = get_engine(database_url)
    init_db(engine)
    gazetteer = load_gazetteer()
    found: dict[tuple[str, str], Any] = {}
    with session_scope(engine) as session:
        for record in store.iter_raw(session, sorted({sid for sid, _ in wanted})):
            if (record.source_id, record.source_key) in wanted:
                found[(record.source_id, record.source_key)] = normalize_record(
                    record, gazetteer=gazetteer, now=now
                )
    return found


def with_lenders(database_url: str, offers: list[Any], now: datetime) -> list[Any]:
    """``offers`` as clustering compares them: an offer that names no provider but a
    ``provider_ref`` reads the name the other records with that reference give
    (``dedupe.providers.resolve_provider_refs`` over those records)."""
    from catalog import store
    from catalog.db import get_engine, session_scope
    from dedupe.providers import with_resolved_providers
    from normalize import normalize_record
    from normalize.places import load_gazetteer

    refs = {o.provider_ref for o in offers if getattr(o, "provider_ref", None)}
    if not refs:
        return offers
    own = {(o.source_id, o.source_key) for o in offers}
    gazetteer = load_gazetteer()
    lenders = []
    with session_scope(get_engine(database_url)) as session:
        for record in store.iter_raw(session):
            if record.fields.get("provider_ref") in refs and (
                (record.source_id, record.source_key) not in own
            ):
                lenders.append(normalize_record(record, gazetteer=gazetteer, now=now))
    return with_resolved_providers([*offers, *lenders])[: len(offers)]


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


@click.group("dedupe")
def dedupe_group() -> None:
    """Inspect the deduplication (which records count as one offer, and why)."""


@dedupe_group.command("explain")
@click.argument("key1")
@click.argument("key2")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one document).")
@click.option("--now", "now_text", default=None, help="Reference time (ISO) for normalizing.")
@click.pass_obj
def explain_command(
    settings: Settings, key1: str, key2: str, as_json: bool, now_text: str | None
) -> None:
    """Per-field similarities, score, decision and reason for two records.

    Example: mintsuche dedupe explain komm_mach_mint:https://… leipzig_mint_orte:http://…
    """
    from dedupe import MATCH_THRESHOLD, explain

    keys = [_split_key(key1), _split_key(key2)]
    if now_text:
        try:
            now = datetime.fromisoformat(now_text)
        except ValueError as exc:
            raise click.BadParameter(f"--now {now_text!r}: {exc}") from exc
        now = now if now.tzinfo else now.replace(tzinfo=UTC)
    else:
        now = datetime.now(UTC)
    offers = load_offers(settings.database_url, keys, now)
    missing = [f"{sid}:{skey}" for sid, skey in keys if (sid, skey) not in offers]
    if missing:
        raise click.ClickException(
            "nicht im Katalog: " + ", ".join(missing) + " (siehe 'mintsuche clusters --json')"
        )
    a, b = offers[keys[0]], offers[keys[1]]
    result = explain(*with_lenders(settings.database_url, [a, b], now))
    records = [
        {
            "key": f"{o.source_id}:{o.source_key}",
            "title": o.title,
            "provider": o.provider,
            "city": o.city,
            "plz": o.plz,
        }
        for o in (a, b)
    ]
    if as_json:
        doc = {
            "a": records[0],
            "b": records[1],
            "similarities": result.similarities,
            "weights": result.weights,
            "raw_score": result.raw_score,
            "score": result.score,
            "threshold": MATCH_THRESHOLD,
            "decision": result.decision,
            "gates": list(result.gates),
            "reason": result.reason,
        }
        json.dump(doc, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return
    for label, rec in zip(("A", "B"), records, strict=True):
        click.echo(f"{label}: {rec['key']}")
        place = f"{rec['plz'] or ''} {rec['city'] or ''}".strip() or "–"
        click.echo(f"   {rec['title']} | {rec['provider'] or '–'} | {place}")
    click.echo("")
    click.echo(f"{'Feld':<14} {'Ähnlichkeit':>11} {'Gewicht':>8}")
    for name, sim in result.similarities.items():
        label = _FIELD_LABELS.get(name, name)
        click.echo(f"{label:<14} {_fmt(sim):>11} {result.weights.get(name, 0.0):>8.2f}")
    click.echo("")
    click.echo(
        f"Score: {result.score:.2f} (ungedeckelt {result.raw_score:.2f}, "
        f"Schwelle {MATCH_THRESHOLD:.2f})"
    )
    verdict = "dasselbe Angebot" if result.decision == "match" else "verschiedene Angebote"
    click.echo(f"Entscheidung: {result.decision} ({verdict})")
    click.echo(f"Begründung: {result.reason}")


COMMANDS = [dedupe_group]
