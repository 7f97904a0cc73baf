"""An older database gains the columns newer code declares (additive only)."""

from __future__ import annotations

import sqlite3

from catalog.db import dispose_engines, get_engine, init_db


def test_missing_columns_are_added(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    init_db(get_engine(url))
    dispose_engines()
    with sqlite3.connect(tmp_path / "old.db") as con:
        con.execute("ALTER TABLE cluster DROP COLUMN published")
        con.execute("ALTER TABLE cluster DROP COLUMN unpublished_reason")
        con.execute(
            "INSERT INTO cluster (id, title, member_count, subjects, formats, platforms, fields)"
            " VALUES ('c1', 'Alt', 1, '[]', '[]', '[]', '{}')"
        )
    init_db(get_engine(url))
    dispose_engines()
    with sqlite3.connect(tmp_path / "old.db") as con:
        columns = {row[1] for row in con.execute("PRAGMA table_info(cluster)")}
        assert {"published", "unpublished_reason"} <= columns
        assert con.execute("SELECT published FROM cluster WHERE id = 'c1'").fetchone() == (1,)
