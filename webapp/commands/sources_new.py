"""`mintsuche sources new ID URL`: start a new source the way a maintainer would by hand.

It appends a disabled entry to ``sources.yaml`` (kind guessed from the page's content
type), records the page as a snapshot when it can be reached (robots.txt obeyed), writes
its PROVENANCE.md, and creates ``tests/expected/<id>.expected.json`` with a ``todo`` that
makes the test suite fail until real expected records are written in by hand.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
import urllib.robotparser
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import click

from webapp.cli import SNAPSHOTS_DIR, main
from webapp.config import Settings

REPO = Path(__file__).resolve().parent.parent.parent
ID_PATTERN = re.compile(r"^[a-z0-9_]+$")
MAX_BYTES = 20 * 1024 * 1024

KIND_BY_TYPE = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/csv": "csv",
    "text/turtle": "rdf",
    "application/rdf+xml": "rdf",
    "application/ld+json": "rdf",
    "application/json": "json",
    "text/calendar": "ical",
    "application/rss+xml": "feed",
    "application/atom+xml": "feed",
}


def guess_kind(content_type: str, url: str) -> str:
    """The source kind for a content type (or the URL's suffix); html when unsure."""
    ctype = content_type.split(";")[0].strip().lower()
    if ctype in KIND_BY_TYPE:
        return KIND_BY_TYPE[ctype]
    suffix = Path(urlsplit(url).path).suffix.lower()
    return {".csv": "csv", ".ttl": "rdf", ".rdf": "rdf", ".ics": "ical", ".json": "json"}.get(
        suffix, "html"
    )


def stored_name(url: str) -> Path:
    """Where the replay server expects a URL: ``<host>/<path>`` (``index.html`` for ``/``,
    ``<path>@<query>`` for a query)."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if path.endswith("/"):
        path += "index.html"
    name = path.lstrip("/")
    if parts.query:
        name += "@" + parts.query
    return Path(parts.hostname or "unknown") / name


def fetch(url: str, *, user_agent: str, timeout: float = 20.0) -> tuple[bytes, str]:
    """GET ``url`` if robots.txt allows it; return (body, content type).

    Raises ``PermissionError`` when robots.txt disallows the page and ``OSError`` (incl.
    ``urllib.error.URLError``) when it cannot be reached.
    """
    parts = urlsplit(url)
    robots = urllib.robotparser.RobotFileParser(f"{parts.scheme}://{parts.netloc}/robots.txt")
    try:
        robots.read()
    except (OSError, ValueError):
        robots = None  # no robots.txt reachable: allowed, as crawlers treat it
    if robots is not None and not robots.can_fetch(user_agent, url):
        raise PermissionError(f"robots.txt of {parts.netloc} disallows {url}")
    request = urllib.request.Request(url, headers={"User-Agent": user_agent})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http/https only)
        body = response.read(MAX_BYTES + 1)
        if len(body) > MAX_BYTES:
            raise OSError(f"{url} is larger than {MAX_BYTES // (1024 * 1024)} MB")
        return body, response.headers.get("Content-Type", "")


def yaml_entry(source_id: str, url: str, kind: str) -> str:
    """A disabled sources.yaml entry with everything a maintainer has to fill in."""
    parts = urlsplit(url)
    homepage = f"{parts.scheme}://{parts.netloc}/"
    return f"""
  # ---------------------------------------------------------------------- {source_id}
  # Added by `mintsuche sources new`. Fill in title, description, strengths, licence
  # and the field rules, check with `mintsuche sources check {source_id} --replay`,
  # then set enabled: true.
  - id: {source_id}
    title: "TODO: Name der Plattform"
    homepage: {homepage}
    description: "TODO: kurze Beschreibung"
    strengths: []
    kind: {kind}
    enabled: false
    notes: "Angelegt mit mintsuche sources new am {{date}}; Selektoren fehlen noch."
    start_urls:
      - {url}
    schedule: "0 4 * * 1"
    licence:
      name: "TODO: Lizenz der Daten"
"""


@click.command("new")
@click.argument("source_id")
@click.argument("url")
@click.option("--no-fetch", is_flag=True, help="Do not fetch the page (offline).")
@click.option(
    "--snapshots-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where snapshots live (default: the project's snapshots/).",
)
@click.option(
    "--expected-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where expected records live (default: tests/expected/).",
)
@click.pass_obj
def sources_new(
    settings: Settings,
    source_id: str,
    url: str,
    no_fetch: bool,
    snapshots_dir: Path | None,
    expected_dir: Path | None,
) -> None:
    """Add a disabled entry for a new platform, record its page, start its expectations.

    Example: mintsuche sources new schuelerlabor_beispiel https://example.org/kurse

    Nothing is written when the id is invalid or already taken; an unreachable page only
    skips the snapshot.
    """
    from crawlers.settings import USER_AGENT
    from crawlers.sources import SourcesError, load_sources

    if not ID_PATTERN.match(source_id):
        raise click.ClickException(f"ungültige Quell-ID {source_id!r}: erlaubt sind a-z, 0-9, _")
    if urlsplit(url).scheme not in {"http", "https"} or not urlsplit(url).hostname:
        raise click.ClickException(f"keine http(s)-Adresse: {url!r}")
    sources_file = settings.sources_file
    try:
        config = load_sources(sources_file)
    except SourcesError as exc:
        raise click.ClickException(
            f"{sources_file} hat Fehler; erst beheben, dann neue Quelle anlegen:\n{exc}"
        ) from exc
    if config.get(source_id) is not None:
        raise click.ClickException(f"die Quelle {source_id!r} gibt es schon in {sources_file}")
    snapshots = snapshots_dir or SNAPSHOTS_DIR
    expected = expected_dir or REPO / "tests" / "expected"
    today = datetime.now(UTC)

    kind = guess_kind("", url)
    if no_fetch:
        click.echo("Seite nicht abgerufen (--no-fetch).")
    else:
        try:
            body, content_type = fetch(url, user_agent=USER_AGENT)
        except PermissionError as exc:
            click.echo(f"Kein Snapshot: {exc}")
        except (OSError, ValueError) as exc:
            click.echo(f"Kein Snapshot: {url} nicht erreichbar ({exc})")
        else:
            kind = guess_kind(content_type, url)
            target = snapshots / source_id / stored_name(url)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
            host_dir = snapshots / source_id / stored_name(url).parts[0]
            robots = host_dir / "robots.txt"
            if not robots.exists():
                robots.write_text("User-agent: *\nAllow: /\n", encoding="utf-8")
            (snapshots / source_id / "PROVENANCE.md").write_text(
                f"# {source_id}\n\n"
                f"- URL: {url}\n"
                f"- recorded: {today.isoformat(timespec='seconds')} by `mintsuche sources new`\n"
                f"- content type: {content_type or 'unknown'}; {len(body)} bytes, unchanged\n"
                "- robots.txt in the host folder is ours (permissive), not recorded\n"
                "- licence: TODO (check the platform's terms before shipping this snapshot)\n",
                encoding="utf-8",
            )
            click.echo(f"Snapshot gespeichert: {target} ({len(body)} Bytes, Art {kind})")

    expected.mkdir(parents=True, exist_ok=True)
    expected_file = expected / f"{source_id}.expected.json"
    if not expected_file.exists():
        expected_file.write_text(
            json.dumps(
                {
                    "source_id": source_id,
                    "url": url,
                    "todo": "Write at least 5 records by hand from the snapshot, then delete "
                    "this key (tests fail while it is here).",
                    "records": [],
                },
                ensure_ascii=False,
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        click.echo(f"Erwartete Datensätze angelegt (noch leer): {expected_file}")

    text = sources_file.read_text(encoding="utf-8")
    if not text.endswith("\n"):
        text += "\n"
    entry = yaml_entry(source_id, url, kind).replace("{date}", today.date().isoformat())
    sources_file.write_text(text + entry, encoding="utf-8")
    try:
        load_sources(sources_file)
    except SourcesError as exc:  # should not happen; undo rather than leave a broken file
        sources_file.write_text(text, encoding="utf-8")
        raise click.ClickException(f"neuer Eintrag wäre ungültig, nichts geändert:\n{exc}") from exc
    click.echo(f"Eintrag {source_id} (deaktiviert, Art {kind}) an {sources_file} angehängt.")
    click.echo(
        "Weiter: Felder und Selektoren eintragen, dann "
        f"`mintsuche sources check {source_id} --replay`, dann enabled: true."
    )


main.commands["sources"].add_command(sources_new)  # type: ignore[attr-defined]

COMMANDS: list[click.Command] = []
