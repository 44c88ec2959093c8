"""Benchmark 3a: /ask latency in-process and over HTTP, with a per-stage breakdown.

For each index (`--sizes`: seed = bench/out/idx-seed (built by bench.quality), topical =
/tmp/idx-mq, all = bench/out/idx-scale), over a seeded sample
of its dev questions (questions whose gold documents are not in the index are skipped): runs
`Answerer.ask` in-process (stage timings embed / search / select from the answer), times
`dense_candidates` and `lexical_scores` alone on the same queries (to split search into dense vs
BM25), then sends the same questions one at a time to `stemcell-qa serve` (POST /ask on loopback).
Reports p50/p95/p99 per stage and end to end. The ANN comparison is in `bench.ann`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import httpx

from assistant.answer import Answerer
from assistant.followup import resolve
from bench.common import (
    ALL_QUESTIONS,
    IDX_SCALE,
    IDX_TOPICAL,
    OUT,
    SEED_QUESTIONS,
    TOPICAL_QUESTIONS,
    load_average,
    percentiles,
    questions_for,
    serving,
    table,
    write_json,
)
from index import store
from index.embed import MiniLMEmbedder
from index.lexical import tokenize
from index.search import dense_candidates, lexical_scores

SIZES = {
    "seed": (OUT / "idx-seed", SEED_QUESTIONS),
    "topical": (IDX_TOPICAL, TOPICAL_QUESTIONS),
    "all": (IDX_SCALE, ALL_QUESTIONS),
}
Question = dict[str, Any]


def in_process(answerer: Answerer, version: Any, questions: list[Question]) -> dict[str, Any]:
    """End-to-end and per-stage latencies of `ask` (ms)."""
    stages: dict[str, list[float]] = {"total": [], "embed": [], "search": [], "select": []}
    for q in questions:
        began = time.perf_counter()
        answer = answerer.ask(version, q["question"], q.get("history", []))
        stages["total"].append((time.perf_counter() - began) * 1000)
        for stage in ("embed", "search", "select"):
            stages[stage].append(answer.timings_ms[stage])
    return {stage: percentiles(values) for stage, values in stages.items()}


def search_split(
    embedder: MiniLMEmbedder, version: Any, questions: list[Question]
) -> dict[str, Any]:
    """Dense search and BM25 (tokenise + score) timed alone on the same resolved queries (ms)."""
    dense_ms, bm25_ms = [], []
    for q in questions:
        text = resolve(q["question"], q.get("history", [])).text
        vector = embedder.encode([text])[0]
        began = time.perf_counter()
        dense_candidates(version, vector, 50)
        middle = time.perf_counter()
        lexical_scores(version, tokenize(text))
        dense_ms.append((middle - began) * 1000)
        bm25_ms.append((time.perf_counter() - middle) * 1000)
    return {"dense search": percentiles(dense_ms), "bm25": percentiles(bm25_ms)}


def over_http(index_dir: Path, questions: list[Question]) -> dict[str, Any]:
    """Sequential POST /ask latencies (ms) against a fresh `stemcell-qa serve`."""
    latencies, errors = [], 0
    with serving(index_dir) as servers, httpx.Client(timeout=60) as client:
        url = f"http://127.0.0.1:{servers[0]['port']}/ask"
        client.post(url, json={"question": "warm-up question about stem cells", "history": []})
        for q in questions:
            began = time.perf_counter()
            response = client.post(url, json={"question": q["question"], "history": q["history"]})
            latencies.append((time.perf_counter() - began) * 1000)
            errors += response.status_code != 200
    return {"total": percentiles(latencies), "errors": errors}


def measure(size: str, embedder: MiniLMEmbedder, sample: int, http_sample: int) -> dict[str, Any]:
    """All latency figures for one index."""
    index_dir, path = SIZES[size]
    version = store.load(index_dir, embedder.model_id, embedder.dim)
    questions = questions_for(index_dir, path, sample)
    answerer = Answerer(embedder)
    for q in questions[:3]:  # warm-up (first-call overheads), not counted
        answerer.ask(version, q["question"], q.get("history", []))
    answerer = Answerer(embedder)  # fresh sentence-vector cache, like a fresh server
    result = {
        "index": str(index_dir),
        "documents": len(version.documents),
        "chunks": len(version.chunks),
        "ann": version.manifest.get("ann", {}).get("kind"),
        "questions": len(questions),
        "in_process": in_process(answerer, version, questions),
        "split": search_split(embedder, version, questions),
    }
    result["http"] = over_http(index_dir, questions[:http_sample])
    return result


def run(sizes: list[str], sample: int, http_sample: int) -> dict[str, Any]:
    """Measure each size in turn; returns the figures."""
    embedder = MiniLMEmbedder()
    data: dict[str, Any] = {"load_average": [load_average()], "sizes": {}}
    for size in sizes:
        data["sizes"][size] = measure(size, embedder, sample, http_sample)
        print(f"{size}: done")
    data["load_average"].append(load_average())
    return data


def report(data: dict[str, Any]) -> str:
    """The Markdown table of a result."""
    rows = []
    for size, m in data["sizes"].items():
        label = f"{size} ({m['documents']:,} docs, {m['chunks']:,} chunks)"
        stages = {**{f"ask: {k}": v for k, v in m["in_process"].items()}, **m["split"]}
        stages["HTTP POST /ask"] = m["http"]["total"]
        for name, p in stages.items():
            rows.append([label, name, p["n"], p["p50"], p["p95"], p["p99"]])
        rows.append([label, "HTTP errors", m["http"]["errors"], None, None, None])
    return table(["index", "stage", "n", "p50 ms", "p95 ms", "p99 ms"], rows)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", nargs="+", default=["seed", "topical", "all"], choices=list(SIZES)
    )
    parser.add_argument("--sample", type=int, default=200, help="questions per index")
    parser.add_argument("--http-sample", type=int, default=100, help="of those, sent over HTTP")
    args = parser.parse_args(argv)
    data = run(args.sizes, args.sample, args.http_sample)
    write_json("latency", data)
    print(report(data))


if __name__ == "__main__":
    main()
