"""The spider for ``kind: csv`` sources: one record per row of each CSV start URL.

(The module is ``crawlers.spiders.csv``; it imports the standard library's ``csv`` with an
absolute import, which Python 3 resolves to the stdlib, never to this module.)

- Each start URL is fetched and decoded with ``csv.encoding`` (a leading BOM is dropped).
  When that fails the spider tries ``utf-8-sig`` and then ``cp1252``, counts
  ``mintsuche/notes/encoding_fallback`` and logs a warning.
- Rows are read with :class:`csv.DictReader` and ``csv.delimiter`` after skipping
  ``csv.skip_rows`` lines. An optional
  ``csv.documents`` list (``{url, columns}``) adds constant columns to every row of that
  document (e.g. which award list a file is), usable in ``key`` and ``column`` rules
  (read only if the ``CsvSpec`` model has such a field).
- Field rules use ``column`` (cell text, then ``many``/``split``/``regex`` as in
  :mod:`crawlers.extract`) or ``value`` (a constant).
- ``source_key`` = the ``csv.key`` columns' cells (whitespace normalised) joined by ``|``.

How it fails: a column named by a rule or by ``key`` that the file lacks is an error,
counted once per column and document as ``mintsuche/errors/missing_column`` and logged
at ERROR; the field stays empty. A row without key or title is dropped (``no_key``,
``no_title``); a second row with a key seen before in the same run is dropped as
``duplicate_key`` (the first one is kept). A file that cannot be fetched is recorded by
``SourceSpider.on_start_error``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from scrapy.http import Response

from crawlers.extract import RawValue, constant_value, finish_value, normalize_space
from crawlers.spiders.base import STATS_PREFIX, SourceSpider

MISSING_COLUMN_STAT = f"{STATS_PREFIX}/errors/missing_column"
ENCODING_FALLBACK_STAT = f"{STATS_PREFIX}/notes/encoding_fallback"
FALLBACK_ENCODINGS: tuple[str, ...] = ("utf-8-sig", "cp1252")
KEY_SEPARATOR = "|"


def decode_body(body: bytes, encoding: str) -> tuple[str, str | None]:
    """Decode ``body`` with ``encoding``, else with the fallbacks.

    Returns the text and the fallback encoding used (``None`` when ``encoding`` worked).
    ``cp1252`` never fails (undefined bytes are replaced), so this always returns text.
    """
    try:
        text = body.decode(encoding)
        return text.removeprefix("\ufeff"), None
    except (UnicodeDecodeError, LookupError):
        pass
    for fallback in FALLBACK_ENCODINGS:
        try:
            return body.decode(fallback).removeprefix("\ufeff"), fallback
        except UnicodeDecodeError:
            continue
    return body.decode("cp1252", errors="replace"), "cp1252"


def document_columns(url: str, documents: Iterable[Any] | None) -> dict[str, str]:
    """The extra constant columns declared for ``url`` in ``csv.documents``."""
    for doc in documents or []:
        if str(getattr(doc, "url", "")).rstrip("/") == url.rstrip("/"):
            return {str(k): str(v) for k, v in (getattr(doc, "columns", None) or {}).items()}
    return {}


def read_rows(
    text: str, delimiter: str, extra: Mapping[str, str] | None = None, skip_rows: int = 0
) -> tuple[list[str], Iterator[dict[str, str]]]:
    """The header (plus ``extra`` column names) and an iterator over the rows as dicts.

    ``skip_rows`` lines before the header row are ignored.
    """
    stream = io.StringIO(text, newline="")
    for _ in range(skip_rows):
        stream.readline()
    reader = csv.DictReader(stream, delimiter=delimiter)
    header = [name for name in (reader.fieldnames or []) if name is not None]
    extra = dict(extra or {})

    def rows() -> Iterator[dict[str, str]]:
        for row in reader:
            clean = {k: (v if isinstance(v, str) else "") for k, v in row.items() if k}
            clean.update(extra)
            yield clean

    return header + [name for name in extra if name not in header], rows()


def row_key(row: Mapping[str, str], columns: Iterable[str]) -> str | None:
    """The key columns' cells joined by ``|`` (``None`` when all of them are empty)."""
    parts = [normalize_space(row.get(column) or "") for column in columns]
    if not any(parts):
        return None
    return KEY_SEPARATOR.join(parts)


def row_fields(row: Mapping[str, str], rules: Mapping[str, Any]) -> dict[str, RawValue | None]:
    """Apply the ``column``/``value`` rules to one row."""
    fields: dict[str, RawValue | None] = {}
    for name, rule in rules.items():
        if getattr(rule, "value", None) is not None:
            fields[name] = constant_value(rule)
        elif getattr(rule, "column", None):
            fields[name] = finish_value([row.get(rule.column)], rule)
    return fields


def missing_columns(
    header: Iterable[str], rules: Mapping[str, Any], key: Iterable[str]
) -> list[str]:
    """Columns named by ``key`` or a ``column`` rule that are not in ``header``."""
    have = set(header)
    wanted = list(key) + [rule.column for rule in rules.values() if getattr(rule, "column", None)]
    missing: list[str] = []
    for column in wanted:
        if column not in have and column not in missing:
            missing.append(column)
    return missing


class CsvSpider(SourceSpider):
    """Yield one record per CSV row of each start URL."""

    kind = "csv"

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        """Decode the file, check its columns, and yield its records."""
        spec = self.source.csv
        url = response.url
        declared = getattr(spec, "encoding", None) or "utf-8"
        text, fallback = decode_body(response.body, declared)
        if fallback is not None:
            self.count(ENCODING_FALLBACK_STAT)
            self.logger.warning("%s is not %s; decoded as %s instead", url, declared, fallback)
        extra = document_columns(url, getattr(spec, "documents", None))
        header, rows = read_rows(
            text,
            getattr(spec, "delimiter", None) or ",",
            extra,
            skip_rows=int(getattr(spec, "skip_rows", 0) or 0),
        )
        rules = dict(self.source.fields or {})
        key_columns = list(getattr(spec, "key", None) or [])
        for column in missing_columns(header, rules, key_columns):
            self.count(MISSING_COLUMN_STAT)
            self.logger.error(
                "%s has no column %r (source %s; columns: %s); the field stays empty",
                url,
                column,
                self.source.id,
                ", ".join(header),
            )
        for row in rows:
            key = row_key(row, key_columns)
            fields = row_fields(row, rules)
            record = self.unique_record(key, url, fields)
            if record is not None:
                yield record
