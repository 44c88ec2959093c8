"""Benchmark: /ask latency at three corpus sizes, in-process and over HTTP, against the floor.

For each index (`--sizes`: seed, topical, all, from bench/cache/; see bench/indexes.py), over a
seeded sample of its dev questions (questions whose gold documents are not indexed are
skipped), in this order and in one process with the server's thread settings:
- the floor: the served encoder's own `encode([question])` of each question (one model
  call, nothing else), which /ask cannot beat: the index's int8 ONNX copy, else its ONNX
  export, else torch (as `serve` chooses, index/onnx.py); the export's and torch's own
  times are measured beside it;
- `Answerer.ask` in-process, with its stage timings (embed, search, score, compose);
- dense search and BM25 alone on the same queries;
- the same questions one at a time to a fresh `stemcell-qa serve` (POST /ask on loopback,
  one client, keep-alive), each followed by a GET /healthz on the same connection: the
  HTTP round trip with no work behind it, which /ask pays on top of the floor.
Reports p50/p95/p99 and the HTTP p50 as a multiple of the floor's p50.
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
    IDX_ALL,
    IDX_SEED,
    IDX_TOPICAL,
    SEED_QUESTIONS,
    TOPICAL_QUESTIONS,
    percentiles,
    questions_for,
    serving,
    serving_threads,
    stamp,
    table,
    write_json,
)
from index import store
from index.embed import Embedder, MiniLMEmbedder
from index.lexical import tokenize
from index.onnx import OnnxEmbedder, onnx_embedder, query_embedder
from index.search import dense_candidates, lexical_scores
from index.threads import configure_serving

SIZES = {
    "seed": (IDX_SEED, SEED_QUESTIONS),
    "topical": (IDX_TOPICAL, TOPICAL_QUESTIONS),
    "all": (IDX_ALL, ALL_QUESTIONS),
}
STAGES = ("embed", "search", "score", "compose")
Question = dict[str, Any]


def floor(embedder: Embedder, questions: list[Question]) -> dict[str, Any]:
    """The model's one-question embedding time (ms) for each question: the floor of /ask."""
    times = []
    for q in questions:
        began = time.perf_counter()
        embedder.encode([q["question"]])
        times.append((time.perf_counter() - began) * 1000)
    return percentiles(times)


def in_process(answerer: Answerer, version: Any, questions: list[Question]) -> dict[str, Any]:
    """End-to-end and per-stage latencies of `ask` (ms)."""
    stages: dict[str, list[float]] = {"total": [], **{s: [] for s in STAGES}}
    for q in questions:
        began = time.perf_counter()
        answer = answerer.ask(version, q["question"], q.get("history", []))
        stages["total"].append((time.perf_counter() - began) * 1000)
        for stage in STAGES:
            stages[stage].append(answer.timings_ms.get(stage, 0.0))
    return {stage: percentiles(values) for stage, values in stages.items()}


def search_split(embedder: Embedder, version: Any, questions: list[Question]) -> dict[str, Any]:
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
    """Sequential POST /ask latencies (ms) against a fresh `stemcell-qa serve`, one client,
    and the GET /healthz round trip between them."""
    latencies, round_trips, errors = [], [], 0
    with serving(index_dir) as servers, httpx.Client(timeout=60) as client:
        url = f"http://127.0.0.1:{servers[0]['port']}/ask"
        health = f"http://127.0.0.1:{servers[0]['port']}/healthz"
        for q in questions[:3]:  # warm-up, not counted
            client.post(url, json={"question": q["question"], "history": q.get("history", [])})
        for q in questions:
            began = time.perf_counter()
            body = {"question": q["question"], "history": q.get("history", [])}
            response = client.post(url, json=body)
            latencies.append((time.perf_counter() - began) * 1000)
            errors += response.status_code != 200
            began = time.perf_counter()
            errors += client.get(health).status_code != 200
            round_trips.append((time.perf_counter() - began) * 1000)
    return {
        "total": percentiles(latencies),
        "round_trip": percentiles(round_trips),
        "errors": errors,
    }


def measure(size: str, torch_model: MiniLMEmbedder, sample: int, threads: int) -> dict[str, Any]:
    """All latency figures for one index."""
    index_dir, path = SIZES[size]
    embedder = query_embedder(index_dir, "auto", threads, lambda: torch_model)  # as served
    embedder.encode(["warm-up question"] * 4)
    exact = onnx_embedder(index_dir, "onnx", threads) if embedder is not torch_model else None
    version = store.load(index_dir, embedder.model_id, embedder.dim)
    questions = questions_for(index_dir, path, sample)
    answerer = Answerer(embedder)
    for q in questions[:3]:  # warm-up (first-call overheads), not counted
        answerer.ask(version, q["question"], q.get("history", []))
    result: dict[str, Any] = {
        "index": index_dir.name,
        "documents": len(version.documents),
        "chunks": len(version.chunks),
        "ann": version.manifest.get("ann", {}).get("kind"),
        "questions": len(questions),
        "encoder": embedder.path.name if isinstance(embedder, OnnxEmbedder) else "torch",
        "floor": floor(embedder, questions),
        **({"floor_onnx_fp32": floor(exact, questions)} if exact is not None else {}),
        "floor_torch": floor(torch_model, questions),
        "in_process": in_process(answerer, version, questions),
        "split": search_split(embedder, version, questions),
    }
    del version, answerer
    result["http"] = over_http(index_dir, questions)
    for suffix in ("", "_onnx_fp32", "_torch"):  # floor{suffix} -> http_p50_over_floor{suffix}
        if f"floor{suffix}" in result:
            result[f"http_p50_over_floor{suffix}"] = round(
                result["http"]["total"]["p50"] / max(result[f"floor{suffix}"]["p50"], 1e-9), 2
            )
    return result


def run(sizes: list[str], sample: int) -> dict[str, Any]:
    """Measure each size whose index exists; returns the figures."""
    threads = configure_serving(serving_threads())  # as the server runs
    torch_model = MiniLMEmbedder()
    configure_serving(serving_threads())  # again: torch is loaded now
    torch_model.encode(["warm-up question"] * 4)
    data: dict[str, Any] = {"threads": threads, "sample": sample, "sizes": {}, "missing": []}
    for size in sizes:
        if store.current_name(SIZES[size][0]) is None:
            data["missing"].append(size)
            print(f"{size}: no index in bench/cache (run python -m bench.indexes)")
            continue
        data["sizes"][size] = measure(size, torch_model, sample, serving_threads())
        print(f"{size}: done", flush=True)
    return data


def report(data: dict[str, Any]) -> str:
    """The Markdown tables of a result."""
    rows = []
    for size, m in data["sizes"].items():
        label = f"{size} ({m['documents']:,} docs, {m['chunks']:,} chunks)"
        stages = {
            f"floor: encode one question ({m.get('encoder', 'torch')})": m["floor"],
            **(
                {"ONNX export (fp32), for comparison": m["floor_onnx_fp32"]}
                if "floor_onnx_fp32" in m
                else {}
            ),
            **({"torch encode, for comparison": m["floor_torch"]} if "floor_torch" in m else {}),
            **{f"ask in-process: {k}": v for k, v in m["in_process"].items()},
            **m["split"],
            "HTTP POST /ask, one client": m["http"]["total"],
            **(
                {"HTTP GET /healthz round trip, same client": m["http"]["round_trip"]}
                if "round_trip" in m["http"]
                else {}
            ),
        }
        for name, p in stages.items():
            rows.append([label, name, p["n"], p["p50"], p["p95"], p["p99"]])
        rows.append([label, "HTTP errors", m["http"]["errors"], None, None, None])
    out = table(["index", "stage", "n", "p50 ms", "p95 ms", "p99 ms"], rows)
    summary = [
        [
            size,
            m["chunks"],
            m["http"]["total"]["p50"],
            m["http"]["total"]["p95"],
            m["floor"]["p50"],
            f"{m['http_p50_over_floor']:.2f}x",
            *(
                f"{m[key]:.2f}x" if key in m else "-"
                for key in ("http_p50_over_floor_onnx_fp32", "http_p50_over_floor_torch")
            ),
        ]
        for size, m in data["sizes"].items()
    ]
    headers = [
        "index",
        "chunks",
        "HTTP p50 ms",
        "HTTP p95 ms",
        "floor p50 ms",
        "p50 / floor",
        "p50 / fp32 ONNX encode",
        "p50 / torch encode",
    ]
    out = table(headers, summary) + "\n\n" + out
    if data.get("missing"):
        out += f"\n\nNot measured (no index built): {', '.join(data['missing'])}."
    return out + f"\n\nThreads (as the server sets them): {data['threads']}."


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--sample", type=int, default=100, help="questions per index")
    args = parser.parse_args(argv)
    began = stamp()
    data = run(args.sizes, args.sample)
    write_json("latency", data, began)
    print(report(data))


if __name__ == "__main__":
    main()
