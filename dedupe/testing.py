"""A minimal offer type satisfying `dedupe.model.OfferLike`, for tests and examples."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

__all__ = ["SimpleOffer"]


@dataclass(frozen=True)
class SimpleOffer:
    """The attributes of ``NormalizedOffer`` that dedupe reads, all but three optional."""

    source_id: str
    source_key: str
    title: str
    provider: str | None = None
    city: str | None = None
    plz: str | None = None
    lat: float | None = None
    lon: float | None = None
    url: str | None = None
    website: str | None = None
    description: str = ""
    street: str | None = None
    subjects: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    start: date | None = None
    end: date | None = None
    cost_kind: str = "unknown"
    girls: bool = False
    audience_text: str | None = None
    groups: list[str] = field(default_factory=list)
    grade_min: int | None = None
    grade_max: int | None = None
    provider_ref: str | None = None  # organiser URI where a platform gives no name
