"""The raw record: what a spider yields, verbatim strings plus provenance."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

RawValue = str | list[str]


def content_hash(fields: dict[str, Any]) -> str:
    """Return the sha256 hex digest of the canonical JSON form of ``fields``."""
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record as a source published it.

    ``source_key`` is the record's identity at the source (detail URL for html, subject URI
    for rdf, the declared key for csv); ``url`` is always the original URL, never a replay
    address; ``fetched_at`` is timezone-aware UTC.
    """

    source_id: str
    source_key: str
    url: str
    fetched_at: datetime
    fields: dict[str, RawValue] = field(default_factory=dict)
    content_hash: str = ""

    @classmethod
    def make(
        cls,
        source_id: str,
        source_key: str,
        url: str,
        fetched_at: datetime,
        fields: dict[str, RawValue],
    ) -> RawRecord:
        """Build a record and compute its content hash."""
        if fetched_at.tzinfo is None:
            raise ValueError("fetched_at must be timezone-aware")
        return cls(source_id, source_key, url, fetched_at, dict(fields), content_hash(fields))

    def to_dict(self) -> dict[str, Any]:
        return {
            "source_id": self.source_id,
            "source_key": self.source_key,
            "url": self.url,
            "fetched_at": self.fetched_at.isoformat(),
            "fields": self.fields,
            "content_hash": self.content_hash,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RawRecord:
        return cls(
            data["source_id"],
            data["source_key"],
            data["url"],
            datetime.fromisoformat(data["fetched_at"]),
            dict(data["fields"]),
            data.get("content_hash") or content_hash(data["fields"]),
        )
