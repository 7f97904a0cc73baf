"""Benchmark the search index: build time and search + count + facets latency.

Usage: ``python bench/bench_search.py [--docs 100000] [--queries 500] [--dir DIR]``

Synthetic German offers (random titles and descriptions from a small vocabulary, random
subjects, formats, states and platforms) are indexed; then a mix of queries runs: plain
words, prefixes, multi-word, empty with filters, with and without facet selections
(the selected ones cost one extra aggregation each). Prints p50/p90/p99 in milliseconds.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from catalog.search import SearchDoc, SearchIndex, SearchQuery  # noqa: E402

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


def make_docs(n: int, rng: random.Random) -> list[SearchDoc]:
    docs = []
    for i in range(n):
        age = rng.randint(6, 16)
        docs.append(
            SearchDoc(
                cluster_id=f"c{i:08d}",
                title=" ".join(rng.sample(WORDS, 3)),
                provider=f"{rng.choice(['Verein', 'Universität', 'Schule'])} {rng.choice(CITIES)}",
                city=rng.choice(CITIES),
                bundesland=rng.choice(STATES),
                subjects=rng.sample(SUBJECTS, rng.randint(1, 3)),
                formats=rng.sample(FORMATS, rng.randint(1, 2)),
                platforms=rng.sample(PLATFORMS, rng.randint(1, 2)),
                description=" ".join(rng.choices(WORDS, k=40)),
                age_min=age,
                age_max=age + rng.randint(1, 6),
                free=rng.random() < 0.4,
                girls=rng.random() < 0.1,
            )
        )
    return docs


def make_queries(n: int, rng: random.Random) -> list[SearchQuery]:
    queries = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.3:
            q = SearchQuery(q=rng.choice(WORDS))
        elif kind < 0.5:
            q = SearchQuery(q=rng.choice(WORDS)[: rng.randint(3, 5)])
        elif kind < 0.7:
            q = SearchQuery(q=" ".join(rng.sample(WORDS, 2)))
        elif kind < 0.85:
            q = SearchQuery(q=rng.choice(WORDS), subjects=[rng.choice(SUBJECTS)],
                            bundesland=[rng.choice(STATES)])  # fmt: skip
        else:
            q = SearchQuery(formats=[rng.choice(FORMATS)], free=True, age=rng.randint(6, 16))
        q.page = rng.choice([1, 1, 1, 2, 5])
        queries.append(q)
    return queries


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    rng = random.Random(42)
    docs = make_docs(args.docs, rng)
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = args.dir or Path(tmp)
        started = time.perf_counter()
        index = SearchIndex.build(index_dir, docs)
        print(f"build: {args.docs} docs in {time.perf_counter() - started:.1f} s")
        queries = make_queries(args.queries, rng)
        for query in queries[:20]:  # warm up
            index.search(query)
        timings = []
        for query in queries:
            started = time.perf_counter()
            index.search(query)
            timings.append((time.perf_counter() - started) * 1000)
        print(
            f"search+count+facets over {len(queries)} queries: "
            f"p50 {pct(timings, 0.5):.1f} ms, p90 {pct(timings, 0.9):.1f} ms, "
            f"p99 {pct(timings, 0.99):.1f} ms, mean {statistics.fmean(timings):.1f} ms"
        )


if __name__ == "__main__":
    main()
