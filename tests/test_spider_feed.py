"""The feed spider over loopback HTTP on constructed feeds (tests/fixtures/constructed/,
labelled constructed): RSS with HTML in a title and an entry without title, Atom with an
HTML title, a truncated feed (entries before the break are kept) and a file that is no
feed at all."""

from __future__ import annotations

from typing import Any

import pytest
from test_spider_json import HOST, crawl_fixture, fixture_entry

from crawlers.spiders.feed import (
    HTML_TITLE_STAT,
    INVALID_FEED_STAT,
    NOT_WELLFORMED_STAT,
    plain_text,
)

FIELDS = {
    "title": {"jmespath": "title"},
    "description": {"jmespath": "content || summary"},
    "url": {"jmespath": "link"},
    "subjects": {"jmespath": "tags", "many": True},
    "provider": {"jmespath": "author"},
}
FILES = ("rss.xml", "atom.xml", "abgebrochen.xml", "kein-feed.xml")


@pytest.fixture(scope="module")
def feed_crawl(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], list[Any]]:
    entry = fixture_entry(
        "constructed_feed",
        "feed",
        {"key": "url"},
        FIELDS,
        [f"https://{HOST}/{name}" for name in FILES],
    )
    return crawl_fixture(tmp_path_factory.mktemp("feed"), entry)


def test_entries_become_records_with_plain_titles(feed_crawl) -> None:
    event, records = feed_crawl
    assert event["status"] == "success", event
    by_url = {r.source_key: r.fields for r in records}
    assert sorted(by_url) == [
        f"https://{HOST}/feed/{name}" for name in ("chemie", "mathe", "robotik", "sternwarte")
    ]
    assert by_url[f"https://{HOST}/feed/robotik"] == {
        "title": "Beispiel-Robotik & Elektronik-Workshop",
        "description": "Konstruiertes Testangebot für Schülerinnen ab Klasse 7.",
        "url": f"https://{HOST}/feed/robotik",
        "subjects": ["Informatik", "Technik"],
    }
    assert by_url[f"https://{HOST}/feed/mathe"] == {
        "title": "Beispiel-Mathezirkel Erfurt",
        "description": "Konstruiertes Testangebot, jeden Dienstag.",
        "url": f"https://{HOST}/feed/mathe",
        "subjects": ["Mathematik"],
        "provider": "Beispielverein e. V.",
    }


def test_malformed_feeds_are_counted_and_nothing_else_lost(
    feed_crawl, capfd: pytest.CaptureFixture[str]
) -> None:
    event, records = feed_crawl
    # rss.xml: an entry without title; abgebrochen.xml: the cut-off second entry
    assert event["stats"]["dropped"] == {"no_title": 2}
    assert event["stats"]["errors"]["log_errors"] == 1  # kein-feed.xml
    assert event["stats"]["page_failures"] == 0
    assert any(r.fields["title"] == "Beispiel-Chemie-Ferienkurs" for r in records)


def test_counts_in_the_log(tmp_path, capfd: pytest.CaptureFixture[str]) -> None:
    entry = fixture_entry(
        "constructed_feed",
        "feed",
        {"key": "url"},
        FIELDS,
        [f"https://{HOST}/{name}" for name in ("rss.xml", "abgebrochen.xml", "kein-feed.xml")],
    )
    event, records = crawl_fixture(tmp_path, entry)
    assert len(records) == 3
    err = capfd.readouterr().err
    assert "kein-feed.xml is not a readable RSS/Atom feed" in err
    assert "abgebrochen.xml is not well-formed" in err
    assert f"'{INVALID_FEED_STAT}': 1" in err
    assert f"'{NOT_WELLFORMED_STAT}': 1" in err
    assert f"'{HTML_TITLE_STAT}': 1" in err


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<b>Robotik</b> &amp; Co", "Robotik & Co"),
        ("<p>Zeile 1</p>\n<p>Zeile   2</p>", "Zeile 1 Zeile 2"),
        ("Kleiner als 5 &lt; 7", "Kleiner als 5 < 7"),
        ("<br/>", None),
        (None, None),
    ],
)
def test_plain_text(html: str | None, text: str | None) -> None:
    assert plain_text(html) == text
