"""Costs: German cost text into a kind and a regular price.

``parse_costs(text) -> Costs``:

- ``kind``: ``free`` ("kostenlos", "kostenfrei", "keine", "nein", "0 €", "Eintritt frei",
  "bisher nicht"), ``paid`` (an amount above zero, or costs named without an amount:
  "Material und Fahrtkosten"), ``donation`` ("Spende", "auf Spendenbasis"), ``on_request``
  ("nach Absprache", "auf Anfrage", "nach Vereinbarung", "Verhandlungssache") or ``unknown``
  ("je nach Angebot", "ggf. Kopierkosten", anything else).
- ``price_eur``: the regular price, i.e. the first amount that is not marked as reduced
  ("ermäßigt", "(ermäßigt)"), for members, with a pass, a minimum ("mind. jedoch 100 Euro",
  "Mindestgebühr 40 Euro") or an extra ("zzgl. Eintritt: 6 Euro"). "ab 3 Euro" -> 3.0,
  "0,50 - 1,50 Euro" -> 0.5. ``0.0`` for free offers; ``None`` when no amount is stated.
- ``price_max_eur``: the upper end of a range or alternative given right after the regular
  price ("2 - 5 Euro", "2 / 4 Euro", "5,00 Euro (…) bzw. 12,00 Euro").
- ``reduced_eur``, ``minimum_eur``, ``extras_eur`` and ``notes`` (parenthesised remarks)
  are kept separately. The per-unit ("pro Teilnehmer", "je Team") is not interpreted.

A positive amount decides: "5 Euro keine" is paid, "Kinder bis fünf Jahre frei" next to an
amount does not make the offer free. A free word wins over "je nach Angebot"/"Absprache"
when it comes first ("Kostenfrei bzw. je nach Angebot …" is free).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

__all__ = ["COST_KINDS", "Costs", "parse_costs"]

COST_KINDS: tuple[str, ...] = ("free", "paid", "donation", "on_request", "unknown")
# longer input is cut: real cost texts are far shorter, and it bounds the work
MAX_CHARS = 2000


@dataclass(frozen=True, slots=True)
class Costs:
    """Parsed cost statement; amounts in euro."""

    kind: str = "unknown"
    price_eur: float | None = None
    price_max_eur: float | None = None
    reduced_eur: list[float] = field(default_factory=list)
    minimum_eur: float | None = None
    extras_eur: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


_NUM = r"(\d{1,3}(?:\.\d{3})+(?!\d)|\d+(?:[.,]\d{1,2})?(?!\d))"
_CUR = r"(?:euro\b|eur\b|€)"
_AMOUNT_RE = re.compile(rf"(?:{_CUR}\s*{_NUM}|{_NUM}\s*(?:,-|,--)?\s*{_CUR})")
_PAIR_RE = re.compile(rf"{_NUM}\s*(?:-|–|bis|/)\s*{_NUM}\s*{_CUR}")

_REDUCED_BEFORE = re.compile(
    r"erm(?:ä|ae)(?:ß|ss)igt|\berm\.|(?<!nicht)mitglied|\bpass\b|-pass|inhaber"
)
_REDUCED_AFTER = re.compile(r"^\s*(?:\(\s*)?erm(?:ä|ae)(?:ß|ss)igt\s*\)|^\s*\(\s*erm\.")
_MINIMUM_BEFORE = re.compile(r"\bmind\.|mindest|minimum")
_EXTRA_BEFORE = re.compile(r"zzgl|zuzüglich|zusätzlich|\beintritt|kaution|plus\b")
_ALT_BETWEEN = re.compile(r"^\s*(?:\([^()]*\)\s*)?(?:-|–|bis|/|bzw\.?|oder)\s*$")

_FREE_RE = re.compile(
    r"kostenlos|kostenfrei|gebührenfrei|entgeltfrei|gratis|umsonst|unentgeltlich"
    r"|ohne kosten|keine kosten|keine gebühr|eintritt frei|freier eintritt|teilnahme frei"
    r"|^\s*(?:i\.\s*d\.\s*r\.\s*)?keine?\b|^\s*nein\b|^\s*frei\s*$|^\s*bisher nicht\b"
)
_DONATION_RE = re.compile(r"\bspende(?!r)|spenden(?:basis|box)|freiwillige[rn]? (?:beitrag|spende)")
_REQUEST_RE = re.compile(
    r"nach absprache|auf anfrage|nach anfrage|auf nachfrage|nach vereinbarung|absprache"
    r"|verhandlungssache|verhandelbar|individuell anfragen|bitte anfragen"
)
_PAID_WORD_RE = re.compile(
    r"(?<![\w])(?:kosten\b|\w*kosten\b|gebühr|\w+gebühr|beitrag|\w+beitrag|eintritt\b"
    r"|kostenpflichtig|material|^\s*ja\s*$)"
)
_MAYBE_RE = re.compile(r"(?:ggf\.|evtl\.|eventuell|gegebenenfalls|u\.\s*u\.|unter umständen)\s*$")
_PAREN_RE = re.compile(r"\(([^()]*)\)")


def _to_float(text: str) -> float:
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", text):
        return float(text.replace(".", ""))
    return float(text.replace(",", "."))


@dataclass
class _Amount:
    value: float
    start: int
    end: int
    role: str = "regular"


def _find_amounts(low: str) -> list[_Amount]:
    amounts: list[_Amount] = []
    taken: list[tuple[int, int]] = []
    for match in _PAIR_RE.finditer(low):
        a, b = match.group(1), match.group(2)
        amounts.append(_Amount(_to_float(a), match.start(1), match.end(1)))
        amounts.append(_Amount(_to_float(b), match.start(2), match.end()))
        taken.append(match.span())
    for match in _AMOUNT_RE.finditer(low):
        if any(match.start() < e and s < match.end() for s, e in taken):
            continue
        number = match.group(1) or match.group(2)
        amounts.append(_Amount(_to_float(number), match.start(), match.end()))
    amounts.sort(key=lambda a: a.start)
    return amounts


def _classify(low: str, amounts: list[_Amount]) -> None:
    prev_end = 0
    for amount in amounts:
        before = low[prev_end : amount.start]
        after = low[amount.end : amount.end + 20]
        if _MINIMUM_BEFORE.search(before):
            amount.role = "minimum"
        elif _REDUCED_BEFORE.search(before) or _REDUCED_AFTER.search(after):
            amount.role = "reduced"
        elif _EXTRA_BEFORE.search(before):
            amount.role = "extra"
        prev_end = amount.end


def _paid_without_amount(low: str) -> bool:
    for match in _PAID_WORD_RE.finditer(low):
        if not _MAYBE_RE.search(low[max(0, match.start() - 25) : match.start()]):
            return True
    return False


def parse_costs(text: str | list[str] | None) -> Costs:
    """Parse a German cost text; never raises, unknown text gives ``kind="unknown"``."""
    if text is None:
        return Costs()
    if isinstance(text, (list, tuple)):
        text = ", ".join(str(t) for t in text if t)
    text = " ".join(unicodedata.normalize("NFKC", str(text)[:MAX_CHARS]).split())
    low = text.casefold()
    if not low:
        return Costs()

    amounts = _find_amounts(low)
    _classify(low, amounts)
    regular = [a for a in amounts if a.role == "regular"]
    extras = [a for a in amounts if a.role == "extra"]
    reduced = [a.value for a in amounts if a.role == "reduced"]
    minimum = next((a.value for a in amounts if a.role == "minimum"), None)
    notes = [
        " ".join(n.split())
        for n in _PAREN_RE.findall(text)
        if n.strip()
        and not _AMOUNT_RE.search(n.casefold())
        and not _REDUCED_AFTER.search(f"({n.casefold()})")
    ]

    main = regular[0] if regular else (extras[0] if extras else None)
    price = main.value if main else None
    price_max = None
    if main is not None:
        idx = amounts.index(main)
        if idx + 1 < len(amounts):
            nxt = amounts[idx + 1]
            between = low[main.end : nxt.start]
            if nxt.role == "regular" and _ALT_BETWEEN.match(between) and nxt.value > main.value:
                price_max = nxt.value
        if main.role == "extra":
            extras = extras[1:]
    extras_values = [a.value for a in extras]

    positive = any(a.value > 0 for a in amounts if a.role in ("regular", "extra"))
    free_word = _FREE_RE.search(low)
    if _DONATION_RE.search(low) and not free_word:
        kind = "donation"
    elif positive:
        kind = "paid"
    elif free_word or (amounts and not positive and price == 0):
        kind, price = "free", 0.0
    elif _REQUEST_RE.search(low):
        kind = "on_request"
    elif _paid_without_amount(low):
        kind = "paid"
    else:
        kind = "unknown"
    if kind == "free":
        price = 0.0
    return Costs(
        kind=kind,
        price_eur=price,
        price_max_eur=price_max,
        reduced_eur=reduced,
        minimum_eur=minimum,
        extras_eur=extras_values,
        notes=notes,
    )
