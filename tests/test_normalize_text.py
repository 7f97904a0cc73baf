"""normalize.text: HTML to plain text, mojibake, whitespace, shortening."""

from __future__ import annotations

import pytest

from normalize.text import clean_text, repair_mojibake, shorten


@pytest.mark.parametrize(
    "raw,expected",
    [
        # HTML
        ("<p>Hallo &amp; <b>Welt</b></p><p>Zwei</p>", "Hallo & Welt\nZwei"),
        ("Zeile<br>Zeile<br/>Zeile", "Zeile\nZeile\nZeile"),
        ("<ul><li>eins</li><li>zwei</li></ul>", "eins\nzwei"),
        ("<script>alert(1)</script>Text", "Text"),
        ("<style>p{}</style><div>Text</div>", "Text"),
        ('<a href="javascript:alert(1)" onclick="x()">Link</a>', "Link"),
        ("<!-- Kommentar -->sichtbar", "sichtbar"),
        ("<p>Zeilen-\numbruch im\nHTML</p>", "Zeilen- umbruch im HTML"),
        ("a &lt;b&gt; c", "a <b> c"),
        ("Schüler&#47;innen &nbsp;und&#x20;Lehrer", "Schüler/innen und Lehrer"),
        # mojibake (UTF-8 read as Latin-1/cp1252)
        ("MÃ¤dchen", "Mädchen"),
        ("SchÃ¼lerinnen und Sch\u00c3\u00bcler", "Schülerinnen und Schüler"),
        ("GrÃ¶ÃŸe", "Größe"),
        ("â€žZitatâ€œ", "„Zitat“"),
        ("Mädchen und MÃ¤dchen", "Mädchen und Mädchen"),
        ("Ã", "Ã"),
        # whitespace, control characters, NFC
        ("  viel   Platz\t\tda  ", "viel Platz da"),
        ("a\x00b\x07c", "abc"),
        ("Absatz\n\n\nAbsatz", "Absatz\nAbsatz"),
        ("Zeile\r\nZeile", "Zeile\nZeile"),
        ("Wei\u00adche Tren\u200bnung", "Weiche Trennung"),
        ("Mu\u0308nchen", "München"),
        ("", ""),
        (None, ""),
        (["eins", "zwei"], "eins\nzwei"),
        (42, "42"),
    ],
)
def test_clean_text(raw, expected) -> None:
    assert clean_text(raw) == expected


def test_repair_mojibake_leaves_good_text_alone() -> None:
    for text in ("Mädchen", "Größe", "Ärger über Öl", "naïve café", "A © B ® C"):
        assert repair_mojibake(text) == text


TEXT = (
    "Das Schülerlabor bietet Kurse an. Hier kommt z. B. ein zweiter Satz mit der 3. Klasse. "
    "Und noch ein dritter Satz, der lang ist."
)


@pytest.mark.parametrize("n", [1, 5, 10, 20, 35, 60, 90, 120])
def test_shorten_respects_length(n: int) -> None:
    result = shorten(TEXT, n)
    assert len(result) <= n
    assert result.endswith("…")


def test_shorten_cuts_after_sentence() -> None:
    assert shorten(TEXT, 40) == "Das Schülerlabor bietet Kurse an. …"


def test_shorten_does_not_cut_at_abbreviation_or_ordinal() -> None:
    result = shorten(TEXT, 95)
    expected = (
        "Das Schülerlabor bietet Kurse an. Hier kommt z. B. ein zweiter Satz mit der 3. Klasse."
    )
    assert result == f"{expected} …"


def test_shorten_cuts_at_word_boundary() -> None:
    assert shorten("Ferienangebot für Mädchen und Jungen", 20) == "Ferienangebot für…"


def test_shorten_keeps_short_text() -> None:
    assert shorten("kurz", 10) == "kurz"
    assert shorten("", 10) == ""
    assert shorten("irgendwas", 0) == ""
