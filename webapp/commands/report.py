"""`mintsuche report`: coverage of the stored catalogue per source and field.

Examples::

    mintsuche report                 # table: per source the headline shares, fields, gaps
    mintsuche report --json          # the same as one JSON document
    mintsuche report --top 20 --samples 0

Read-only: the offers and raw records are read from the database, nothing is written.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from webapp.config import Settings

_SHORT = {
    "coordinates": "Koord.",
    "subject": "Fach",
    "format": "Format",
    "ages_or_grades": "Alter/Kl.",
    "cost_kind_known": "Kosten",
}


def load_report(database_url: str, *, top: int = 10, samples: int = 3) -> dict[str, Any]:
    """The coverage report of the catalogue at ``database_url`` (read-only).

    Raises ``click.ClickException`` when the database is missing or holds no offers.
    """
    from catalog.db import get_engine, session_scope
    from catalog.report import build_report

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        if not Path(url.database).exists():
            raise click.ClickException(
                f"keine Datenbank unter {url.database}: erst `mintsuche crawl` ausführen"
            )
    try:
        with session_scope(get_engine(database_url)) as session:
            report = build_report(session, top=top, samples=samples)
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"Datenbank nicht lesbar ({type(exc).__name__}): erst `mintsuche crawl` ausführen"
        ) from exc
    if report["offers"] == 0:
        raise click.ClickException(
            "der Katalog enthält keine Angebote: erst `mintsuche crawl` oder "
            "`mintsuche rebuild` ausführen"
        )
    return report


def _pct(value: float) -> str:
    return f"{value:5.1f} %"


def render_text(report: dict[str, Any]) -> str:
    """The report as a plain-text table for the terminal (German labels)."""
    lines = [
        f"Abdeckung des Katalogs: {report['offers']} Angebote aus "
        f"{report['raw_records']} Rohdatensätzen",
        "",
        "Anteil der Angebote:",
    ]
    labels = report["headline_labels"]
    for key, label in labels.items():
        lines.append(f"  {label:<34} {_pct(report['total']['headline'][key])}")
    rows = [*report["sources"], {**report["total"], "source_id": "alle"}]
    width = max(len(r["source_id"]) for r in rows) + 2
    lines += ["", "Je Quelle:"]
    header = f"  {'Quelle':<{width}}{'Angebote':>9}" + "".join(f"{_SHORT[k]:>11}" for k in labels)
    lines.append(header)
    for row in rows:
        lines.append(
            f"  {row['source_id']:<{width}}{row['offers']:>9}"
            + "".join(f"{_pct(row['headline'][k]):>11}" for k in labels)
        )
    lines += ["", "Felder (Anteil der Angebote mit Wert):"]
    lines.append(f"  {'Feld':<16}" + "".join(f"{r['source_id'][:10]:>12}" for r in rows))
    for name in report["fields"]:
        lines.append(f"  {name:<16}" + "".join(f"{_pct(r['fields'][name]):>12}" for r in rows))
    for source in report["sources"]:
        lines += ["", f"== {source['source_id']} ({source['offers']} Angebote)"]
        if source["unmapped"]:
            lines.append("  Ohne Zuordnung (häufigste Werte):")
            for name, values in source["unmapped"].items():
                shown = "; ".join(f"{_cut(v)} ({n}×)" for v, n in values)
                lines.append(f"    {name:<10} {shown}")
        else:
            lines.append("  Ohne Zuordnung: nichts")
        if source["unread_raw"]:
            lines.append("  Rohfelder, die nicht normalisiert werden:")
            for use in source["unread_raw"]:
                shown = "; ".join(f"{_cut(v)} ({n}×)" for v, n in use["top"])
                lines.append(f"    {use['name']:<14} {_pct(use['filled'])}  {shown}")
        for sample in source["samples"]:
            lines.append(f"  Beispiel roh -> normalisiert: {sample['source_key']}")
            for row in sample["rows"]:
                raw = "; ".join(f"{k}={_cut(v)}" for k, v in row["raw"]) or "–"
                norm = "; ".join(f"{k}={_cut(v)}" for k, v in row["normalized"]) or "–"
                lines.append(f"    {row['label']}: {raw}  ->  {norm}")
    return "\n".join(lines)


def _cut(text: str, limit: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@click.command("report")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option("--top", default=10, show_default=True, type=click.IntRange(1, 100),
              help="Most frequent unmapped values per field.")  # fmt: skip
@click.option("--samples", default=2, show_default=True, type=click.IntRange(0, 50),
              help="Offers per source shown raw next to normalized.")  # fmt: skip
@click.pass_obj
def report(settings: Settings, as_json: bool, top: int, samples: int) -> None:
    """Coverage per source and field, and the values that mapped to nothing.

    Example: mintsuche report --json > abdeckung.json

    Reads the stored offers and raw records; writes nothing. Exit code 1 when the
    catalogue is missing or empty.
    """
    data = load_report(settings.database_url, top=top, samples=samples)
    if as_json:
        json.dump(data, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return
    click.echo(render_text(data))


COMMANDS = [report]
