"""Benchmark: exact (IndexFlatIP) vs approximate (HNSW) FAISS search: recall@10 and latency.

Two settings, each measured side by side in one run:
- the largest real index (`--index`, default bench/cache/idx-all, else idx-topical): its chunk
  vectors, queried with the embeddings of a seeded sample of dev questions;
- `--n` synthetic random normalised 384-d vectors (default 1,000,000) with random queries;
  HNSW is built only up to `--hnsw-n` synthetic vectors (building it over 1M random vectors
  takes far longer than a few minutes on 2 cores), so larger sizes report exact search only.
The HNSW index is made exactly as the app's build makes it (`index.build.make_dense`, M=32,
efConstruction=80) and searched at the FAISS default efSearch=16, the app's default 64, and higher
values. Latency is per single-query search (k=50 as in /ask, recall on the top 10).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from bench.common import (
    ALL_QUESTIONS,
    IDX_ALL,
    IDX_TOPICAL,
    percentiles,
    sample_questions,
    stamp,
    table,
    write_json,
)
from index import store
from index.build import BuildSettings, make_dense
from index.embed import MiniLMEmbedder

EF_SEARCH = (16, 64, 128)
K = 50


def search_all(index: faiss.Index, queries: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """Top-K ids of each query, searched one at a time like /ask, with per-query ms."""
    ids, latencies = [], []
    for query in queries:
        began = time.perf_counter()
        _, found = index.search(query.reshape(1, -1), K)
        latencies.append((time.perf_counter() - began) * 1000)
        ids.append(found[0])
    return np.stack(ids), latencies


def recall_at_10(exact: np.ndarray, approx: np.ndarray) -> float:
    """Mean share of the exact top 10 that the approximate top 10 also returns."""
    hits = [len(set(e[:10]) & set(a[:10])) / 10 for e, a in zip(exact, approx, strict=True)]
    return round(float(np.mean(hits)), 4)


def compare(vectors: np.ndarray, queries: np.ndarray, hnsw_too: bool = True) -> dict[str, Any]:
    """Build both indexes over `vectors`; recall@10 and latency of HNSW vs exact."""
    began = time.perf_counter()
    flat = make_dense(vectors, BuildSettings(ann="flat"))
    flat_build = time.perf_counter() - began
    exact_ids, exact_ms = search_all(flat, queries)
    rows = [{"index": "exact (flat)", "build_s": round(flat_build, 2), "recall@10": 1.0}]
    rows[0].update(percentiles(exact_ms))
    del flat
    if not hnsw_too:
        return {"vectors": len(vectors), "queries": len(queries), "rows": rows}
    began = time.perf_counter()
    hnsw: Any = make_dense(vectors, BuildSettings(ann="hnsw"))
    hnsw_build = time.perf_counter() - began
    for ef in EF_SEARCH:
        hnsw.hnsw.efSearch = ef
        ids, ms = search_all(hnsw, queries)
        row = {"index": f"HNSW efSearch={ef}", "build_s": round(hnsw_build, 2)}
        rows.append({**row, "recall@10": recall_at_10(exact_ids, ids), **percentiles(ms)})
    return {"vectors": len(vectors), "queries": len(queries), "rows": rows}


def real_setting(index_dir: Path, sample: int) -> dict[str, Any]:
    """Vectors of a built index, queried with embedded dev questions."""
    embedder = MiniLMEmbedder()
    version = store.load(index_dir, embedder.model_id, embedder.dim)
    questions = [q["question"] for q in sample_questions(ALL_QUESTIONS, sample)]
    queries = embedder.encode(questions)
    vectors = np.ascontiguousarray(version.vectors, dtype=np.float32)
    result = compare(vectors, queries)
    return {"name": f"real: {index_dir.name} ({len(version.documents):,} docs)", **result}


def random_unit(n: int, dim: int, seed: int) -> np.ndarray:
    """`n` random normalised float32 vectors."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        block = rng.standard_normal((min(100_000, n - start), dim), dtype=np.float32)
        out[start : start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def synthetic_setting(n: int, queries: int, hnsw_too: bool) -> dict[str, Any]:
    """Random normalised 384-d vectors and queries."""
    vectors, probes = random_unit(n, 384, seed=1), random_unit(queries, 384, seed=2)
    result = compare(vectors, probes, hnsw_too)
    return {"name": f"synthetic: {n:,} random 384-d", **result}


def run(index_dir: Path, sample: int, n: int, hnsw_n: int, queries: int) -> dict[str, Any]:
    """Both settings; returns the figures."""
    data: dict[str, Any] = {"settings": []}
    if store.current_name(index_dir) is not None:
        data["settings"].append(real_setting(index_dir, sample))
        print("real index: done")
    for size in sorted({hnsw_n, n} - {0}):
        data["settings"].append(synthetic_setting(size, queries, size <= hnsw_n))
        print(f"synthetic {size:,}: done")
    data["faiss_threads"] = faiss.omp_get_max_threads()
    return data


def report(data: dict[str, Any]) -> str:
    """The Markdown table of a result."""
    rows = [
        [s["name"], r["index"], r["build_s"], r["recall@10"], r["p50"], r["p95"], r["p99"]]
        for s in data["settings"]
        for r in s["rows"]
    ]
    headers = ["vectors", "index", "build s", "recall@10", "p50 ms", "p95 ms", "p99 ms"]
    return table(headers, rows)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, help="built index to read (default: the largest)")
    parser.add_argument("--sample", type=int, default=300, help="dev questions as queries")
    parser.add_argument("--n", type=int, default=1_000_000, help="synthetic vectors (0 = skip)")
    parser.add_argument(
        "--hnsw-n", type=int, default=100_000, help="largest synthetic size that also gets HNSW"
    )
    parser.add_argument("--queries", type=int, default=200, help="synthetic queries")
    args = parser.parse_args(argv)
    index = args.index or (IDX_ALL if store.current_name(IDX_ALL) else IDX_TOPICAL)
    began = stamp()
    data = run(index, args.sample, args.n, args.hnsw_n, args.queries)
    write_json("ann", data, began)
    print(report(data))


if __name__ == "__main__":
    main()
