"""Input protocol and the prepared (pre-normalised) form of an offer used by all stages."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Protocol, runtime_checkable

from dedupe.keys import (
    GENERIC_PROVIDER_WORDS,
    GENERIC_TITLE_WORDS,
    SUBJECT_TITLE_WORDS,
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
_SUBJECT_STEMS = frozenset(stem(w) for w in SUBJECT_TITLE_WORDS)


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
    title_notes: frozenset[str] = frozenset()  # parenthesised subject list (`_title_notes`)


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


_PARENTHESES = re.compile(r"\(([^()]*)\)")

#: Normalised title, its stemmed content words, their `NameWords`, variant tokens, notes.
_TitleKeys = tuple[str, tuple[str, ...], NameWords | None, frozenset[str], frozenset[str]]


def _title_notes(raw: str | None) -> frozenset[str]:
    """Stemmed words of the parentheses in a title that list two or more school subjects
    ("Erneuerbare Energie (Physik/Chemie/Biologie)" → physik, chemi, biologi): a note on
    the subjects the offer serves, not its name. One subject in parentheses
    ("Schnupperstudium (Informatik)") may well name a narrower offer and is no note."""
    if not raw or "(" not in raw:
        return frozenset()
    notes = [_subject_note(note) for note in _PARENTHESES.findall(raw)]
    return frozenset().union(*notes)


@lru_cache(maxsize=1 << 12)
def _subject_note(note: str) -> frozenset[str]:
    """The stemmed words of one parenthesised note if it names two or more subjects."""
    words = frozenset(stem(t) for t in normalize_title(note).split())
    return words if len(words & _SUBJECT_STEMS) >= 2 else frozenset()


class _Preparer:
    """`prepare` with the per-string work done once per distinct string: titles,
    providers, towns, postcodes and websites repeat a lot in a catalogue (the synthetic
    100k set has half as many distinct titles and a seventh as many providers)."""

    def __init__(self) -> None:
        self.titles: dict[str | None, _TitleKeys] = {}
        self.providers: dict[
            tuple[str | None, str],
            tuple[tuple[str, ...], str, NameWords | None, str | None, frozenset[str]],
        ] = {}
        self.cities: dict[str | None, str] = {}
        self.plzs: dict[str | None, str | None] = {}
        self.websites: dict[str | None, tuple[str | None, str | None]] = {}
        self.audiences: dict[str | None, str] = {}

    def title(self, raw: str | None) -> _TitleKeys:
        found = self.titles.get(raw)
        if found is None:
            title = normalize_title(raw)
            tokens = tuple(stem(t) for t in content_tokens(title)) if title else ()
            found = (
                title,
                tokens,
                NameWords.of(tokens, _GENERIC_TITLE_STEMS),
                variant_tokens(title),
                _title_notes(raw),
            )
            self.titles[raw] = found
        return found

    def provider(
        self, raw: str | None, city: str
    ) -> tuple[tuple[str, ...], str, NameWords | None, str | None, frozenset[str]]:
        found = self.providers.get((raw, city))
        if found is None:
            tokens = _provider_tokens(raw, city)
            acronym = "".join(t[0] for t in tokens) if len(tokens) >= 2 else None
            context = set(tokens) | {stem(t) for t in city.split()}
            if acronym:
                context.add(acronym)
            found = (
                tokens,
                " ".join(tokens),
                NameWords.of(tokens, _GENERIC_PROVIDER_STEMS),
                acronym,
                frozenset(context),
            )
            self.providers[(raw, city)] = found
        return found

    def city(self, raw: str | None) -> str:
        found = self.cities.get(raw)
        if found is None:
            found = self.cities[raw] = normalize_city(raw)
        return found

    def plz(self, raw: str | None) -> str | None:
        if raw in self.plzs:
            return self.plzs[raw]
        found = self.plzs[raw] = normalize_plz(raw)
        return found

    def website(self, raw: str | None) -> tuple[str | None, str | None]:
        found = self.websites.get(raw)
        if found is None:
            website = normalize_url(raw)
            found = self.websites[raw] = (website, url_host(website))
        return found

    def audience(self, raw: str | None) -> str:
        found = self.audiences.get(raw)
        if found is None:
            found = self.audiences[raw] = normalize_title(raw)
        return found

    def prepare(self, offer: OfferLike) -> Prepared:
        title, title_tokens, title_words, title_variants, title_notes = self.title(
            getattr(offer, "title", None)
        )
        city = self.city(getattr(offer, "city", None))
        provider_tokens, provider, provider_words, acronym, context = self.provider(
            getattr(offer, "provider", None), city
        )
        website, website_host = self.website(getattr(offer, "website", None))
        lat, lon = _float(getattr(offer, "lat", None)), _float(getattr(offer, "lon", None))
        if lat is None or lon is None:
            lat = lon = None
        start = getattr(offer, "start", None)
        end = getattr(offer, "end", None)
        return Prepared(
            key=member_key(offer),
            source_id=offer.source_id,
            title=title,
            title_tokens=title_tokens,
            title_words=title_words,
            title_variants=title_variants,
            provider=provider,
            provider_tokens=provider_tokens,
            provider_words=provider_words,
            provider_acronym=acronym,
            context=context,
            city=city,
            plz=self.plz(getattr(offer, "plz", None)),
            lat=lat,
            lon=lon,
            subjects=frozenset(getattr(offer, "subjects", None) or ()),
            formats=frozenset(getattr(offer, "formats", None) or ()),
            url=normalize_url(getattr(offer, "url", None)),
            website=website,
            website_host=website_host,
            start=start if isinstance(start, date) else None,
            end=end if isinstance(end, date) else None,
            groups=frozenset(getattr(offer, "groups", None) or ()),
            grades=_grades(offer),
            audience=self.audience(getattr(offer, "audience_text", None)),
            title_notes=title_notes,
        )


def prepare(offer: OfferLike) -> Prepared:
    """Compute the comparison keys of one offer (pure)."""
    return _Preparer().prepare(offer)


def prepare_all(offers: Sequence[OfferLike]) -> list[Prepared]:
    """`prepare` for every offer, in input order (each distinct string normalised once)."""
    preparer = _Preparer()
    return [preparer.prepare(offer) for offer in offers]
