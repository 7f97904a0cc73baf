"""Text cleaning: HTML to safe plain text, broken encodings, whitespace, shortening.

``clean_text`` returns *plain text*: every tag is removed (script and style elements with
their content), entities are decoded, so the result may contain ``<`` or ``&`` as ordinary
characters and must be escaped by whatever renders it (Jinja does). Paragraph breaks of the
input (``<p>``, ``<br>``, ``<div>``, ``<li>``, headings; newlines in non-HTML text) are kept
as a single ``"\\n"``; all other whitespace runs become one space.

Mojibake ("MÃ¤dchen" for "Mädchen": UTF-8 bytes decoded as Latin-1/cp1252) is repaired
per character sequence, and only where the sequence decodes as valid UTF-8 again, so
correctly encoded text around it is never touched.
"""

from __future__ import annotations

import html
import re
import unicodedata

import nh3

__all__ = ["clean_text", "repair_mojibake", "shorten"]

# --- mojibake -------------------------------------------------------------------------------


def _byte_of(char: str) -> int | None:
    """Return the single cp1252 (else Latin-1) byte that ``char`` was decoded from."""
    for codec in ("cp1252", "latin-1"):
        try:
            encoded = char.encode(codec)
        except UnicodeEncodeError:
            continue
        if len(encoded) == 1:
            return encoded[0]
    return None


_CONT_CHARS = "".join(
    sorted(
        {bytes([b]).decode("latin-1") for b in range(0x80, 0xC0)}
        | {
            bytes([b]).decode("cp1252")
            for b in range(0x80, 0xC0)
            if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
        }
    )
)
_MOJIBAKE_RE = re.compile("[\u00c2-\u00f4][" + re.escape(_CONT_CHARS) + "]{1,3}")


def _utf8_length(lead: int) -> int:
    if lead >= 0xF0:
        return 4
    if lead >= 0xE0:
        return 3
    return 2


def _repair_match(match: re.Match[str]) -> str:
    chunk = match.group(0)
    raw = [_byte_of(c) for c in chunk]
    if any(b is None for b in raw):
        return chunk
    data = bytes(b for b in raw if b is not None)
    need = _utf8_length(data[0])
    if len(data) < need:
        return chunk
    head, tail = data[:need], chunk[need:]
    try:
        return head.decode("utf-8") + tail
    except UnicodeDecodeError:
        return chunk


def repair_mojibake(text: str) -> str:
    """Undo UTF-8-read-as-Latin-1/cp1252 damage ("MÃ¤dchen" -> "Mädchen").

    Only sequences that round-trip to valid UTF-8 are changed; applied twice for text that
    was broken twice ("MÃƒÂ¤dchen").
    """
    for _ in range(2):
        if not _MOJIBAKE_RE.search(text):
            break
        text = _MOJIBAKE_RE.sub(_repair_match, text)
    return text


# --- HTML -----------------------------------------------------------------------------------

_TAG_RE = re.compile(r"<\s*/?\s*[a-zA-Z!][^>]*>")
_BLOCK_RE = re.compile(
    r"<\s*(?:br|hr)\s*/?\s*>|<\s*/?\s*(?:p|div|li|ul|ol|h[1-6]|tr|table|section|article|"
    r"blockquote|dd|dt|pre)(?:\s[^>]*)?/?\s*>",
    re.IGNORECASE,
)
_BREAK = "\u2029"  # paragraph separator used as placeholder while cleaning


def _strip_unsafe_chars(text: str) -> str:
    """Drop NUL, control, format and surrogate characters; tabs become spaces.

    Fast path: a line with only printable characters (no category C*, no separator other
    than the space) has nothing to drop or replace, so only the other lines are scanned.
    """
    if text.isprintable():
        return text
    return "\n".join(
        line if line.isprintable() else _strip_unsafe_line(line) for line in text.split("\n")
    )


def _strip_unsafe_line(text: str) -> str:
    out = []
    for ch in text:
        if ch in "\n" + _BREAK:
            out.append(ch)
            continue
        if ch in "\t\r\f\v":
            out.append(" " if ch != "\r" else "\n")
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cs", "Co", "Cn") or cat == "Cf":
            continue
        out.append(ch)
    return "".join(out)


def clean_text(value: object) -> str:
    """Turn raw text or HTML into safe, normalized plain text.

    ``None`` gives ``""``; a list is joined with newlines; other objects use ``str()``.
    Never raises on any string input.
    """
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        text = "\n".join(str(v) for v in value if v is not None)
    else:
        text = str(value)
    text = text.replace("\r\n", "\n")
    text = _strip_unsafe_chars(text)
    if _TAG_RE.search(text):
        # HTML: source newlines are spaces, block elements are breaks.
        text = text.replace("\n", " ")
        text = _BLOCK_RE.sub(_BREAK, text)
        text = nh3.clean(text, tags=set(), attributes={}, strip_comments=True)
    text = html.unescape(text)
    text = repair_mojibake(text)
    text = unicodedata.normalize("NFC", text)
    text = _strip_unsafe_chars(text).replace(_BREAK, "\n")
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


# --- shortening -----------------------------------------------------------------------------

_ABBREVIATIONS = {
    "z",
    "b",
    "u",
    "a",
    "d",
    "h",
    "ca",
    "bzw",
    "nr",
    "dr",
    "prof",
    "st",
    "ggf",
    "inkl",
    "max",
    "mind",
    "usw",
    "etc",
    "evtl",
    "vgl",
    "bspw",
    "insbes",
    "sog",
    "str",
    "tel",
    "e",
    "v",
    "i",
    "r",
    "o",
    "ä",
    "s",
    "m",
    "jh",
    "jhd",
    "min",
    "std",
    "hr",
    "fr",
    "mo",
    "di",
    "mi",
    "do",
    "sa",
    "so",
}
_SENTENCE_END_RE = re.compile(r"[.!?…](?=\s+[\"„“»(]?[A-ZÄÖÜ0-9])")


def _is_sentence_end(text: str, pos: int) -> bool:
    if text[pos] != ".":
        return True
    start = pos
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    word = text[start:pos]
    return not (word.isdigit() or word.casefold() in _ABBREVIATIONS)


def shorten(text: str, n: int) -> str:
    """Shorten ``text`` to at most ``n`` characters, ending with "…" when cut.

    Cuts after the last full sentence that fits if that keeps at least half of ``n``,
    otherwise at the last word boundary; never in the middle of a word unless a single word
    is longer than ``n``.
    """
    if n <= 0:
        return ""
    if len(text) <= n:
        return text
    if n == 1:
        return "…"
    window = text[: n - 1]
    ends = [m.start() for m in _SENTENCE_END_RE.finditer(text[:n]) if m.start() + 1 <= n - 2]
    ends = [e for e in ends if _is_sentence_end(text, e)]
    if ends and ends[-1] + 1 >= n // 2:
        return text[: ends[-1] + 1] + " …"
    cut = window.rstrip()
    if len(text) > len(window) and not text[len(window)].isspace():
        space = max(cut.rfind(" "), cut.rfind("\n"))
        if space > 0:
            cut = cut[:space]
    cut = cut.rstrip(" \n,;:-–—(")
    return (cut or window) + "…"
