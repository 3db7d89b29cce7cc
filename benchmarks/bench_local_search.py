"""Spoken-word search latency of the local backend as a collection grows (run by hand).

    python benchmarks/bench_local_search.py [--sizes 1000,100000,1000000] [--queries 100] [--keep DIR]

For each size, fills one collection's index (`core/video/local/search_index.py`) with that
many segments (one "video" per 300), then runs `--queries` hybrid queries the way
`LocalBackend.search_spoken` does: embed the query, FTS5 BM25, the usearch graph,
fusion, then read the hits. Prints p50/p95 of each part and of the whole, the time to
fill the index and to build the vector graph from it, and the index's size on disk.

The segments are synthetic but shaped like transcripts: 8-20 words drawn from a
Zipf-distributed vocabulary of 20,000 made-up words, and embeddings that are real
all-MiniLM-L6-v2 vectors of 1,000 sentences, each copy moved a little at random (so the
graph has a realistic neighbourhood structure without embedding a million texts).
Goal: p50 <= 50 ms at 1,000,000 segments on 2 cores. Prints figures only; no assertions.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.video.local import embedder  # noqa: E402
from core.video.local.search_index import NewSegment, SearchIndex  # noqa: E402
from core.video.local.spoken_search import CANDIDATES, fuse, query_terms, rank  # noqa: E402

SYLLABLES = ["ka", "lo", "mi", "ren", "to", "sha", "vi", "dor", "pel", "qu", "an", "es", "tri", "bo", "nu", "ge"]
TOPICS = ["budget", "pricing", "hiring", "release", "outage", "design", "sales", "travel", "security", "support"]
PER_VIDEO = 300


def vocabulary(size: int, rng: np.random.Generator) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES, size=int(rng.integers(2, 5)))))
    return sorted(words)


def base_sentences(count: int) -> list[str]:
    return [f"We talked about the {TOPICS[i % len(TOPICS)]} plan, item {i}, and what it means for team {i % 37}."
            for i in range(count)]


def fill(index: SearchIndex, size: int, words: list[str], bases: np.ndarray, rng: np.random.Generator) -> float:
    ranks = np.arange(1, len(words) + 1)
    weights = (1.0 / ranks) / (1.0 / ranks).sum()
    started = time.perf_counter()
    for video in range(0, size, PER_VIDEO):
        count = min(PER_VIDEO, size - video)
        lengths = rng.integers(8, 21, size=count)
        chosen = rng.choice(len(words), size=int(lengths.sum()), p=weights)
        texts, at = [], 0
        for length in lengths:
            texts.append(" ".join(words[i] for i in chosen[at:at + length]))
            at += length
        vectors = bases[rng.integers(0, len(bases), size=count)] + rng.normal(0, 0.02, (count, bases.shape[1]))
        vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
        segments = [NewSegment(i, i * 4.0, i * 4.0 + 3.5, text, [], text) for i, text in enumerate(texts)]
        index.replace_video(f"v{video:08d}", segments, vectors)
    return time.perf_counter() - started


def query_once(index: SearchIndex, query: str) -> dict[str, float]:
    times: dict[str, float] = {}
    started = time.perf_counter()
    vector = embedder.embed_sync([query])[0]
    times["embed"] = time.perf_counter() - started
    mark = time.perf_counter()
    lexical = index.lexical(query_terms(query), CANDIDATES)
    times["words (FTS5)"] = time.perf_counter() - mark
    mark = time.perf_counter()
    semantic = index.semantic(vector, CANDIDATES)
    times["meaning (graph)"] = time.perf_counter() - mark
    mark = time.perf_counter()
    fused = fuse(lexical, semantic)
    documents = index.segments(fused)
    rank(documents, fused, query, {i for i, _ in lexical}, 10)
    times["fuse + read hits"] = time.perf_counter() - mark
    times["total"] = time.perf_counter() - started
    return times


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main(sizes: list[int], queries: int, keep: Path | None) -> None:
    work = keep or Path(tempfile.mkdtemp(prefix="bench-search-"))
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    words = vocabulary(20_000, rng)
    started = time.perf_counter()
    bases = embedder.embed_sync(base_sentences(1_000))
    print(f"embedded 1,000 base sentences in {time.perf_counter() - started:.1f} s")
    mid = words[200:5_000]  # neither the commonest words nor ones hardly ever said
    asked = [f"{rng.choice(mid)} {rng.choice(mid)}" if i % 2 else f"what did we decide about {TOPICS[i % 10]} {i}"
             for i in range(queries)]
    for size in sizes:
        path = work / f"size-{size}.sqlite"
        index = SearchIndex(path)
        if not path.exists():
            filled = fill(index, size, words, bases, rng)
            print(f"{size:,} segments: filled the index in {filled:.1f} s")
        index.drop()
        for saved in work.glob(f"size-{size}.*.usearch"):
            saved.unlink()
        started = time.perf_counter()
        index.semantic(bases[0], 1)  # builds (and saves) the graph from the stored vectors
        built = time.perf_counter() - started
        index.drop()
        started = time.perf_counter()
        index.semantic(bases[0], 1)  # a restart: loads the saved graph
        loaded = time.perf_counter() - started
        runs = [query_once(index, query) for query in asked]
        disk = sum(p.stat().st_size for p in work.glob(f"size-{size}.*")) / 1e6
        print(f"{size:,} segments: graph built in {built:.1f} s, loaded in {loaded:.2f} s; {disk:,.0f} MB on disk")
        for part in runs[0]:
            values = [run[part] * 1000 for run in runs]
            print(f"  {part:<18} p50 {statistics.median(values):7.1f} ms   p95 {percentile(values, 0.95):7.1f} ms")
    print(f"files in {work}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--keep", type=Path, default=None, help="work folder (reuses filled indexes)")
    arguments = parser.parse_args()
    main([int(size) for size in arguments.sizes.split(",")], arguments.queries, arguments.keep)
