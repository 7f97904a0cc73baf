"""Benchmark the search: in-process latency and requests/s of the real search page.

Usage::

    python bench/bench_search.py --docs 100000
    python bench/bench_search.py --docs 1000000 --var-dir /tmp/bench1m --http
    python bench/bench_search.py --docs 1000000 --var-dir /tmp/bench1m --http --no-in-process
    python bench/bench_search.py --docs 1000000 --corpus uniform --var-dir /tmp/uniform1m

A synthetic catalogue of ``--docs`` German offers is indexed once; with ``--var-dir`` the
index is kept in ``VAR_DIR/index`` and reused when it holds the same number of documents of
the same corpus (``VAR_DIR/corpus.txt`` names it; an index without that file is taken to
hold the uniform corpus, which was the only one before). ``--corpus`` (details and the
query mixes in ``bench/search_corpus.py``):

- ``real`` (the default): the demo catalogue recombined. Its entries (``mintsuche demo
  --no-serve``, built from the project's snapshots into ``VAR_DIR/demo`` if missing, read
  back from its cluster and offer tables with the rebuild's own ``SearchDoc`` function)
  are drawn at random: title, facets, place and ages from one entry, the description from
  another, the free/girls flags from a third; the place jittered by a few km or one of
  8,000 random places, dates shifted. Word frequencies, text lengths and the facet and
  flag distributions follow the real data (in the demo: descriptions for about an eighth
  of the entries, 4 % free, no girls-only or dated entries). The queries are what
  visitors type: the 30 queries of ``tests/test_relevance.py``, prefixes of their words,
  typos, two-word combinations and the empty query; the subject and Bundesland filters
  take values as often as they occur. The run prints the share of documents the words of
  a query match; measured: median 0.8 %, 90th percentile 11 %, as in the demo catalogue
  itself (0.7 % and 11 %), against 39 % and 78 % for the uniform corpus. This corpus
  exists because the costs of the search grow with the number of matching documents
  (facet counting above all). With these statistics many requests with the 3 filters
  find little (at 1M: median 10 results, none for 39 %; only 4 % of the entries are free).
- ``uniform``: titles of 3 and descriptions of 25 words drawn uniformly from a vocabulary
  of 62 words, 1-3 subjects, 1-2 formats, a state, 1-2 platforms, one of 8,000 places or
  none, ages or grades, dates for 60 %, 40 % free; queries from the same 62 words. Every
  query word matches about a third of all documents: the pessimistic worst case, kept
  for comparison with earlier figures.

In process, the same queries run in three ways, interleaved, and p50/p95/p99 are printed:

- ``baseline``: the bare engine query (words and filters, top 20 + count) without facets,
  snippets or stored documents;
- ``full``: ``SearchIndex.search`` = search + count + all facet counts (disjunctive) +
  20 hits with snippets, with 3 filters set (subject, Bundesland, free of charge), with
  the per-generation cache of counts switched off, so every request computes them;
- ``next page``: the following page of a request just answered (counts from the cache);
- extra scenarios: the 3 filters with "today" as the site passes it (past events drop
  out); place + 50 km radius sorted by distance; date sort; a typo; 3 filters that the
  index's storage order (Bundesland, free of charge) does not group.

Each line also gives the mean CPU time per request (all threads of the process, so the
facet aggregations in their threads count): on a shared machine it changes much less with
the load than the latencies do.

With ``--http``, gunicorn (2 workers, ``--worker-class``, default sync) serves the real site
on loopback from ``VAR_DIR`` and ``wrk`` (``apt-get install wrk``; the load test is skipped
without it) requests ``/suche?...`` URLs with the same 3 filters for ``--seconds``;
requests/s, latency percentiles and the CPU time per request of the server (master +
workers, from ``/proc``) and of ``wrk`` are printed. The site also passes "today" (past
events drop out), parses the request and renders the page. 2,000 URLs are cycled (1,611
distinct with the uniform corpus, 1,529 with the real one), and the workers' cache of
counts is switched off (a gunicorn ``post_fork`` hook), so every request is a miss and
computes its counts. (Before, the cache stayed on: each worker keeps 1,024 requests, and
with the URLs split over 2 workers about a third of the requests of a 20 s run were hits,
more the longer it ran.) ``--counts-cache`` leaves it on. With 2 cores shared by both
workers and ``wrk``, requests/s is at most about 2,000 ms divided by the CPU milliseconds
per request; the CPU figures change less with the machine's load than requests/s do
(other processes: see the load average printed with them).

Build the 1M indexes once into directories outside the repository and reuse them
(``--var-dir /work/benchdata/real1m``, ``--corpus uniform --var-dir
/work/benchdata/search1m``); an index is rebuilt when the schema or the corpus changes
(for ``real``: also when the demo catalogue in ``VAR_DIR/demo`` differs). A change of the
build alone (storage order, synonym groups) needs the directory removed first.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from catalog import search as S  # noqa: E402
from catalog.search import SearchIndex, SearchQuery  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search_corpus import Corpus, RealCorpus, UniformCorpus, demo_docs  # noqa: E402

TODAY = date(2026, 11, 26)
LEIPZIG = (51.3397, 12.3731)
CORPORA = ("real", "uniform")


def make_corpus(name: str, var_dir: Path) -> Corpus:
    """The corpus ``name``; ``real`` reads the demo catalogue in ``VAR_DIR/demo`` (built
    there with ``mintsuche demo --no-serve`` if missing)."""
    if name == "uniform":
        return UniformCorpus()
    return RealCorpus(demo_docs(var_dir / "demo"))


def bare(index: SearchIndex, query: SearchQuery) -> int:
    """The baseline: the same words and filters, top 20 + count, nothing else."""
    searcher = index._gen.searcher
    words = S.query_words(query.q)
    unknown = {
        w.folded for i, w in enumerate(words) if not S._known(searcher, w, i == len(words) - 1)
    }
    text_q = (
        S._text_query(words, unknown=unknown, searcher=searcher)
        if words
        else S.tantivy.Query.all_query()
    )
    filters = [S._filter(q) for q in S._attribute_filters(query)]
    for name in S.FACETS:
        values = getattr(query, name)
        if values:
            filters.append(S._filter(S._any_of(S.FACETS[name], values)))
    found = searcher.search(S._and([text_q, *filters]), 20, count=True)
    return int(found.count or 0)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def summary(name: str, timings: list[float], cpu: list[float] | None = None) -> str:
    line = (
        f"{name:<28} p50 {pct(timings, 0.50):6.2f} ms  p95 {pct(timings, 0.95):6.2f} ms  "
        f"p99 {pct(timings, 0.99):6.2f} ms  mean {statistics.fmean(timings):6.2f} ms"
    )
    return line + (f"  CPU mean {statistics.fmean(cpu):6.2f} ms" if cpu else "")


def timed(fn: Callable[[], object], cpu: list[float] | None = None) -> float:
    """Wall milliseconds of ``fn()``; its CPU milliseconds (all threads of the process: the
    facet aggregations run in threads) are appended to ``cpu``."""
    started, cpu_started = time.perf_counter(), time.process_time()
    fn()
    if cpu is not None:
        cpu.append((time.process_time() - cpu_started) * 1000)
    return (time.perf_counter() - started) * 1000


def open_or_build(var_dir: Path, n: int, corpus: Corpus) -> SearchIndex:
    """The index of ``n`` documents of ``corpus`` in ``VAR_DIR/index``, reused when it holds
    as many documents of the same corpus (``VAR_DIR/corpus.txt``; an index without that
    file predates the option and holds the uniform corpus), else built again."""
    index_dir, marker_file = var_dir / "index", var_dir / "corpus.txt"
    if SearchIndex.exists(index_dir):
        held = marker_file.read_text().strip() if marker_file.exists() else "uniform"
        try:
            index = SearchIndex.open(index_dir)
        except S.IndexOutdatedError:
            print(f"index: {index_dir} has an older schema; rebuilding")
        else:
            if index.num_docs == n and held == corpus.marker:
                print(f"index: reusing {n} docs ({held}) in {index_dir}")
                return index
            print(f"index: {index_dir} holds {index.num_docs} docs ({held}); rebuilding")
    marker_file.unlink(missing_ok=True)
    started = time.perf_counter()
    index = SearchIndex.build(index_dir, corpus.docs(n, random.Random(42)))
    marker_file.write_text(corpus.marker + "\n")
    print(
        f"index: built {n} docs ({corpus.marker}) in {time.perf_counter() - started:.1f} s "
        f"({index_dir})"
    )
    return index


def match_shares(index: SearchIndex, texts: list[str]) -> str:
    """Median and 90th percentile, over ``texts`` (non-empty ones, repeats counted), of the
    share of documents their words match (the bare engine query, no filters)."""
    counts: dict[str, int] = {}
    shares = []
    for text in texts:
        if text.strip():
            if text not in counts:
                counts[text] = bare(index, SearchQuery(q=text))
            shares.append(counts[text] / index.num_docs)
    return (
        f"median {pct(shares, 0.5):.2%}, p90 {pct(shares, 0.9):.2%} of {index.num_docs} docs "
        f"({len(shares)} non-empty queries, {len(counts)} distinct)"
    )


def in_process(index: SearchIndex, n_queries: int, corpus: Corpus, var_dir: Path) -> None:
    rng = random.Random(7)
    queries = [corpus.filtered_query(rng) for _ in range(n_queries)]
    texts = [q.q for q in queries]
    found = [bare(index, q) for q in queries]
    print(
        f"results of the {n_queries} queries with 3 filters: median {pct(found, 0.5)}, "
        f"p90 {pct(found, 0.9)}, none for {sum(not f for f in found) / len(found):.0%}"
    )
    print(f"query words match ({corpus.name} corpus): {match_shares(index, texts)}")
    if isinstance(corpus, RealCorpus):
        demo = SearchIndex.open(var_dir / "demo" / "index")
        print(f"query words match (demo catalogue): {match_shares(demo, texts)}")
    index.counts_cache_size = 0  # every request computes its counts
    for query in queries[:50]:  # warm up
        index.search(query)
        bare(index, query)
    base, full, base_cpu, full_cpu = [], [], [], []
    for query in queries:  # interleaved, so both see the same machine state
        base.append(timed(lambda q=query: bare(index, q), base_cpu))
        full.append(timed(lambda q=query: index.search(q), full_cpu))
    print(f"in process, {n_queries} queries with 3 filters (subject, Bundesland, free):")
    print("  " + summary("baseline (bare engine)", base, base_cpu))
    print("  " + summary("search+count+facets", full, full_cpu))
    print(
        f"  ratio full/baseline: p50 {pct(full, 0.5) / pct(base, 0.5):.1f}x, "
        f"p99 {pct(full, 0.99) / pct(base, 0.99):.1f}x"
    )
    index.counts_cache_size = S.COUNTS_CACHE_SIZE
    paged = []
    for query in queries[: max(50, n_queries // 4)]:
        index.search(query)
        following = replace(query, page=query.page + 1)
        paged.append(timed(lambda q=following: index.search(q)))
    print("  " + summary("next page (counts cached)", paged))
    index.counts_cache_size = 0
    extras = {
        # what the site asks: the same requests with "today" (past events drop out)
        "3 filters + today (site)": lambda i: replace(queries[i], today=TODAY),
        "radius 50 km, by distance": lambda i: SearchQuery(
            q=corpus.word(rng), near=LEIPZIG, radius_km=50, sort="distance", page=1 + i % 3
        ),
        "by next date": lambda i: SearchQuery(
            q=corpus.word(rng), subjects=[rng.choice(corpus.subjects)], sort="date", today=TODAY
        ),
        "typo + suggestion": lambda i: SearchQuery(q=corpus.typos[i % len(corpus.typos)]),
        # filters the storage order does not group (see SearchIndex.build)
        "subject+format+age filters": lambda i: SearchQuery(
            q=corpus.word(rng),
            subjects=[rng.choice(corpus.subjects)],
            formats=[rng.choice(corpus.formats)],
            age=rng.randint(6, 16),
        ),
    }
    for name, make in extras.items():
        qs = [make(i) for i in range(max(50, n_queries // 4))]
        for q in qs[:10]:
            index.search(q)
        cpu: list[float] = []
        print("  " + summary(name, [timed(lambda q=q: index.search(q), cpu) for q in qs], cpu))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def urls(n: int, corpus: Corpus) -> list[str]:
    rng = random.Random(11)
    out = []
    for _ in range(n):
        q = corpus.filtered_query(rng)
        params = {"q": q.q, "fach": q.subjects[0], "land": q.bundesland[0], "kostenlos": "1"}
        out.append("/suche?" + urlencode(params))
    return out


WRK_SCRIPT = """
local paths = {%s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%f %%f %%f %%f %%d\\n", summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.mean, summary.errors.status + summary.errors.connect
    + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


#: gunicorn's worker class in the load test (``--worker-class gthread`` keeps wrk's
#: connections alive: measured, 1M, the same server CPU per request, half wrk's)
GUNICORN_WORKER_CLASS = "sync"
#: gunicorn config for the load test's workers: the per-generation cache of counts is
#: switched off after the fork (the index opens on the first request), so every request
#: computes its counts, as in the in-process ``full`` figures
NO_COUNTS_CACHE = """
def post_fork(server, worker):
    from catalog import search
    search.COUNTS_CACHE_SIZE = 0
"""
#: with ``--counts-cache``: each worker counts the requests its cache answered and writes
#: "<hits> <lookups>" to a file in HITS_DIR when it exits
COUNT_HITS = """
import os
HITS_DIR = %r
_seen = [0, 0]


def post_fork(server, worker):
    from catalog import search

    cached = search.SearchIndex._cached_counts

    def counting(self, gen, key):
        found = cached(self, gen, key)
        _seen[0] += found is not None
        _seen[1] += 1
        return found

    search.SearchIndex._cached_counts = counting


def worker_exit(server, worker):
    with open(os.path.join(HITS_DIR, str(os.getpid())), "w") as fh:
        fh.write(f"{_seen[0]} {_seen[1]}")
"""


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its children (gunicorn master + workers)."""
    total = 0
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    for proc in [pid, *(int(c) for c in children.split())]:
        try:
            fields = Path(f"/proc/{proc}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def over_http(
    var_dir: Path,
    corpus: Corpus,
    seconds: int,
    connections: int,
    worker_class: str = GUNICORN_WORKER_CLASS,
    counts_cache: bool = False,
) -> None:
    port = free_port()
    env = dict(os.environ, MINTSUCHE_VAR_DIR=str(var_dir), PYTHONPATH=str(ROOT))
    hits_dir = tempfile.mkdtemp()
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(COUNT_HITS % hits_dir if counts_cache else NO_COUNTS_CACHE)
        config = fh.name
    gunicorn = [
        str(Path(sys.executable).parent / "gunicorn"),
        "--config", config,
        "--workers", "2",
        "--worker-class", worker_class,
        "--bind", f"127.0.0.1:{port}",
        "--log-level", "warning",
        "webapp.app:create_app()",
    ]  # fmt: skip
    server = subprocess.Popen(gunicorn, env=env, cwd=ROOT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        paths = urls(2000, corpus)
        _wait_ready(base + paths[0])
        for path in paths[:200]:  # warm both workers
            _get(base + path)
        if shutil.which("wrk"):
            with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
                fh.write(WRK_SCRIPT % ", ".join(f'"{p}"' for p in paths))
                script = fh.name
            cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", script, base]
            server_cpu = _cpu_seconds(server.pid)
            wrk_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
            load = os.getloadavg()[0]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            server_cpu = _cpu_seconds(server.pid) - server_cpu
            wrk_cpu_s = (after.ru_utime + after.ru_stime) - (wrk_cpu.ru_utime + wrk_cpu.ru_stime)
            os.unlink(script)
            line = next(x for x in out.splitlines() if x.startswith("RESULT"))
            reqs, dur_us, p50, p95, p99, mean, errors = line.split()[1:]
            rps = int(reqs) / (int(dur_us) / 1e6)
            print(
                f"http (gunicorn 2 {worker_class} workers, wrk -t2 -c{connections} -d{seconds}s, "
                f"/suche with 3 filters, {corpus.name} corpus, "
                f"counts cache {'on' if counts_cache else 'off'}): "
                f"{rps:.0f} req/s, p50 {float(p50) / 1000:.1f} ms, "
                f"p95 {float(p95) / 1000:.1f} ms, p99 {float(p99) / 1000:.1f} ms, "
                f"errors {errors}; CPU per request: server "
                f"{server_cpu / int(reqs) * 1000:.2f} ms, wrk {wrk_cpu_s / int(reqs) * 1000:.2f} ms"
                f"; load average at start {load:.1f}"
            )
        else:  # pragma: no cover - wrk missing
            print("wrk not installed (apt-get install wrk); skipping the load test")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        os.unlink(config)
        seen = [tuple(map(int, f.read_text().split())) for f in Path(hits_dir).iterdir()]
        shutil.rmtree(hits_dir, ignore_errors=True)
        if counts_cache:  # warm-up requests included
            hits, lookups = sum(h for h, _ in seen), sum(n for _, n in seen)
            print(f"  counts cache: {hits} hits of {lookups} requests (incl. 200 warm-up)")


def _get(url: str) -> int:
    import urllib.request

    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
        return int(response.status)


def _wait_ready(url: str) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            if _get(url) == 200:
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument(
        "--corpus", choices=CORPORA, default="real", help="synthetic catalogue (see above)"
    )
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--var-dir", type=Path, default=None, help="keep/reuse the index here")
    parser.add_argument("--http", action="store_true", help="also load-test the site")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--worker-class", default=GUNICORN_WORKER_CLASS, help="gunicorn's")
    parser.add_argument(
        "--counts-cache", action="store_true", help="keep the site's cache of counts on"
    )
    parser.add_argument("--no-in-process", action="store_true", help="only the load test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        var_dir = args.var_dir or Path(tmp)
        corpus = make_corpus(args.corpus, var_dir)
        index = open_or_build(var_dir, args.docs, corpus)
        if not args.no_in_process:
            in_process(index, args.queries, corpus, var_dir)
        if args.http:
            over_http(
                var_dir, corpus, args.seconds, args.connections, args.worker_class,
                args.counts_cache,
            )  # fmt: skip


if __name__ == "__main__":
    main()
