"""Settings: read from the environment in this one place, then passed around as constants.

| variable | default | meaning |
| --- | --- | --- |
| `DATABASE_URL` | `sqlite:///var/mintsuche.db` | the record (SQLite in WAL mode, or PostgreSQL) |
| `MINTSUCHE_SOURCES` | `sources.yaml` | the source definitions |
| `MINTSUCHE_VAR_DIR` | `var` | working data: the SQLite file, the search index |
| `MINTSUCHE_OVERRIDES` | `dedupe_overrides.yaml` | maintainers' must-link / cannot-link decisions |
| `MINTSUCHE_CONTACT_URL` | none | contact URL in the crawler's User-Agent |
| `MINTSUCHE_SECRET_KEY` | random per process | Flask session secret |
| `MINTSUCHE_WEBHOOK_URL` | none | notices about failed runs, POSTed as JSON (`crawlers.notify`) |
| `MINTSUCHE_SMTP_HOST` | none | SMTP server for notice e-mails (with `MINTSUCHE_SMTP_TO`) |
| `MINTSUCHE_SMTP_PORT` | 25 | SMTP port |
| `MINTSUCHE_SMTP_FROM` | `mintsuche@localhost` | sender of notice e-mails |
| `MINTSUCHE_SMTP_TO` | none | recipients of notice e-mails, comma-separated |
| `MINTSUCHE_SMTP_USER` | none | SMTP login (with `MINTSUCHE_SMTP_PASSWORD`) |
| `MINTSUCHE_SMTP_PASSWORD` | none | SMTP password |
| `MINTSUCHE_SMTP_STARTTLS` | off | `1` to use STARTTLS |
| `MINTSUCHE_STALE_RUNS` | 3 | successful runs missing an offer before it leaves search |
| `MINTSUCHE_STALE_DAYS` | 60 | … or days unseen (after >= 1 such run) |
| `MINTSUCHE_ADMIN_PASSWORD_HASH` | none (admin area off) | werkzeug hash of the `/admin` password |
| `MINTSUCHE_TILE_URL` | OpenStreetMap tiles | map tile URL template (`{z}`/`{x}`/`{y}`) |
| `MINTSUCHE_TILE_ATTRIBUTION` | © OpenStreetMap-Mitwirkende | attribution on the map (HTML) |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_SOURCES = "sources.yaml"
DEFAULT_VAR_DIR = "var"
DEFAULT_OVERRIDES = "dedupe_overrides.yaml"
DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILE_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>-Mitwirkende'
)


@dataclass(frozen=True)
class Settings:
    """Everything configurable, resolved once."""

    sources_file: Path
    var_dir: Path
    database_url: str
    overrides_file: Path
    secret_key: str = field(repr=False, default="")
    tile_url: str = DEFAULT_TILE_URL
    tile_attribution: str = DEFAULT_TILE_ATTRIBUTION

    @property
    def index_dir(self) -> Path:
        return self.var_dir / "index"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if environ is None else environ
        var_dir = Path(
            str(overrides.get("var_dir") or env.get("MINTSUCHE_VAR_DIR", DEFAULT_VAR_DIR))
        )
        url = overrides.get("database_url") or env.get("DATABASE_URL")
        if not url:
            url = f"sqlite:///{var_dir / 'mintsuche.db'}"
        return cls(
            sources_file=Path(
                str(overrides.get("sources_file") or env.get("MINTSUCHE_SOURCES", DEFAULT_SOURCES))
            ),
            var_dir=var_dir,
            database_url=str(url),
            overrides_file=Path(
                str(
                    overrides.get("overrides_file")
                    or env.get("MINTSUCHE_OVERRIDES", DEFAULT_OVERRIDES)
                )
            ),
            secret_key=str(
                overrides.get("secret_key")
                or env.get("MINTSUCHE_SECRET_KEY")
                or os.urandom(24).hex()
            ),
            tile_url=str(
                overrides.get("tile_url") or env.get("MINTSUCHE_TILE_URL") or DEFAULT_TILE_URL
            ),
            tile_attribution=str(
                overrides.get("tile_attribution")
                or env.get("MINTSUCHE_TILE_ATTRIBUTION")
                or DEFAULT_TILE_ATTRIBUTION
            ),
        )
