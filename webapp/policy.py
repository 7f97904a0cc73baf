"""The publication policy: which catalogue entries are shown (``policy.yaml``).

The working group decides what MINT-Suche publishes; the policy file says it::

    region:
      bundeslaender: [Sachsen, Sachsen-Anhalt, Thüringen]   # empty: all of Germany
      landkreise: []              # e.g. ["Leipzig", "Landkreis Leipzig"] (GeoNames names)
    required_fields: [title]      # every published entry has these fields
    exclude:
      formats: []                 # format ids (normalize.vocab.FORMAT_LABELS)
      groups: []                  # target-group ids (normalize.audience.GROUPS)

An entry (a cluster of offers) is published when **any** of its offers lies in one of
the listed Bundesländer or Landkreise (when a region is set), **some** offer or the merged
entry has every required field, and **none** of its offers has an excluded format or
target group. Entries outside the policy stay in the store with ``published = False`` and
the first reason (:data:`REASON_LABELS`); they are not indexed and their offer page answers
404. Reasons are ``region`` (located elsewhere), ``region_unknown`` (no Bundesland or
Landkreis known), ``missing:<field>``, ``format:<id>``, ``group:<id>``.

Public API: :class:`Policy`, :func:`load_policy` (raises :class:`PolicyError` listing every
problem), :func:`policy_file` (where the policy lives), :func:`check` (pure: cluster row +
member offers -> reasons).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from normalize.audience import GROUPS
from normalize.places import BUNDESLAENDER
from normalize.vocab import FORMAT_LABELS

DEFAULT_POLICY = "policy.yaml"

#: Offer fields a policy may require (a cluster column or an offer attribute).
REQUIRABLE_FIELDS: tuple[str, ...] = (
    "title",
    "description",
    "provider",
    "url",
    "website",
    "street",
    "plz",
    "city",
    "bundesland",
    "landkreis",
    "subjects",
    "formats",
    "audience_text",
    "costs_text",
    "dates_text",
    "start",
)

REASON_LABELS: dict[str, str] = {
    "region": "außerhalb der Region",
    "region_unknown": "Ort unbekannt",
    "missing": "Pflichtfeld fehlt",
    "format": "ausgeschlossenes Format",
    "group": "ausgeschlossene Zielgruppe",
}
"""German labels of the reason kinds (the part before ``:``)."""


class PolicyError(click.ClickException):
    """The policy file is unreadable or invalid; the message lists every problem.

    A ``click.ClickException`` so that ``mintsuche rebuild``/``crawl`` stop with the
    message and exit code 1 instead of a traceback.
    """


class Region(BaseModel):
    """Where published offers are located; both lists empty means all of Germany."""

    model_config = ConfigDict(extra="forbid")

    bundeslaender: list[str] = Field(default_factory=list)
    landkreise: list[str] = Field(default_factory=list)

    @field_validator("bundeslaender")
    @classmethod
    def _known_states(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in BUNDESLAENDER]
        if unknown:
            raise ValueError(
                f"unknown Bundesland {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(BUNDESLAENDER)}"
            )
        return value

    @property
    def is_set(self) -> bool:
        return bool(self.bundeslaender or self.landkreise)


class Exclude(BaseModel):
    """Format and target-group ids whose offers are not published."""

    model_config = ConfigDict(extra="forbid")

    formats: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)

    @field_validator("formats")
    @classmethod
    def _known_formats(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in FORMAT_LABELS]
        if unknown:
            raise ValueError(
                f"unknown format id {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(FORMAT_LABELS)}"
            )
        return value

    @field_validator("groups")
    @classmethod
    def _known_groups(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in GROUPS]
        if unknown:
            raise ValueError(
                f"unknown target group {', '.join(map(repr, unknown))}; known: {', '.join(GROUPS)}"
            )
        return value


class Policy(BaseModel):
    """The whole ``policy.yaml``; the default (empty) policy publishes everything."""

    model_config = ConfigDict(extra="forbid")

    region: Region = Field(default_factory=Region)
    required_fields: list[str] = Field(default_factory=lambda: ["title"])
    exclude: Exclude = Field(default_factory=Exclude)

    @field_validator("required_fields")
    @classmethod
    def _known_fields(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in REQUIRABLE_FIELDS]
        if unknown:
            raise ValueError(
                f"unknown field {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(REQUIRABLE_FIELDS)}"
            )
        return value

    def describe(self) -> str:
        """One German line saying what the policy publishes (for the CLI)."""
        parts = []
        if self.region.is_set:
            parts.append("Region: " + ", ".join(self.region.bundeslaender + self.region.landkreise))
        else:
            parts.append("Region: ganz Deutschland")
        parts.append("Pflichtfelder: " + (", ".join(self.required_fields) or "keine"))
        excluded = self.exclude.formats + self.exclude.groups
        parts.append("ausgeschlossen: " + (", ".join(excluded) or "nichts"))
        return "; ".join(parts)


def policy_file(environ: dict[str, str] | None = None) -> Path:
    """The policy file: ``MINTSUCHE_POLICY`` or ``policy.yaml`` (in the working directory)."""
    env = os.environ if environ is None else environ
    return Path(env.get("MINTSUCHE_POLICY", DEFAULT_POLICY))


def load_policy(path: Path | None) -> Policy:
    """Read and validate a policy file; a missing file (or None) is the empty policy."""
    if path is None or not path.exists():
        return Policy()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"{path}: {exc}") from exc
    try:
        return Policy.model_validate(raw or {})
    except ValidationError as exc:
        problems = [
            f"{path}: {'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        ]
        raise PolicyError("\n".join(problems)) from None


def _filled(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | tuple | set | dict):
        return bool(value)
    return True


def check(policy: Policy, row: dict[str, Any], members: Sequence[Any]) -> list[str]:
    """Every reason why the entry ``row`` (cluster columns) with ``members`` (offers with
    the ``NormalizedOffer`` attributes) is not published; empty if it is published."""
    reasons: list[str] = []
    region = policy.region
    if region.is_set:
        states = {m.bundesland for m in members if m.bundesland}
        if row.get("bundesland"):
            states.add(row["bundesland"])
        kreise = {m.landkreis for m in members if getattr(m, "landkreis", None)}
        if not states and not kreise:
            reasons.append("region_unknown")
        elif not (states & set(region.bundeslaender) or kreise & set(region.landkreise)):
            reasons.append("region")
    for name in policy.required_fields:
        if not (
            _filled(row.get(name)) or any(_filled(getattr(m, name, None)) for m in members)
        ):
            reasons.append(f"missing:{name}")
    formats = {f for m in members for f in m.formats}
    reasons.extend(f"format:{f}" for f in policy.exclude.formats if f in formats)
    groups = {g for m in members for g in m.groups}
    reasons.extend(f"group:{g}" for g in policy.exclude.groups if g in groups)
    return reasons


def reason_label(reason: str) -> str:
    """German label of a reason such as ``missing:city`` -> ``Pflichtfeld fehlt: city``."""
    kind, _, detail = reason.partition(":")
    label = REASON_LABELS.get(kind, kind)
    if kind == "format":
        detail = FORMAT_LABELS.get(detail, detail)
    return f"{label}: {detail}" if detail else label
