"""The synthetic catalogues and visitor queries of ``bench_search.py``.

Two corpora, both seeded and deterministic:

- ``uniform``: titles of 3 and descriptions of 25 words drawn uniformly from a vocabulary
  of 62 words, facets drawn uniformly. Every query word matches about a third of all
  documents, and counting facets costs time in proportion to the matching documents, so
  this is the pessimistic worst case of the search (kept for comparison with older runs).
- ``real``: recombines the entries of the demo catalogue (``mintsuche demo``, built from
  the project's own snapshots). Each synthetic entry takes the title, provider, place
  names, subjects, formats, platforms and ages/grades of one real entry, the description
  of another and the free/girls flags of a third, all drawn at random. (The flags come
  apart because every free entry of the demo is in Sachsen, only Leipzig's sources state
  costs: "free" with any other Bundesland would always find nothing.) Its coordinates are
  the real entry's place or one of 4 fixed copies of it jittered by up to about 5 km, or
  (half of the time) one of 8,000 random places in Germany, so there are about 5 places
  per located demo entry plus 8,000; entries without coordinates keep none; dates (if
  any) are shifted by up to ±180 days. Word frequencies, title and description lengths,
  and the distributions of subjects, formats, Bundesland, platforms and free/girls/dated
  entries therefore follow the real data. Its queries are those of
  ``tests/test_relevance.py`` (copied below, so that the benchmark's queries do not move
  with the test), their 3-5 letter prefixes, typos (two neighbouring letters swapped),
  two-word combinations and the empty query; the subject and Bundesland filters take the
  values of random demo entries (common values come often).
"""

from __future__ import annotations

import hashlib
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from catalog.search import SearchDoc, SearchQuery

ROOT = Path(__file__).resolve().parent.parent

# --- uniform -----------------------------------------------------------------------------

WORDS = (
    "Roboter Robotern Roboterbau programmieren Programmierkurs Schüler Schülerinnen Mädchen "
    "Chemie Labor Experimente Physik Sterne Sternwarte Mathematik Knobeln Wettbewerb "
    "Ferien Sommerferien Herbstferien Umwelt Wald Wasser Klima Technik Elektronik löten "
    "Informatik Python Scratch Spiele Museum Ausstellung Führung Biologie Tiere Pflanzen "
    "Geologie Gesteine Mineralien Universität Hochschule Schule Gymnasium Kinder Jugendliche "
    "Workshop Kurs AG Camp Straße Werkstatt Forschung entdecken bauen verstehen messen"
).split()
CITIES = "Leipzig Dresden Chemnitz Halle Magdeburg Jena Erfurt Gera Weimar Freiberg".split()
STATES = ["Sachsen", "Sachsen-Anhalt", "Thüringen", "Berlin", "Bayern", "Hessen"]
SUBJECTS = "mathematik informatik biologie chemie physik technik umwelt astronomie".split()
FORMATS = "schuelerlabor workshop ag ferien wettbewerb museum veranstaltung mentoring".split()
PLATFORMS = [f"platform_{i}" for i in range(12)]
TYPOS = ["Phisik", "Informatk", "Robtoer", "Mahtematik", "Expreimente"]
TODAY = date(2026, 11, 26)


def make_places(rng: random.Random, n: int = 8000) -> list[tuple[float, float]]:
    """Distinct places in Germany's bounding box (about as many as postcode areas)."""
    return [(round(rng.uniform(47.3, 55.0), 4), round(rng.uniform(5.9, 15.0), 4)) for _ in range(n)]


class UniformCorpus:
    """The small-vocabulary corpus: the pessimistic worst case (see the module docstring)."""

    name = "uniform"
    marker = "uniform"
    subjects = SUBJECTS
    formats = FORMATS
    typos = TYPOS

    def docs(self, n: int, rng: random.Random) -> Iterator[SearchDoc]:
        places = make_places(rng)
        for i in range(n):
            age = rng.randint(6, 16)
            place = rng.choice(places) if rng.random() < 0.9 else None
            start = TODAY + timedelta(days=rng.randint(-200, 400)) if rng.random() < 0.6 else None
            grades = rng.random() < 0.3
            yield SearchDoc(
                cluster_id=f"c{i:08d}",
                title=" ".join(rng.sample(WORDS, 3)),
                provider=f"{rng.choice(['Verein', 'Universität', 'Schule'])} {rng.choice(CITIES)}",
                city=rng.choice(CITIES),
                bundesland=rng.choice(STATES),
                subjects=rng.sample(SUBJECTS, rng.randint(1, 3)),
                formats=rng.sample(FORMATS, rng.randint(1, 2)),
                platforms=rng.sample(PLATFORMS, rng.randint(1, 2)),
                description=" ".join(rng.choices(WORDS, k=25)),
                lat=place[0] if place else None,
                lon=place[1] if place else None,
                age_min=None if grades else age,
                age_max=None if grades else age + rng.randint(1, 6),
                grade_min=age - 6 if grades else None,
                grade_max=age - 6 + rng.randint(1, 4) if grades else None,
                free=rng.random() < 0.4,
                girls=rng.random() < 0.1,
                start=start,
                end=start + timedelta(days=rng.randint(0, 10)) if start else None,
            )

    def word(self, rng: random.Random) -> str:
        return rng.choice(WORDS)

    def filtered_query(self, rng: random.Random) -> SearchQuery:
        """A query with 3 filters set: subject, Bundesland, free of charge."""
        kind = rng.random()
        if kind < 0.4:
            q = rng.choice(WORDS)
        elif kind < 0.6:
            q = rng.choice(WORDS)[: rng.randint(3, 5)]
        elif kind < 0.85:
            q = " ".join(rng.sample(WORDS, 2))
        else:
            q = ""
        return SearchQuery(
            q=q,
            subjects=[rng.choice(SUBJECTS)],
            bundesland=[rng.choice(STATES)],
            free=True,
            page=rng.choice([1, 1, 1, 2, 5]),
        )


# --- real --------------------------------------------------------------------------------

#: the 30 queries of tests/test_relevance.py (CASES), copied so that the benchmark's
#: queries stay fixed when the test changes
RELEVANCE_QUERIES = (
    "Robotik", "Roboter", "robtik", "Schülerlabor Chemie", "Physik", "Phisik", "Informatk",
    "Mädchen Informatik", "Girls Day", "Girls Day Heilbronn", "Mathe", "Mathematik Wettbewerb",
    "Feriencamp", "Schnupperstudium", "Mentoring", "Bionik", "Jugend forscht", "Lego",
    "Energie", "Elektrotechnik", "Geografie", "Museum", "Ada Lovelace", "Olympiade Chemie",
    "3D-Druck", "Coding", "Labor", "Wald", "Biologie", "Leipzig Umwelt",
)  # fmt: skip
#: the words of those queries (typos left out: they are made below)
QUERY_WORDS = sorted(
    {w for q in RELEVANCE_QUERIES for w in q.split()} - {"robtik", "Phisik", "Informatk"}
)


def build_demo(demo_dir: Path) -> None:
    """Build the demo catalogue into ``demo_dir`` (``mintsuche demo --no-serve``: the
    snapshots crawled over loopback, normalized, deduplicated, indexed) unless it is there."""
    if (demo_dir / "mintsuche.db").exists():
        return
    tmp = demo_dir.with_name(demo_dir.name + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    cmd = [str(Path(sys.executable).parent / "mintsuche"), "--var-dir", str(tmp), "demo"]
    print(f"demo catalogue: building into {demo_dir} ({' '.join(cmd[1:])} --no-serve)")
    done = subprocess.run([*cmd, "--no-serve"], cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"mintsuche demo failed:\n{done.stdout}\n{done.stderr}")
    tmp.rename(demo_dir)


def demo_docs(demo_dir: Path) -> list[SearchDoc]:
    """The demo catalogue's published entries as the rebuild indexes them: its clusters and
    offers read back from ``demo_dir/mintsuche.db`` and turned into ``SearchDoc`` by the
    rebuild's own function (``webapp.pipeline._search_doc``), ordered by cluster id."""
    from sqlmodel import select

    from catalog.db import get_engine, session_scope
    from catalog.schema import ClusterRow, OfferRow
    from normalize import NormalizedOffer
    from webapp.pipeline import _search_doc

    build_demo(demo_dir)
    fields = [name for name in NormalizedOffer.model_fields if name in OfferRow.model_fields]
    members: dict[str, list[NormalizedOffer]] = {}
    with session_scope(get_engine(f"sqlite:///{demo_dir / 'mintsuche.db'}")) as session:
        offers = session.scalars(select(OfferRow).order_by(OfferRow.source_id, OfferRow.source_key))
        for o in offers:
            offer = NormalizedOffer.model_validate({name: getattr(o, name) for name in fields})
            members.setdefault(o.cluster_id or "", []).append(offer)
        clusters = session.scalars(
            select(ClusterRow).where(ClusterRow.published).order_by(ClusterRow.id)
        ).all()
    row_keys = ["id", "title", "provider", "city", "plz", "bundesland", "lat", "lon"]
    row_keys += ["subjects", "formats", "platforms"]
    docs = []
    for c in clusters:
        if members.get(c.id):
            docs.append(_search_doc({key: getattr(c, key) for key in row_keys}, members[c.id]))
    return docs


def _typo(word: str, rng: random.Random) -> str:
    """``word`` with two neighbouring letters (not the first) swapped."""
    i = rng.randint(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


class RealCorpus:
    """The demo catalogue recombined (see the module docstring)."""

    name = "real"
    #: raised when the generator changes, so that indexes of the older one are rebuilt
    version = 3

    def __init__(self, demo: list[SearchDoc]) -> None:
        if not demo:
            raise ValueError("the demo catalogue is empty")
        self.demo = demo
        digest = hashlib.sha256(repr(demo).encode()).hexdigest()[:12]
        #: written next to the index: the corpus and the demo catalogue it came from
        self.marker = f"real v{self.version}, {len(demo)} demo entries {digest}"
        self.subjects = sorted({s for d in demo for s in d.subjects})
        self.formats = sorted({f for d in demo for f in d.formats})
        long_words = [w for w in QUERY_WORDS if len(w) >= 5 and w.isalpha()]
        self.typos = [_typo(w, random.Random(i)) for i, w in enumerate(long_words)]
        # filter values as they occur: a random entry's value, so common ones come often
        self._subject_pool = [s for d in demo for s in d.subjects]
        self._state_pool = [d.bundesland for d in demo if d.bundesland]

    def docs(self, n: int, rng: random.Random) -> Iterator[SearchDoc]:
        places = make_places(rng)
        # each located entry's place and 4 copies jittered by up to about 5 km: a fixed set
        # of places (about as many as the 8,000 random ones), as a catalogue's addresses are
        nearby = [
            [(d.lat, d.lon)]
            + [
                (
                    round(d.lat + rng.uniform(-0.04, 0.04), 4),
                    round(d.lon + rng.uniform(-0.06, 0.06), 4),
                )
                for _ in range(4)
            ]
            if d.lat is not None and d.lon is not None
            else []
            for d in self.demo
        ]
        for i in range(n):
            k = rng.randrange(len(self.demo))
            entry = self.demo[k]
            description = rng.choice(self.demo).description
            flags = rng.choice(self.demo)  # in the demo only Leipzig's sources state costs
            lat, lon = entry.lat, entry.lon
            if nearby[k]:
                lat, lon = rng.choice(places if rng.random() < 0.5 else nearby[k])
            shift = timedelta(days=rng.randint(-180, 180))
            yield replace(
                entry,
                cluster_id=f"r{i:08d}",
                description=description,
                lat=lat,
                lon=lon,
                start=entry.start + shift if entry.start else None,
                end=entry.end + shift if entry.end else None,
                subjects=list(entry.subjects),
                formats=list(entry.formats),
                platforms=list(entry.platforms),
                keywords=list(entry.keywords),
                free=flags.free,
                girls=flags.girls,
            )

    def word(self, rng: random.Random) -> str:
        return rng.choice(QUERY_WORDS)

    def text(self, rng: random.Random) -> str:
        """What a visitor types: a relevance query, a prefix, a typo, two words, nothing."""
        kind = rng.random()
        if kind < 0.35:
            return rng.choice(RELEVANCE_QUERIES)
        if kind < 0.5:
            word = rng.choice([w for w in QUERY_WORDS if len(w) > 3])
            return word[: min(len(word) - 1, rng.randint(3, 5))]
        if kind < 0.6:
            return rng.choice(self.typos)
        if kind < 0.85:
            return " ".join(rng.sample(QUERY_WORDS, 2))
        return ""

    def filtered_query(self, rng: random.Random) -> SearchQuery:
        """A visitor query with 3 filters set: subject, Bundesland, free of charge."""
        return SearchQuery(
            q=self.text(rng),
            subjects=[rng.choice(self._subject_pool)],
            bundesland=[rng.choice(self._state_pool)],
            free=True,
            page=rng.choice([1, 1, 1, 2, 5]),
        )


Corpus = UniformCorpus | RealCorpus
