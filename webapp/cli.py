"""The `mintsuche` command line: the edge where domain errors become exit codes.

Examples::

    mintsuche sources check                 # validate sources.yaml, list the sources
    mintsuche sources check komm_mach_mint --replay   # dry run: records + field coverage
    mintsuche sources schema -o sources.schema.json
    mintsuche crawl --replay                # every enabled source, from the snapshots
    mintsuche crawl komm_mach_mint          # one source, live
    mintsuche rebuild                       # normalize + dedupe + index, no crawling
    mintsuche serve --host 0.0.0.0 --port 8000
    mintsuche demo                          # crawl the snapshots, rebuild, serve
    mintsuche clusters --json
    mintsuche search "Roboter" --json
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from webapp.config import Settings

SNAPSHOTS_DIR = Path(__file__).resolve().parent.parent / "snapshots"
#: A manual crawl holds its sources' locks this long at most (released when it ends).
MANUAL_LOCK_TTL = timedelta(hours=2)


def _now(value: str | None) -> datetime:
    """The one place the clock is read; `--now` pins it for reproducible runs."""
    if value:
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return datetime.now(UTC)


def _load_sources(settings: Settings) -> Any:
    from crawlers.sources import SourcesError, load_sources

    try:
        return load_sources(settings.sources_file)
    except SourcesError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--sources-file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="MINTSUCHE_SOURCES",
    default="sources.yaml",
    show_default=True,
    help="Source definitions.",
)
@click.option(
    "--database-url",
    envvar="DATABASE_URL",
    default=None,
    help="Database (default: var/mintsuche.db).",
)
@click.option(
    "--var-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="MINTSUCHE_VAR_DIR",
    default="var",
    show_default=True,
    help="Working data: SQLite file and search index.",
)
@click.pass_context
def main(ctx: click.Context, sources_file: Path, database_url: str | None, var_dir: Path) -> None:
    """MINT-Suche: harvest MINT offers, build one catalogue, search it."""
    ctx.obj = Settings.from_env(
        sources_file=sources_file, database_url=database_url, var_dir=var_dir
    )


# --- sources -------------------------------------------------------------------------


@main.group()
def sources() -> None:
    """Check and describe the source definitions in sources.yaml."""


@sources.command("check")
@click.argument("ids", nargs=-1)
@click.option("--replay", "mode", flag_value="replay", help="Dry run against the snapshots.")
@click.option("--live", "mode", flag_value="live", help="Dry run against the live site.")
@click.option("--limit", default=5, show_default=True, help="Records to print per source.")
@click.pass_obj
def sources_check(settings: Settings, ids: tuple[str, ...], mode: str | None, limit: int) -> None:
    """Validate sources.yaml; with --replay or --live, fetch and show what a source extracts.

    Example: mintsuche sources check komm_mach_mint --replay

    Nothing is written to the catalogue.
    """
    config = _load_sources(settings)
    chosen = _select(config, ids, include_disabled=True)
    if mode is None:
        for src in chosen:
            state = "aktiv" if src.enabled else "deaktiviert"
            click.echo(f"{src.id:<24} {src.kind:<5} {state:<11} {src.title}")
        click.echo(f"{settings.sources_file}: {len(config.sources)} Quellen, alle gültig.")
        return
    failed = False
    for src in chosen:
        records, runs = _dry_run(settings, src.id, replay=(mode == "replay"))
        failed |= any(r.get("status") != "success" for r in runs)
        _print_check(src, records, limit)
    if failed:
        raise click.ClickException("mindestens eine Quelle lieferte keinen erfolgreichen Lauf")


def _dry_run(settings: Settings, source_id: str, *, replay: bool) -> tuple[list[dict], list[dict]]:
    from crawlers.replay import ReplayServer
    from crawlers.run import crawl_in_subprocess

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "records.jsonl"
        if replay:
            with ReplayServer(SNAPSHOTS_DIR, [source_id]) as server:
                runs = crawl_in_subprocess(
                    [source_id],
                    sources_file=settings.sources_file,
                    database_url=None,
                    replay_hosts=server.host_map,
                    jsonl=out,
                )
        else:
            runs = crawl_in_subprocess(
                [source_id], sources_file=settings.sources_file, database_url=None, jsonl=out
            )
        records = []
        if out.exists():
            with out.open(encoding="utf-8") as fh:
                records = [json.loads(line) for line in fh if line.strip()]
    return records, runs


def _print_check(src: Any, records: list[dict], limit: int) -> None:
    click.echo(f"== {src.id}: {len(records)} Datensätze")
    for rec in records[:limit]:
        click.echo(f"- {rec['source_key']}")
        for name, value in rec["fields"].items():
            text = ", ".join(value) if isinstance(value, list) else str(value)
            click.echo(f"    {name:<14} {text[:100]}")
    names = list(src.fields)
    for rec in records:
        for name in rec["fields"]:
            if name not in names:
                names.append(name)
    click.echo("Feldabdeckung:")
    for name in names:
        filled = sum(1 for r in records if r["fields"].get(name) not in (None, "", []))
        share = 100.0 * filled / len(records) if records else 0.0
        hint = "  <- Selektor traf nichts" if records and filled == 0 else ""
        click.echo(f"    {name:<14} {share:5.1f} %{hint}")


@sources.command("schema")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
def sources_schema(output: Path | None) -> None:
    """Write the JSON Schema of sources.yaml (for editors).

    Example: mintsuche sources schema -o sources.schema.json
    """
    from crawlers.sources import sources_json_schema

    text = json.dumps(sources_json_schema(), indent=2, ensure_ascii=False)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
        click.echo(f"JSON Schema geschrieben: {output}")
    else:
        click.echo(text)


def _select(config: Any, ids: tuple[str, ...], *, include_disabled: bool = False) -> list[Any]:
    if not ids:
        return [s for s in config.sources if include_disabled or s.enabled]
    unknown = [i for i in ids if config.get(i) is None]
    if unknown:
        known = ", ".join(s.id for s in config.sources)
        raise click.ClickException(f"unbekannte Quelle(n): {', '.join(unknown)} (bekannt: {known})")
    chosen = [config.get(i) for i in ids]
    disabled = [s.id for s in chosen if not s.enabled]
    if disabled and not include_disabled:
        raise click.ClickException(
            f"deaktivierte Quelle(n) werden nicht gecrawlt: {', '.join(disabled)} "
            "(enabled: false in sources.yaml; zum Prüfen: mintsuche sources check ID --replay)"
        )
    return chosen


# --- crawl / rebuild ------------------------------------------------------------------


def _crawl(settings: Settings, ids: tuple[str, ...], *, replay: bool, now: datetime) -> list[dict]:
    from catalog import store
    from catalog.db import get_engine, init_db, session_scope
    from crawlers.replay import ReplayServer
    from crawlers.run import CrawlError, crawl_in_subprocess
    from crawlers.scheduler import make_holder

    config = _load_sources(settings)
    chosen = [s.id for s in _select(config, ids)]
    engine = get_engine(settings.database_url)
    init_db(engine)
    with session_scope(engine) as session:
        store.sync_sources(session, config.sources)

    def on_event(event: dict) -> None:
        if event.get("event") == "item":
            click.echo(f"  {event['source']}: {event['count']} Datensätze …", err=True)
        elif event.get("event") == "run":
            click.echo(
                f"  {event['source']}: Lauf {event.get('status')}, "
                f"{event.get('items', 0)} Datensätze",
                err=True,
            )

    log_dir = settings.var_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"crawl-{now.strftime('%Y%m%dT%H%M%SZ')}.log"
    click.echo(f"Crawle {len(chosen)} Quelle(n): {', '.join(chosen)}", err=True)
    click.echo(f"  Protokoll: {log_path}", err=True)
    kwargs: dict[str, Any] = {
        "sources_file": settings.sources_file,
        "database_url": settings.database_url,
        "now": now,
        "on_event": on_event,
        "log_path": log_path,
    }
    # The same per-source lock the scheduler takes: never two crawls of one source at once.
    holder = make_holder()
    locked: list[str] = []
    with session_scope(engine) as session:
        for sid in chosen:
            if store.acquire_lock(
                session, sid, holder=holder, now=datetime.now(UTC), ttl=MANUAL_LOCK_TTL
            ):
                locked.append(sid)
            else:
                click.echo(
                    f"  {sid}: wird gerade von einem anderen Prozess gecrawlt – übersprungen",
                    err=True,
                )
    try:
        if not locked:
            return [{"source": sid, "status": "skipped"} for sid in chosen]
        if replay:
            with ReplayServer(SNAPSHOTS_DIR, locked) as server:
                runs = crawl_in_subprocess(locked, replay_hosts=server.host_map, **kwargs)
        else:
            runs = crawl_in_subprocess(locked, **kwargs)
        return runs + [{"source": s, "status": "skipped"} for s in chosen if s not in locked]
    except (CrawlError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        with session_scope(engine) as session:
            for sid in locked:
                store.release_lock(session, sid, holder=holder)


@main.command()
@click.argument("ids", nargs=-1)
@click.option("--replay", is_flag=True, help="Crawl the recorded snapshots over loopback HTTP.")
@click.option("--now", "now_text", default=None, help="Pin the clock (ISO 8601), for tests.")
@click.option("--no-rebuild", is_flag=True, help="Only store raw records.")
@click.pass_obj
def crawl(
    settings: Settings, ids: tuple[str, ...], replay: bool, now_text: str | None, no_rebuild: bool
) -> None:
    """Crawl sources (all enabled ones without IDS), then rebuild the catalogue.

    Example: mintsuche crawl komm_mach_mint --replay

    A source that fails is recorded as a failed run; its offers already in the catalogue stay.
    Exit code 1 when any run failed.
    """
    now = _now(now_text)
    runs = _crawl(settings, ids, replay=replay, now=now)
    if not no_rebuild:
        _rebuild(settings, now)
    failed = [r for r in runs if r.get("status") != "success"]
    if failed:
        names = ", ".join(f"{r.get('source')} ({r.get('status')})" for r in failed)
        raise click.ClickException(f"fehlgeschlagene Läufe: {names}")


def _rebuild(settings: Settings, now: datetime, *, full: bool = False) -> Any:
    from webapp.pipeline import rebuild as run_rebuild

    started = time.monotonic()
    report = run_rebuild(
        settings.database_url,
        settings.index_dir,
        now=now,
        overrides_file=settings.overrides_file,
        progress=lambda msg: click.echo(f"  {msg}", err=True),
        full=full,
    )
    for reason, count in sorted(report.dropped.items()):
        click.echo(f"  verworfen: {count} × {reason}", err=True)
    click.echo(
        f"Katalog: {report.raw_records} Rohdatensätze, {report.offers} Angebote, "
        f"{report.clusters} Einträge ({time.monotonic() - started:.1f} s)",
        err=True,
    )
    return report


@main.command()
@click.option("--now", "now_text", default=None, help="Pin the clock (ISO 8601), for tests.")
@click.option(
    "--full",
    is_flag=True,
    help="Re-cluster every offer (default: only what changed since the last rebuild).",
)
@click.pass_obj
def rebuild(settings: Settings, now_text: str | None, full: bool) -> None:
    """Normalize, dedupe and index again from the stored raw records (no crawling).

    Dedupe is incremental: offers unchanged since the last rebuild keep their entries
    unless a changed offer reaches them; new rules or overrides re-cluster everything.

    Example: mintsuche rebuild --full
    """
    _rebuild(settings, _now(now_text), full=full)


# --- site ------------------------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.pass_obj
def serve(settings: Settings, host: str, port: int) -> None:
    """Serve the site (development server; use gunicorn behind a proxy in production).

    Example: mintsuche serve --host 0.0.0.0 --port 8000
    """
    from webapp.app import create_app

    app = create_app(settings=settings)
    click.echo(f"MINT-Suche läuft auf http://{host}:{port}/", err=True)
    app.run(host=host, port=port, debug=False, use_reloader=False)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Build the demo catalogue and stop.")
@click.pass_obj
def demo(settings: Settings, host: str, port: int, no_serve: bool) -> None:
    """Crawl every enabled source from its snapshot over loopback HTTP, rebuild, serve.

    Example: mintsuche demo --port 5000
    """
    started = time.monotonic()
    now = _now(None)
    runs = _crawl(settings, (), replay=True, now=now)
    _rebuild(settings, now)
    for run in runs:
        click.echo(f"  {run.get('source')}: {run.get('status')}, {run.get('items', 0)} Datensätze")
    click.echo(f"Demo-Katalog gebaut in {time.monotonic() - started:.1f} s", err=True)
    if not no_serve:
        ctx = click.get_current_context()
        ctx.invoke(serve, host=host, port=port)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one document).")
@click.pass_obj
def clusters(settings: Settings, as_json: bool) -> None:
    """List every cluster with its members (source_id, source_key).

    Example: mintsuche clusters --json > clusters.json
    """
    from webapp.pipeline import cluster_listing

    listing = list(cluster_listing(settings.database_url))
    if as_json:
        json.dump(listing, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return
    sizes = Counter(len(c["members"]) for c in listing)
    click.echo(f"{len(listing)} Einträge; Größen: {dict(sorted(sizes.items()))}")
    for c in listing:
        if len(c["members"]) > 1:
            click.echo(f"{c['id']}  {c['title']}")
            for m in c["members"]:
                click.echo(f"    {m['source_id']}  {m['source_key']}")


@main.command()
@click.argument("query", default="")
@click.option("--json", "as_json", is_flag=True, help="Print the same JSON as /suche.json.")
@click.option("--page", default=1, show_default=True)
@click.pass_obj
def search(settings: Settings, query: str, as_json: bool, page: int) -> None:
    """Search the catalogue from the command line.

    Example: mintsuche search "Roboter" --json
    """
    from webapp.app import create_app

    app = create_app(settings=settings)
    with app.test_client() as client:
        resp = client.get("/suche.json", query_string={"q": query, "seite": page})
    data = resp.get_json()
    if as_json:
        json.dump(data, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return
    click.echo(f"{data['total']} Treffer")
    for hit in data["hits"]:
        click.echo(f"- {hit['title']} ({hit.get('provider') or '–'}, {hit.get('city') or '–'})")


def _register_command_modules() -> None:
    """Add the commands of every module in ``webapp/commands`` (their ``COMMANDS`` list)."""
    import importlib
    import pkgutil

    from webapp import commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"webapp.commands.{info.name}")
        for command in getattr(module, "COMMANDS", []):
            main.add_command(command)


_register_command_modules()
