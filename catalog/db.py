"""Database access: one engine per URL, sessions, schema creation.

The catalogue lives in one SQL database named by ``DATABASE_URL`` (default: the SQLite file
``var/mintsuche.db`` relative to the current directory). SQLite connections get WAL journal
mode, foreign keys and a busy timeout, so a crawler process and web workers can share the
file. PostgreSQL works through the same code (``postgresql+psycopg://…``).

Errors: SQLAlchemy's own exceptions pass through unchanged.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel

DEFAULT_DATABASE_URL = "sqlite:///var/mintsuche.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def database_url() -> str:
    """Return the configured database URL (env ``DATABASE_URL`` or the SQLite default).

    For a file-based SQLite URL the parent directory is created.
    """
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    _ensure_sqlite_dir(url)
    return url


def _ensure_sqlite_dir(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _json_default(value: Any) -> Any:
    """Make the values the stages put into JSON columns serializable."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):
        return model_dump(mode="json")
    raise TypeError(f"value of type {type(value).__name__} is not JSON serializable")


def json_dumps(value: Any) -> str:
    """Serialize ``value`` for a JSON column (dates as ISO strings, dataclasses as dicts)."""
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def get_engine(url: str | None = None) -> Engine:
    """Return the (cached) engine for ``url`` (default: :func:`database_url`)."""
    url = url or database_url()
    with _engines_lock:
        engine = _engines.get(url)
        if engine is not None:
            return engine
        _ensure_sqlite_dir(url)
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(
                url,
                json_serializer=json_dumps,
                connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            )
            event.listen(engine, "connect", _sqlite_on_connect)
        else:
            engine = create_engine(url, json_serializer=json_dumps, pool_pre_ping=True)
        _engines[url] = engine
        return engine


def dispose_engines() -> None:
    """Close all cached engines (tests, forked worker processes)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def init_db(engine: Engine) -> None:
    """Create all catalogue tables that do not exist yet, and add columns that newer code
    declares but an older database lacks (additive changes only; nothing is dropped)."""
    from catalog import schema  # noqa: F401  (registers the table models)

    SQLModel.metadata.create_all(engine)
    _add_missing_columns(engine)


def _add_missing_columns(engine: Engine) -> None:
    """``ALTER TABLE … ADD COLUMN`` for declared columns missing in the database.

    Raises ``RuntimeError`` naming the table and column when a missing column is NOT NULL
    without a default, because such a column cannot be added to existing rows.
    """
    from sqlalchemy import inspect, text

    inspector = inspect(engine)
    existing_tables = set(inspector.get_table_names())
    statements = []
    for table in SQLModel.metadata.sorted_tables:
        if table.name not in existing_tables:
            continue
        present = {col["name"] for col in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            col_type = column.type.compile(dialect=engine.dialect)
            default = column.default.arg if column.default is not None else None
            if isinstance(default, bool):
                literal = "TRUE" if default else "FALSE"
                if engine.dialect.name == "sqlite":
                    literal = "1" if default else "0"
                clause = f" NOT NULL DEFAULT {literal}"
            elif isinstance(default, int | float):
                clause = f" NOT NULL DEFAULT {default}"
            elif isinstance(default, str):
                clause = " NOT NULL DEFAULT '" + default.replace("'", "''") + "'"
            elif column.nullable:
                clause = ""
            else:
                raise RuntimeError(
                    f"cannot add column {table.name}.{column.name} (NOT NULL, no default) "
                    "to an existing database: delete it and crawl again, or migrate by hand"
                )
            statements.append(
                f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {col_type}{clause}'
            )
    if statements:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """Yield a session that commits on success and rolls back on an exception.

    Objects stay usable after the commit (``expire_on_commit=False``).
    """
    with Session(engine or get_engine(), expire_on_commit=False) as db_session:
        try:
            yield db_session
            db_session.commit()
        except BaseException:
            db_session.rollback()
            raise


#: Name used in docs/design.md.
session = session_scope
