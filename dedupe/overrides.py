"""Manual corrections to clustering: pairs that must or must not end up together.

``dedupe_overrides.yaml``::

    must_link:
      - ["leipzig_mint_orte:http://…/Schwerpunkt/INSPIRATA.Mathematik",
         "komm_mach_mint:https://www.komm-mach-mint.de/…/inspirata-mitmach-museum"]
    cannot_link:
      - ["komm_mach_mint:https://…/first-lego-league",
         "komm_mach_mint:https://…/first-lego-league-junior-…"]

Each entry is a list of two or more member keys ``"source_id:source_key"``. A must-link
entry puts all its members into one cluster; a cannot-link entry keeps each of its
members apart from every other. Cannot-link beats both the score and must-link.

This module holds the only I/O of the package (`load_overrides`); the clustering core
takes the parsed `Overrides`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import yaml

__all__ = ["Overrides", "OverridesError", "load_overrides", "parse_overrides"]

_KEY = re.compile(r"^[a-z0-9_]+:.+$")


class OverridesError(ValueError):
    """The overrides file is not valid; the message lists every problem found."""

    def __init__(self, problems: list[str], source: str = "dedupe_overrides.yaml") -> None:
        self.problems = problems
        super().__init__(f"{source}: " + f"\n{source}: ".join(problems))


@dataclass(frozen=True)
class Overrides:
    """Parsed overrides: groups of member keys ``"source_id:source_key"``."""

    must_link: frozenset[frozenset[str]] = field(default_factory=frozenset)
    cannot_link: frozenset[frozenset[str]] = field(default_factory=frozenset)

    def must_pairs(self) -> Iterator[tuple[str, str]]:
        """Every pair of keys that a must-link entry ties together, sorted."""
        for group in sorted(self.must_link, key=sorted):
            yield from combinations(sorted(group), 2)

    def cannot_partners(self) -> dict[str, set[str]]:
        """For each key, the keys it must never share a cluster with."""
        partners: dict[str, set[str]] = {}
        for group in self.cannot_link:
            for a, b in combinations(group, 2):
                partners.setdefault(a, set()).add(b)
                partners.setdefault(b, set()).add(a)
        return partners

    def cannot(self, a: str, b: str) -> bool:
        """Whether keys *a* and *b* must never share a cluster."""
        return any(a in group and b in group for group in self.cannot_link)


def _groups(value: object, name: str, problems: list[str]) -> frozenset[frozenset[str]]:
    if value is None:
        return frozenset()
    if not isinstance(value, list):
        problems.append(f"{name}: expected a list of key lists, got {type(value).__name__}")
        return frozenset()
    groups: set[frozenset[str]] = set()
    for number, entry in enumerate(value):
        where = f"{name}[{number}]"
        if not isinstance(entry, list) or len(entry) < 2:
            problems.append(f"{where}: expected a list of at least two keys")
            continue
        bad = [k for k in entry if not isinstance(k, str) or not _KEY.match(k)]
        if bad:
            problems.append(f"{where}: {bad[0]!r} is not a member key 'source_id:source_key'")
            continue
        group = frozenset(entry)
        if len(group) < 2:
            problems.append(f"{where}: the keys are all the same")
            continue
        groups.add(group)
    return frozenset(groups)


def parse_overrides(text: str, source: str = "dedupe_overrides.yaml") -> Overrides:
    """Parse the YAML text of an overrides file; raise `OverridesError` listing every
    problem (unknown top-level keys, malformed entries)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise OverridesError([f"not valid YAML: {exc}"], source) from exc
    if data is None:
        return Overrides()
    if not isinstance(data, dict):
        raise OverridesError(["expected a mapping with must_link and cannot_link"], source)
    problems: list[str] = []
    unknown = sorted(set(data) - {"must_link", "cannot_link"})
    problems.extend(f"unknown key {k!r} (expected must_link or cannot_link)" for k in unknown)
    must = _groups(data.get("must_link"), "must_link", problems)
    cannot = _groups(data.get("cannot_link"), "cannot_link", problems)
    if problems:
        raise OverridesError(problems, source)
    return Overrides(must_link=must, cannot_link=cannot)


def load_overrides(path: str | Path) -> Overrides:
    """Read and parse an overrides file; a missing file means no overrides."""
    path = Path(path)
    if not path.exists():
        return Overrides()
    return parse_overrides(path.read_text(encoding="utf-8"), source=str(path))


def overrides_from_pairs(
    must_link: Iterable[Iterable[str]] = (), cannot_link: Iterable[Iterable[str]] = ()
) -> Overrides:
    """Build `Overrides` in code (tests, callers that keep overrides elsewhere)."""
    return Overrides(
        must_link=frozenset(frozenset(g) for g in must_link),
        cannot_link=frozenset(frozenset(g) for g in cannot_link),
    )
