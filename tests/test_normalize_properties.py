"""Property tests: no normalize parser raises on any Unicode input, results are stable."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawlers.records import RawRecord
from normalize import NormalizeError, load_gazetteer, normalize_record
from normalize.audience import GROUPS, parse_audience
from normalize.costs import COST_KINDS, parse_costs
from normalize.dates import parse_dates, parse_opening_hours
from normalize.places import normalize_bundesland, parse_wkt_point, repair_plz, split_address
from normalize.text import clean_text, repair_mojibake, shorten
from normalize.vocab import (
    FORMAT_LABELS,
    SUBJECT_LABELS,
    formats_from_text,
    map_formats,
    map_subjects,
    subjects_from_text,
)

GAZ = load_gazetteer()
NOW = datetime(2026, 11, 26, tzinfo=UTC)

# German offer vocabulary mixed with arbitrary Unicode (incl. controls and lone surrogates)
FRAGMENTS = st.sampled_from(
    [
        "Klasse", "Klassen", "ab", "bis", "-", "–", "/", ".", ",", "(", ")", "Jahre",
        "Jährige", "5", "12", "10.", "Euro", "€", "ermäßigt", "mind.", "kostenlos", "Spende",
        "Mädchen", "Schüler/-innen", "Sek I", "Point(", "<p>", "</p>", "&amp;", "Ã¤", "Mo",
        "14:00", "Uhr", "11.04.2018", "2708", "Halle (Saale)", " ", "\n", "zzgl.", "jeden",
    ]
)  # fmt: skip
ANY_TEXT = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(codec=None, exclude_categories=())),
    st.lists(FRAGMENTS, max_size=30).map(" ".join),
    st.lists(st.one_of(FRAGMENTS, st.text(max_size=3)), max_size=30).map("".join),
)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(ANY_TEXT)
def test_text_functions(text: str) -> None:
    cleaned = clean_text(text)
    assert clean_text(text) == cleaned
    assert "\x00" not in cleaned
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in cleaned)
    assert repair_mojibake(text) == repair_mojibake(text)
    for n in (0, 1, 10, 50):
        short = shorten(cleaned, n)
        assert len(short) <= n
        assert shorten(cleaned, n) == short


@FAST
@given(ANY_TEXT)
def test_parse_audience_total_and_stable(text: str) -> None:
    result = parse_audience(text)
    assert parse_audience(text) == result
    assert set(result.groups) <= set(GROUPS)
    for lo, hi in ((result.age_min, result.age_max), (result.grade_min, result.grade_max)):
        if lo is not None and hi is not None:
            assert lo <= hi
    if result.grade_min is not None:
        assert 1 <= result.grade_min <= 13


@FAST
@given(ANY_TEXT)
def test_parse_costs_total_and_stable(text: str) -> None:
    result = parse_costs(text)
    assert parse_costs(text) == result
    assert result.kind in COST_KINDS
    if result.kind == "free":
        assert result.price_eur == 0.0
    if result.price_eur is not None:
        assert result.price_eur >= 0


@FAST
@given(ANY_TEXT)
def test_dates_total_and_stable(text: str) -> None:
    info = parse_dates(text, now=NOW)
    assert parse_dates(text, now=NOW) == info
    if info.start and info.end:
        assert info.start <= info.end
    assert parse_opening_hours(text) == parse_opening_hours(text)


@FAST
@given(ANY_TEXT, st.one_of(st.none(), ANY_TEXT))
def test_places_total_and_stable(text: str, city: str | None) -> None:
    plz = repair_plz(text, city, GAZ)
    assert plz is None or (len(plz) == 5 and plz.isdigit() and plz in GAZ)
    assert repair_plz(text, city, GAZ) == plz
    assert split_address(text) == split_address(text)
    assert parse_wkt_point(text) == parse_wkt_point(text)
    assert normalize_bundesland(text) == normalize_bundesland(text)
    assert GAZ.geocode_city(text) == GAZ.geocode_city(text)


@FAST
@given(st.lists(ANY_TEXT, max_size=5), ANY_TEXT)
def test_vocab_total_and_stable(labels: list[str], text: str) -> None:
    ids, unmapped = map_subjects(labels)
    assert set(ids) <= set(SUBJECT_LABELS)
    assert map_subjects(labels) == (ids, unmapped)
    fids, funmapped = map_formats(labels)
    assert set(fids) <= set(FORMAT_LABELS)
    # every non-blank label is either mapped or reported
    assert set(funmapped) <= {" ".join(label.split()) for label in labels}
    assert set(subjects_from_text(text)) <= set(SUBJECT_LABELS)
    assert set(formats_from_text(text)) <= set(FORMAT_LABELS)


FIELD_NAMES = st.sampled_from(
    ["title", "description", "provider", "url", "website", "street", "house_number", "plz",
     "city", "district", "address", "venue", "lat", "lon", "wkt", "bundesland", "subjects",
     "formats", "audience", "costs", "dates", "tags", "country", "unknown_key"]
)  # fmt: skip
FIELD_VALUES = st.one_of(ANY_TEXT, st.lists(ANY_TEXT, max_size=3))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(FIELD_NAMES, FIELD_VALUES, max_size=8))
def test_normalize_record_total_and_stable(fields: dict) -> None:
    record = RawRecord.make("x", "k", "https://example.org/", NOW, fields)
    try:
        offer = normalize_record(record, gazetteer=GAZ, now=NOW)
    except NormalizeError:
        return
    assert offer.title
    assert normalize_record(record, gazetteer=GAZ, now=NOW) == offer


def _strip_reference(text: str) -> str:
    """The per-character definition of ``_strip_unsafe_chars`` (before its fast path)."""
    import unicodedata

    out = []
    for ch in text:
        if ch in "\n\u2029":
            out.append(ch)
        elif ch in "\t\r\f\v":
            out.append(" " if ch != "\r" else "\n")
        elif unicodedata.category(ch) not in ("Cc", "Cs", "Co", "Cn", "Cf"):
            out.append(ch)
    return "".join(out)


@given(st.text(alphabet=st.characters(codec=None)) | st.text("ab\n\r\t\x00\u200b\u2029 \xa0"))
@settings(max_examples=500, deadline=None)
def test_strip_unsafe_chars_fast_path_is_exact(text: str) -> None:
    from normalize.text import _strip_unsafe_chars

    assert _strip_unsafe_chars(text) == _strip_reference(text)
