"""`mintsuche policy`: the publication policy (policy.yaml) and what it keeps off the site.

Examples::

    mintsuche policy check                 # validate the policy file, say what it publishes
    mintsuche policy report                # published / not published entries, by reason
    mintsuche policy report --json
    MINTSUCHE_POLICY=policy.mitteldeutschland.yaml mintsuche rebuild   # apply another policy

The report reads the ``published`` flags that the last rebuild stored; after editing the
policy, run `mintsuche rebuild` first.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from webapp.config import Settings
from webapp.policy import load_policy, policy_file, reason_label


def policy_counts(database_url: str) -> dict[str, Any]:
    """Counts of the stored catalogue: entries, published, not published by first reason,
    published by Bundesland. Raises ``click.ClickException`` if there is no catalogue."""
    from sqlmodel import select

    from catalog.db import get_engine, session_scope
    from catalog.schema import ClusterRow

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        if not Path(url.database).exists():
            raise click.ClickException(
                f"keine Datenbank unter {url.database}: erst `mintsuche crawl` ausführen"
            )
    try:
        with session_scope(get_engine(database_url)) as session:
            rows = session.exec(
                select(ClusterRow.published, ClusterRow.unpublished_reason, ClusterRow.bundesland)
            ).all()
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"Datenbank nicht lesbar ({type(exc).__name__}): erst `mintsuche rebuild` ausführen"
        ) from exc
    reasons: Counter[str] = Counter()
    states: Counter[str] = Counter()
    for published, reason, bundesland in rows:
        if published:
            states[bundesland or "unbekannt"] += 1
        else:
            reasons[reason or "?"] += 1
    return {
        "entries": len(rows),
        "published": sum(states.values()),
        "unpublished": sum(reasons.values()),
        "unpublished_by_reason": dict(reasons.most_common()),
        "published_by_bundesland": dict(sorted(states.items(), key=lambda kv: (-kv[1], kv[0]))),
    }


@click.group()
def policy() -> None:
    """The publication policy (policy.yaml, or the file in MINTSUCHE_POLICY)."""


@policy.command("check")
def check_command() -> None:
    """Validate the policy file and print what it publishes.

    Example: mintsuche policy check
    """
    path = policy_file()
    loaded = load_policy(path)
    where = str(path) if path.exists() else f"{path} (fehlt: alles wird veröffentlicht)"
    click.echo(f"{where}: {loaded.describe()}")


@policy.command("report")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_obj
def report_command(settings: Settings, as_json: bool) -> None:
    """Count published and unpublished catalogue entries, by reason (after the last rebuild).

    Example: mintsuche policy report --json
    """
    counts = policy_counts(settings.database_url)
    if as_json:
        click.echo(json.dumps(counts, ensure_ascii=False, indent=2))
        return
    click.echo(
        f"Einträge: {counts['entries']}, veröffentlicht: {counts['published']}, "
        f"nicht veröffentlicht: {counts['unpublished']}"
    )
    for reason, count in counts["unpublished_by_reason"].items():
        click.echo(f"  nicht veröffentlicht – {reason_label(reason)}: {count}")
    for state, count in counts["published_by_bundesland"].items():
        click.echo(f"  veröffentlicht – {state}: {count}")


COMMANDS = [policy]
