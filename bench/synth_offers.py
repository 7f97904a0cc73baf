"""Seeded generator of realistic German MINT offers with controlled duplicates.

Usage as a module: ``generate(n, seed) -> (offers, truth)``; ``truth[i]`` is the id of the
real-world offer behind ``offers[i]``. As a script it writes JSON lines for inspection::

    python bench/synth_offers.py --n 1000 --seed 1 > /tmp/offers.jsonl

Places are real: town, PLZ and coordinates come from the PLZ table shipped with
``normalize`` (towns drawn with a Zipf-like weight so that big towns hold many offers).
Providers (universities, schools, clubs, museums, labs) each run several offers in their
town; a share of them also run one programme in several towns or recurring editions
(hard negatives: same provider and title, different town or year or audience).

About 30 % of the offers are listed again, on another platform or the same one, with
each of these perturbations drawn independently: typos, abbreviations ("Universität" →
"Uni", "und" → "&", "e.V." → "e. V."), reordered title words, missing fields (provider,
PLZ, subjects, dates), a moved PLZ (another PLZ of the same town), and another
platform's wording (status markers such as "(ausgebucht)" or "NEU:", a title prefix,
umlauts written out, the town with a qualifier).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
from collections import defaultdict
from dataclasses import asdict, replace
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dedupe.testing import SimpleOffer  # noqa: E402  (the project root is on the path now)

__all__ = ["SynthOffer", "generate"]

PLZ_CSV = Path(__file__).resolve().parent.parent / "normalize" / "data" / "plz.csv"

PLATFORMS = ("komm_mach_mint", "mint_zukunft", "lernort_mint", "ferienportal", "stadt_portal")
SURNAMES = (
    "Goethe Schiller Humboldt Einstein Curie Noether Gauß Leibniz Kepler Röntgen Planck "
    "Hertz Siemens Zuse Liebig Lessing Heine Kant Hegel Meitner Born Heisenberg Bunsen "
    "Diesel Benz Daimler Otto Ohm Fraunhofer Helmholtz Virchow Koch Ehrlich Behring Mendel "
    "Darwin Newton Galilei Kopernikus Riemann Euler Hilbert Cantor Dedekind Weierstraß "
    "Bosch Linde Junkers Lilienthal Braun Wegener Haber Nernst Ostwald Sommerfeld Laue "
    "Schrödinger Pauli Dirac Bohr Rutherford Faraday Maxwell Volta Ampère Watt Tesla "
    "Hopper Lovelace Turing Babbage Boole Napier Pascal Fermat Descartes Bernoulli"
).split()
PROVIDER_PATTERNS = (
    "Universität {town}",
    "Technische Universität {town}",
    "Hochschule {town}",
    "Fachhochschule {town}",
    "{name}-Gymnasium {town}",
    "{name}-Schule {town}",
    "{name}-Oberschule",
    "Schülerlabor {name}",
    "{name}-Institut für {field}",
    "Förderverein {name} e.V.",
    "Verein für {field} {town} e.V.",
    "{name} gGmbH",
    "Stiftung {name}",
    "Museum für {field} {town}",
    "Zentrum für {field}sbildung e.V.",
    "{name} Akademie GmbH",
    "Volkshochschule {town}",
    "Kreisjugendring {town} e.V.",
)
FIELDS = (
    "Mathematik Informatik Physik Chemie Biologie Technik Robotik Astronomie Geologie "
    "Umwelt Energie Elektrotechnik Medizin Mikrobiologie Meteorologie Ökologie"
).split()
SUBJECT_OF = {
    "Mathematik": "mathematik", "Informatik": "informatik", "Physik": "naturwissenschaften",
    "Chemie": "naturwissenschaften", "Biologie": "naturwissenschaften", "Technik": "technik",
    "Robotik": "informatik", "Astronomie": "naturwissenschaften",
    "Geologie": "naturwissenschaften", "Umwelt": "umwelt", "Energie": "technik",
    "Elektrotechnik": "technik", "Medizin": "naturwissenschaften",
    "Mikrobiologie": "naturwissenschaften", "Meteorologie": "naturwissenschaften",
    "Ökologie": "umwelt",
}  # fmt: skip
THEMES = (
    "Bienen Sterne Vulkane Roboter Raketen Kristalle Planeten Wetter Wasser Wald Boden "
    "Licht Farben Magnete Strom Solarenergie Windkraft Brücken Maschinen Computer Apps "
    "Spiele Algorithmen Daten Primzahlen Knobelaufgaben Zufall Geometrie Muster Codes "
    "Geheimschriften Fossilien Dinosaurier Mikroskope Zellen Gene Enzyme Bakterien Pilze "
    "Insekten Vögel Fische Moore Flüsse Klima Gletscher Batterien Motoren Sensoren Drohnen "
    "Satelliten Lasersysteme Hologramme Schall Musik Kunststoffe Metalle Glas Papier "
    "Seife Kosmetik Lebensmittel Schokolade Kartoffeln Getreide Honig Milch Kompost Müll "
    "Recycling Mobilität Fahrräder Flugzeuge Schiffe Züge Autos Häuser Städte Karten"
).split()
FORMATS = {
    "Workshop": "workshop", "Ferienkurs": "ferien", "Camp": "ferien", "Schnuppertag":
    "studienorientierung", "AG": "ag", "Wettbewerb": "wettbewerb", "Führung": "fuehrung",
    "Projekttag": "projekttag", "Forscherclub": "ag", "Sommerakademie": "ferien",
    "Experimentiertag": "schuelerlabor", "Vortrag": "veranstaltung", "Exkursion": "exkursion",
    "Kurs": "kurs", "Mitmachlabor": "schuelerlabor", "Entdeckertour": "fuehrung",
}  # fmt: skip
TITLE_PATTERNS = (
    "{theme}-{format}",
    "{format}: {theme} und {theme2}",
    "{field} zum Anfassen: {theme}",
    "{format} {field} für Mädchen",
    "Junge Forscher: {theme} entdecken",
    "{theme} im {format}",
    "{field}-{format} {theme}",
    "Mit {theme} experimentieren",
    "{format} '{theme}' ({field})",
    "Die Welt der {theme}",
    "{theme}, {theme2} und mehr: {format}",
    "{field}-Werkstatt: {theme}",
)
AUDIENCES = (
    ("Grundschüler/innen Klasse 3-4", 3, 4),
    ("Schüler/innen Klasse 5-7", 5, 7),
    ("Schüler/innen ab Klasse 8", 8, 13),
    ("Oberstufe", 11, 13),
    ("Kinder von 8 bis 12 Jahren", None, None),
    ("Schülerinnen", None, None),
)
ABBREVIATIONS = (
    ("Universität", "Uni"),
    ("Technische Universität", "TU"),
    ("Fachhochschule", "FH"),
    ("Hochschule", "HS"),
    (" und ", " & "),
    ("e.V.", "e. V."),
    ("gGmbH", "gemeinnützige GmbH"),
    ("Gymnasium", "Gym."),
    ("für", "f."),
    ("Straße", "Str."),
)
WORDING_PREFIX = ("NEU: ", "Ferienangebot: ", "Angebot: ", "MINT: ", "")
WORDING_SUFFIX = (" (ausgebucht)", " (neu)", " - jetzt anmelden", " (Warteliste)", "")
UMLAUTS = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"}


#: The attributes of ``normalize.NormalizedOffer`` that dedupe reads (one shared type).
SynthOffer = SimpleOffer


_ORGANISATION = re.compile(
    r"GmbH|\bAG\b|\bSE\b|mbH|\bKG\b|\be\.\s?V\b|Bank|Versicherung|Verwaltung|Postfach|"
    r"classic|Service|IKK|AOK|Amt|gericht|kasse|Universität|Bundes|Arbeitskreis|Bereich|"
    r"Zentrale|Verlag|Bürgermeister|Landes|Ministerium|Kreis|Direktion|\d|[a-z][A-Z]"
)


def _places() -> list[tuple[str, list[tuple[str, float, float]]]]:
    """Towns with their PLZ and coordinates, biggest (most PLZ) first. Names found in more
    than two districts are left out: they are organisations with their own PLZ
    ("Stadtverwaltung") or names shared by several towns."""
    towns: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
    districts: dict[str, set[str]] = defaultdict(set)
    with PLZ_CSV.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if not row["latitude"]:
                continue
            place = row["place"]
            if _ORGANISATION.search(place) or len(place.split()) > 3:
                continue
            districts[place].add(row["community_code"])
            towns[place].append((row["zipcode"], float(row["latitude"]), float(row["longitude"])))
    kept = [(town, plzs) for town, plzs in towns.items() if len(districts[town]) <= 2]
    return sorted(kept, key=lambda t: (-len(t[1]), t[0]))


def _slug(text: str) -> str:
    out = "".join(ch.lower() if ch.isalnum() else "-" for ch in text)
    return "-".join(p for p in out.split("-") if p)[:60]


def _typo(rnd: random.Random, text: str) -> str:
    words = text.split()
    candidates = [i for i, w in enumerate(words) if len(w) >= 5]
    if not candidates:
        return text
    i = rnd.choice(candidates)
    w = words[i]
    pos = rnd.randrange(1, len(w) - 1)
    kind = rnd.randrange(3)
    if kind == 0:  # swap two letters
        w = w[:pos] + w[pos + 1] + w[pos] + w[pos + 2 :]
    elif kind == 1:  # drop a letter
        w = w[:pos] + w[pos + 1 :]
    else:  # double a letter
        w = w[:pos] + w[pos] + w[pos:]
    words[i] = w
    return " ".join(words)


def _abbreviate(rnd: random.Random, text: str) -> str:
    options = [(long, short) for long, short in ABBREVIATIONS if long in text]
    if not options:
        return text
    long, short = rnd.choice(options)
    return text.replace(long, short, 1)


def _reorder(rnd: random.Random, title: str) -> str:
    if ":" in title:
        head, tail = title.split(":", 1)
        return f"{tail.strip()} - {head.strip()}"
    words = title.split()
    if len(words) < 2:
        return title
    k = rnd.randrange(1, len(words))
    return " ".join(words[k:] + words[:k])


def _fold_umlauts(text: str) -> str:
    return "".join(UMLAUTS.get(ch, ch) for ch in text)


def _perturb(
    rnd: random.Random, offer: SynthOffer, towns: dict[str, list[tuple[str, float, float]]]
) -> SynthOffer:
    """A re-listing of *offer*: each perturbation applied with its own probability."""
    title, provider = offer.title, offer.provider
    city, plz, lat, lon = offer.city, offer.plz, offer.lat, offer.lon
    if rnd.random() < 0.35:
        title = _typo(rnd, title)
    if rnd.random() < 0.3:
        provider = _abbreviate(rnd, provider or "") or None
    if rnd.random() < 0.2:
        title = _abbreviate(rnd, title)
    if rnd.random() < 0.25:
        title = _reorder(rnd, title)
    if rnd.random() < 0.4:  # another platform's wording
        title = rnd.choice(WORDING_PREFIX) + title + rnd.choice(WORDING_SUFFIX)
        if rnd.random() < 0.3:
            title = title.upper()
    if rnd.random() < 0.15:
        title = _fold_umlauts(title)
        provider = _fold_umlauts(provider) if provider else provider
    if rnd.random() < 0.2 and city in towns and len(towns[city]) > 1:  # a moved PLZ
        plz, lat, lon = rnd.choice(towns[city])
    if rnd.random() < 0.1 and city:
        city = rnd.choice((f"{city} (Stadt)", f"{city}/Deutschland", city.upper()))
    changes: dict[str, object] = {}
    if rnd.random() < 0.15:  # missing fields
        changes["provider"] = None
    if rnd.random() < 0.2:
        changes["plz"] = None
        changes["lat"] = changes["lon"] = None
    if rnd.random() < 0.3:
        changes["subjects"] = []
    if rnd.random() < 0.3:
        changes["start"] = changes["end"] = None
    if rnd.random() < 0.3:
        changes["formats"] = []
    if rnd.random() < 0.5:
        changes["audience_text"] = None
    result = replace(
        offer, title=title, provider=provider, city=city, plz=plz, lat=lat, lon=lon, url=None
    )
    return replace(result, **changes)  # type: ignore[arg-type]


def generate(n: int, seed: int = 1, dup_rate: float = 0.3) -> tuple[list[SynthOffer], list[int]]:
    """About *n* offers (originals plus re-listings) and the real-world id of each."""
    rnd = random.Random(seed)
    places = _places()
    towns = dict(places)
    weights = [1.0 / (rank + 1) ** 0.9 for rank in range(len(places))]
    offers: list[SynthOffer] = []
    truth: list[int] = []
    entity = 0
    today = date(2026, 1, 1)
    while len(offers) < n:
        town, plzs = rnd.choices(places, weights)[0]
        plz, lat, lon = rnd.choice(plzs)
        name = rnd.choice(SURNAMES)
        topic = rnd.choice(FIELDS)
        provider = rnd.choice(PROVIDER_PATTERNS).format(town=town, name=name, field=topic)
        website = f"https://www.{_slug(provider)}.de"
        platform = rnd.choice(PLATFORMS)
        series: list[SynthOffer] = []
        for _ in range(rnd.choice((1, 1, 2, 3, 4, 6))):  # offers of this provider
            fmt = rnd.choice(list(FORMATS))
            field_name = rnd.choice(FIELDS) if rnd.random() < 0.5 else topic
            theme, theme2 = rnd.sample(THEMES, 2)
            title = rnd.choice(TITLE_PATTERNS).format(
                theme=theme, theme2=theme2, format=fmt, field=field_name
            )
            audience, gmin, gmax = rnd.choice(AUDIENCES)
            start = today + timedelta(days=rnd.randrange(0, 365))
            end = start + timedelta(days=rnd.choice((0, 0, 1, 4, 6)))
            o_plz, o_lat, o_lon = (plz, lat, lon) if rnd.random() < 0.7 else rnd.choice(plzs)
            base = SynthOffer(
                source_id=platform,
                source_key="",
                title=title,
                provider=provider,
                city=town,
                plz=o_plz,
                lat=round(o_lat + rnd.uniform(-0.01, 0.01), 5),
                lon=round(o_lon + rnd.uniform(-0.01, 0.01), 5),
                website=website,
                subjects=sorted({SUBJECT_OF[field_name], SUBJECT_OF[topic]}),
                formats=[FORMATS[fmt]],
                start=start,
                end=end,
                audience_text=audience,
                grade_min=gmin,
                grade_max=gmax,
            )
            series.append(base)
            roll = rnd.random()
            if roll < 0.06:  # a recurring edition: next year, same title + year
                year = start.year
                series[-1] = replace(base, title=f"{title} {year}")
                series.append(
                    replace(
                        base,
                        title=f"{title} {year + 1}",
                        start=start + timedelta(days=365),
                        end=end + timedelta(days=365),
                    )  # fmt: skip
                )
            elif roll < 0.10:  # the same programme in another town
                other_town, other_plzs = rnd.choices(places, weights)[0]
                p2, la2, lo2 = rnd.choice(other_plzs)
                series.append(replace(base, city=other_town, plz=p2, lat=la2, lon=lo2))
            elif roll < 0.13:  # the same course for another audience
                audience2, g2min, g2max = rnd.choice(
                    [a for a in AUDIENCES if a[0] != audience and a[1] is not None]
                )
                series.append(
                    replace(base, audience_text=audience2, grade_min=g2min, grade_max=g2max)
                )
        for base in series:
            if len(offers) >= n:
                break
            key = f"{_slug(base.title)}-{entity}"
            original = replace(base, source_key=key, url=f"https://{base.source_id}.de/{key}")
            offers.append(original)
            truth.append(entity)
            if rnd.random() < dup_rate:
                for copy in range(rnd.choice((1, 1, 1, 2))):
                    if len(offers) >= n:
                        break
                    other = rnd.choice(PLATFORMS)
                    relisted = _perturb(rnd, original, towns)
                    offers.append(
                        replace(
                            relisted,
                            source_id=other,
                            source_key=f"{key}~{copy}",
                            url=f"https://{other}.de/{key}~{copy}",
                        )  # fmt: skip
                    )
                    truth.append(entity)
            entity += 1
    return offers, truth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    offers, truth = generate(args.n, args.seed)
    for offer, entity in zip(offers, truth, strict=True):
        row = asdict(offer) | {"truth": entity}
        sys.stdout.write(json.dumps(row, default=str, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
