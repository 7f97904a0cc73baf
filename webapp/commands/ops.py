"""Operations commands: ``mintsuche schedule`` and ``mintsuche status``.

Examples::

    mintsuche schedule                  # foreground scheduler (systemd, a container)
    mintsuche status                    # run history of every source
    mintsuche status komm_mach_mint --limit 10 --json
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click

from webapp.config import Settings


def _sources(settings: Settings) -> Any:
    from crawlers.sources import SourcesError, load_sources

    try:
        return load_sources(settings.sources_file)
    except SourcesError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command("schedule")
@click.pass_obj
def schedule(settings: Settings) -> None:
    """Run the crawl scheduler in the foreground until SIGTERM / Ctrl-C.

    Example: mintsuche schedule

    One job per enabled source from its `schedule:` (cron, UTC), stored in the database;
    never two runs of one source at once, also across several scheduler processes.
    """
    from catalog import store
    from catalog.db import get_engine, init_db, session_scope
    from crawlers.scheduler import JobContext, build_scheduler, run_until_signal

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = _sources(settings)
    engine = get_engine(settings.database_url)
    init_db(engine)
    with session_scope(engine) as session:
        store.sync_sources(session, config.sources)
    context = JobContext(
        sources_file=settings.sources_file,
        database_url=settings.database_url,
        index_dir=settings.index_dir,
        overrides_file=settings.overrides_file,
        log_dir=settings.var_dir / "logs",
    )
    try:
        scheduler = build_scheduler(context, config.sources)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc

    def started() -> None:
        jobs = scheduler.get_jobs()
        click.echo(
            f"Planer gestartet: {len(jobs)} Aufträge, Datenbank {settings.database_url}", err=True
        )
        for job in jobs:
            click.echo(f"  {job.id}: nächster Lauf {job.next_run_time}", err=True)

    run_until_signal(scheduler, on_started=started)
    click.echo("Planer beendet.", err=True)


def run_history(settings: Settings, source_ids: tuple[str, ...], limit: int) -> list[dict]:
    """Every source (or the chosen ones) with its latest runs, as plain JSON values."""
    from catalog import store
    from catalog.db import get_engine, init_db, session_scope

    config = _sources(settings)
    unknown = [i for i in source_ids if config.get(i) is None]
    if unknown:
        raise click.ClickException(f"unbekannte Quelle(n): {', '.join(unknown)}")
    chosen = [config.get(i) for i in source_ids] if source_ids else list(config.sources)
    engine = get_engine(settings.database_url)
    init_db(engine)
    result = []
    with session_scope(engine) as session:
        for source in chosen:
            runs = store.last_runs(session, source.id, limit=limit)
            result.append(
                {
                    "source": source.id,
                    "enabled": source.enabled,
                    "schedule": source.schedule,
                    "healthy": bool(runs) and runs[0].status in {"success", "running"},
                    "runs": [_run_dict(run) for run in runs],
                }
            )
    return result


def _run_dict(run: Any) -> dict[str, Any]:
    stats = run.stats or {}
    errors = stats.get("errors") or {}
    return {
        "id": run.id,
        "trigger": run.trigger,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "status": run.status,
        "items": run.items,
        "pages": run.pages,
        "dropped": dict(stats.get("dropped") or {}),
        "errors": {
            "text": run.error,
            "exceptions": dict(errors.get("exceptions") or {}),
            "spider_exceptions": errors.get("spider_exceptions", 0),
            "page_failures": stats.get("page_failures", 0),
        },
        "http_status": dict(stats.get("http_status") or {}),
        "coverage": dict(stats.get("coverage") or {}),
        "health": list(stats.get("health") or []),
    }


def _pct(value: float) -> str:
    return f"{round(value * 100)} %"


@click.command("status")
@click.argument("ids", nargs=-1)
@click.option("--limit", default=5, show_default=True, help="Runs per source.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one document).")
@click.pass_obj
def status(settings: Settings, ids: tuple[str, ...], limit: int, as_json: bool) -> None:
    """Run history per source: start, end, status, items, dropped, errors, HTTP, coverage.

    Example: mintsuche status komm_mach_mint --json

    Exit code 1 when the latest run of an enabled source did not succeed.
    """
    history = run_history(settings, ids, limit)
    if as_json:
        json.dump(history, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        for entry in history:
            flag = "ok" if entry["healthy"] else ("–" if not entry["runs"] else "FEHLER")
            state = "" if entry["enabled"] else " (abgeschaltet)"
            click.echo(f"{entry['source']}{state} [{entry['schedule']}]: {flag}")
            if not entry["runs"]:
                click.echo("  noch kein Lauf")
            for run in entry["runs"]:
                http = ", ".join(f"{k}×{v}" for k, v in sorted(run["http_status"].items()))
                dropped = sum(run["dropped"].values())
                click.echo(
                    f"  #{run['id']} {run['started_at']} → {run['finished_at'] or '…'} "
                    f"{run['status']}: {run['items']} Datensätze, {run['pages']} Seiten, "
                    f"{dropped} verworfen, HTTP {http or '–'}"
                )
                if run["coverage"]:
                    cov = ", ".join(f"{k} {_pct(v)}" for k, v in run["coverage"].items())
                    click.echo(f"    Abdeckung: {cov}")
                if run["errors"]["text"]:
                    click.echo(f"    Fehler: {run['errors']['text']}")
    broken = [e["source"] for e in history if e["enabled"] and e["runs"] and not e["healthy"]]
    if broken:
        raise SystemExit(1)


COMMANDS = [schedule, status]
