"""Input protocol and the prepared (pre-normalised) form of an offer used by all stages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Protocol, runtime_checkable

from dedupe.keys import (
    GENERIC_PROVIDER_WORDS,
    GENERIC_TITLE_WORDS,
    content_tokens,
    normalize_city,
    normalize_plz,
    normalize_provider,
    normalize_title,
    normalize_url,
    stem,
    url_host,
    variant_tokens,
)

__all__ = ["NameWords", "OfferLike", "Prepared", "member_key", "prepare", "prepare_all"]


# Words are compared in stemmed form (see `dedupe.keys.stem`), so the generic lists are too.
_GENERIC_TITLE_STEMS = frozenset(stem(w) for w in GENERIC_TITLE_WORDS)
_GENERIC_PROVIDER_STEMS = frozenset(stem(w) for w in GENERIC_PROVIDER_WORDS)


@runtime_checkable
class OfferLike(Protocol):
    """What dedupe reads from an offer: the attributes of ``normalize.NormalizedOffer``.

    Declared as read-only properties so that pydantic models, frozen dataclasses and
    plain objects all satisfy it. Missing optional attributes are read with ``getattr``
    defaults, so a small test dataclass may leave out what it does not need.
    """

    @property
    def source_id(self) -> str: ...

    @property
    def source_key(self) -> str: ...

    @property
    def title(self) -> str: ...


def member_key(offer: OfferLike) -> str:
    """The provenance key ``"source_id:source_key"`` used in clusters and overrides."""
    return f"{offer.source_id}:{offer.source_key}"


@dataclass(frozen=True, slots=True)
class NameWords:
    """Precomputed forms of a name's content words for fast comparison."""

    words: frozenset[str]
    specific: frozenset[str]  # words that are not generic for this kind of name
    spaced: str
    compact: str

    @classmethod
    def of(cls, tokens: Sequence[str], generic: frozenset[str] = frozenset()) -> NameWords | None:
        """``None`` for an empty name."""
        if not tokens:
            return None
        words = frozenset(tokens)
        return cls(words, words - generic, " ".join(tokens), "".join(tokens))


@dataclass(slots=True)
class Prepared:
    """An offer reduced to the comparison keys that blocking and scoring need."""

    key: str
    source_id: str
    title: str
    title_tokens: tuple[str, ...]
    title_words: NameWords | None
    title_variants: frozenset[str]
    provider: str
    provider_tokens: tuple[str, ...]
    provider_words: NameWords | None
    provider_acronym: str | None  # initials of a provider name of two or more words
    context: frozenset[str]  # provider words, provider acronym and town words
    city: str
    plz: str | None
    lat: float | None
    lon: float | None
    subjects: frozenset[str]
    formats: frozenset[str]
    url: str | None
    website: str | None
    website_host: str | None
    start: date | None
    end: date | None
    groups: frozenset[str] = frozenset()  # audience groups (normalize's vocabulary)
    grades: tuple[int, int] | None = None  # school grade range
    audience: str = ""  # audience text as a comparison key


@lru_cache(maxsize=1 << 16)
def _provider_tokens(provider: str | None, city: str) -> tuple[str, ...]:
    """Content words of the normalised provider name without the record's own town
    ("Zoo Leipzig" → "zoo"), unless nothing else is left."""
    key = normalize_provider(provider)
    if not key:
        return ()
    tokens = [stem(t) for t in content_tokens(key)]
    city_tokens = {stem(t) for t in city.split()}
    kept = [t for t in tokens if t not in city_tokens]
    return tuple(kept or tokens)


def _float(value: object) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if number == number else None  # NaN → None


def _grades(offer: OfferLike) -> tuple[int, int] | None:
    """School grade range; an open end ("ab Klasse 5") runs to grade 13."""
    low, high = getattr(offer, "grade_min", None), getattr(offer, "grade_max", None)
    low = low if isinstance(low, int) else None
    high = high if isinstance(high, int) else None
    if low is None and high is None:
        return None
    first, last = low if low is not None else 1, high if high is not None else 13
    return (min(first, last), max(first, last))


def prepare(offer: OfferLike) -> Prepared:
    """Compute the comparison keys of one offer (pure)."""
    title = normalize_title(getattr(offer, "title", None))
    city = normalize_city(getattr(offer, "city", None))
    provider_tokens = _provider_tokens(getattr(offer, "provider", None), city)
    website = normalize_url(getattr(offer, "website", None))
    lat, lon = _float(getattr(offer, "lat", None)), _float(getattr(offer, "lon", None))
    if lat is None or lon is None:
        lat = lon = None
    start = getattr(offer, "start", None)
    end = getattr(offer, "end", None)
    title_tokens = tuple(stem(t) for t in content_tokens(title)) if title else ()
    acronym = "".join(t[0] for t in provider_tokens) if len(provider_tokens) >= 2 else None
    context = set(provider_tokens) | {stem(t) for t in city.split()}
    if acronym:
        context.add(acronym)
    return Prepared(
        key=member_key(offer),
        source_id=offer.source_id,
        title=title,
        title_tokens=title_tokens,
        title_words=NameWords.of(title_tokens, _GENERIC_TITLE_STEMS),
        title_variants=variant_tokens(title),
        provider=" ".join(provider_tokens),
        provider_tokens=provider_tokens,
        provider_words=NameWords.of(provider_tokens, _GENERIC_PROVIDER_STEMS),
        provider_acronym=acronym,
        context=frozenset(context),
        city=city,
        plz=normalize_plz(getattr(offer, "plz", None)),
        lat=lat,
        lon=lon,
        subjects=frozenset(getattr(offer, "subjects", None) or ()),
        formats=frozenset(getattr(offer, "formats", None) or ()),
        url=normalize_url(getattr(offer, "url", None)),
        website=website,
        website_host=url_host(website),
        start=start if isinstance(start, date) else None,
        end=end if isinstance(end, date) else None,
        groups=frozenset(getattr(offer, "groups", None) or ()),
        grades=_grades(offer),
        audience=normalize_title(getattr(offer, "audience_text", None)),
    )


def prepare_all(offers: Sequence[OfferLike]) -> list[Prepared]:
    """`prepare` for every offer, in input order."""
    return [prepare(offer) for offer in offers]
