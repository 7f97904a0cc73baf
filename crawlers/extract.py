"""Shared field-rule helpers: turn extracted strings into a raw field value.

Every spider kind first *selects* strings for a field rule in its own way (css/xpath text
nodes for html, property-path objects for rdf, a column cell for csv) and then hands them
to :func:`finish_value`, which applies the rule's post-processing the same way for all
kinds. The steps, in order:

1. ``clean_texts``: normalise the whitespace of every string (strip, collapse runs of
   whitespace to one space) and drop empty strings.
2. ``join``: all strings are joined into one with the given separator; otherwise, without
   ``many``, only the first string is kept.
3. ``regex``: each string is searched with the pattern; group 1 is kept (the whole match
   when the pattern has no group); strings that do not match are dropped.
4. ``split``: every string is split at the separator; the parts are stripped and empty
   parts dropped (so ``"Berufsorientierung, Netzwerke,"`` gives two labels).
5. The result is a list when ``many`` or ``split`` is set, else a single string; ``None``
   (an absent field) when nothing non-empty is left.

This is the order documented on ``crawlers.sources.FieldRule`` (many/join, regex, split).
A rule with ``value`` gives that constant (see :func:`constant_value`).

Nothing here raises for odd input: an invalid ``regex`` is rejected when ``sources.yaml``
is loaded (``crawlers.sources``), a non-matching one yields ``None``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

RawValue = str | list[str]

_WS = re.compile(r"\s+")


def normalize_space(text: str) -> str:
    """Strip ``text`` and collapse every run of whitespace (incl. NBSP) into one space."""
    return _WS.sub(" ", text.replace("\xa0", " ")).strip()


def clean_texts(texts: Iterable[str | None]) -> list[str]:
    """Normalise the whitespace of each string and drop empty ones (and ``None``)."""
    out: list[str] = []
    for text in texts:
        if text is None:
            continue
        cleaned = normalize_space(str(text))
        if cleaned:
            out.append(cleaned)
    return out


def is_empty(value: Any) -> bool:
    """True for ``None``, a blank string, or a list without non-blank strings."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple):
        return all(is_empty(v) for v in value)
    return False


def _rule_attr(rule: Any, name: str, default: Any = None) -> Any:
    return getattr(rule, name, default) if rule is not None else default


def apply_regex(texts: list[str], pattern: str | re.Pattern[str]) -> list[str]:
    """Keep group 1 (or the whole match) of each string that matches ``pattern``."""
    rx = re.compile(pattern) if isinstance(pattern, str) else pattern
    out: list[str] = []
    for text in texts:
        m = rx.search(text)
        if m is None:
            continue
        kept = m.group(1) if rx.groups else m.group(0)
        if kept is not None:
            kept = normalize_space(kept)
            if kept:
                out.append(kept)
    return out


def split_texts(texts: list[str], separator: str) -> list[str]:
    """Split each string at ``separator``; strip the parts and drop empty ones."""
    out: list[str] = []
    for text in texts:
        for part in text.split(separator):
            part = normalize_space(part)
            if part:
                out.append(part)
    return out


def finish_value(texts: Iterable[str | None], rule: Any) -> RawValue | None:
    """Apply ``rule``'s ``regex``/``join``/``many``/``split`` to selected strings.

    ``rule`` is a ``crawlers.sources.FieldRule`` (any object with those attributes works;
    missing attributes count as unset). Returns a string, a list of strings, or ``None``
    when nothing non-empty is left. Never raises for odd text.
    """
    many = bool(_rule_attr(rule, "many", False))
    split = _rule_attr(rule, "split")
    regex = _rule_attr(rule, "regex")
    join = _rule_attr(rule, "join")

    values = clean_texts(texts)
    if join is not None:
        joined = join.join(values)
        values = [joined] if joined.strip() else []
    elif not many:
        values = values[:1]
    if regex:
        values = apply_regex(values, regex)
    if split:
        values = split_texts(values, split)
    if many or split:
        return values or None
    return values[0] if values else None


def constant_value(rule: Any) -> RawValue | None:
    """The value of a ``value:`` rule as a raw value (lists stay lists, else ``str``)."""
    value = _rule_attr(rule, "value")
    if value is None:
        return None
    if isinstance(value, list | tuple):
        items = [str(v) for v in value if not is_empty(v)]
        return items or None
    text = str(value)
    if _rule_attr(rule, "split"):
        return split_texts([text], _rule_attr(rule, "split")) or None
    return text if text.strip() else None


def merge_constants(
    fields: dict[str, RawValue | None], constants: dict[str, Any] | None
) -> dict[str, RawValue]:
    """Return ``fields`` without empty values, with ``constants`` filling the gaps.

    A constant never overrides a non-empty extracted value. Constant lists become lists of
    strings, other constants strings.
    """
    out: dict[str, RawValue] = {}
    for key, value in fields.items():
        if not is_empty(value):
            out[key] = value  # type: ignore[assignment]
    for key, value in (constants or {}).items():
        if key in out or is_empty(value):
            continue
        if isinstance(value, list | tuple):
            out[key] = [str(v) for v in value if not is_empty(v)]
        else:
            out[key] = str(value)
    return out
