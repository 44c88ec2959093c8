"""What one query-encoder call costs, and what cutting a question's texts into calls saves.

A question with words no source uses is embedded with its probes (the question without each
word, each word alone: assistant/focus.py) in one `encode`. The int8 encoder pads every text of
a call to the call's longest, so single words batched with whole questions pay for the
question's length. This script

1. fits time = fixed + per_row * rows x width (one call of `rows` texts padded to `width`
   tokens; int8, one thread, median of repeats), the source of `index.onnx.CALL_ROWS`;
2. records the texts the answerer encodes for real questions (bench/load.py's mix and the
   seed patient-style set) and times `encode` on them as planned (`plan_batches`) against
   fixed calls of `QUERY_BATCH` texts in length order (the plan before it), in the same run.

    python -m bench.encode_batches [--index bench/cache/idx-seed]

Writes bench/results/encode_batches.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np

from assistant.answer import Answerer
from bench.common import IDX_SEED, ROOT, stamp, table, write_json
from bench.load import QUESTIONS
from index import onnx, store
from index.threads import configure_serving

PATIENTS = ROOT / "eval" / "seed-patients-dev.jsonl"


def _median_ms(call: Callable[[], object], repeats: int) -> float:
    call()
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        call()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def fit_call_cost(embedder: onnx.OnnxEmbedder, repeats: int) -> dict[str, float]:
    """Least-squares fixed and per-token-row cost of one call, over uniform calls."""
    words = ["cell", "stem", "safe", "risk", "trial", "study", "patient", "doctor"]
    shapes, times = [], []
    for rows in (1, 2, 4, 8):
        for width in (3, 6, 10, 16, 24, 40):
            # distinct texts (`encode` encodes a repeated one once) of `width` tokens each:
            # [CLS], width - 2 one-token words, [SEP]
            texts = [
                " ".join(words[(r + i) % len(words)] for i in range(width - 2)) for r in range(rows)
            ]
            shapes.append(rows * width)
            times.append(_median_ms(partial(embedder.encode, texts), repeats))
    design = np.column_stack([np.ones(len(shapes)), shapes])
    (fixed, per_row), *_ = np.linalg.lstsq(design, np.array(times), rcond=None)
    return {"fixed_ms": fixed, "per_row_ms": per_row, "fixed_rows": fixed / per_row}


def question_texts(index_dir: Path, embedder: onnx.OnnxEmbedder) -> list[list[str]]:
    """Every `encode` call's texts while answering the questions (with their histories)."""
    version = store.load(index_dir, embedder.model_id, embedder.dim)
    calls: list[list[str]] = []
    real = embedder.encode

    def record(texts: list[str], *args: Any, **kwargs: Any) -> np.ndarray:
        calls.append(list(texts))
        return real(texts, *args, **kwargs)

    asked = [(q, h) for q, h, _ in QUESTIONS]
    for line in PATIENTS.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        asked.append((item["question"], item.get("history", [])))
    answerer = Answerer(embedder)
    with mock.patch.object(embedder, "encode", record):
        for question, history in asked:
            answerer.ask(version, question, history)
    return calls


def _fixed_plan(lengths: list[int], most: int) -> list[tuple[int, int]]:
    return [(i, min(i + most, len(lengths))) for i in range(0, len(lengths), most)]


def compare(embedder: onnx.OnnxEmbedder, calls: list[list[str]], rounds: int) -> dict[str, float]:
    """Total ms to encode every recorded call, planned vs fixed batches, alternating rounds."""
    totals: dict[str, list[float]] = {"planned": [], "fixed": []}
    for _ in range(rounds):
        for name in totals:
            patch = (
                mock.patch.object(onnx, "plan_batches", _fixed_plan) if name == "fixed" else None
            )
            if patch:
                patch.start()
            began = time.perf_counter()
            for texts in calls:
                embedder.encode(texts)
            totals[name].append((time.perf_counter() - began) * 1000)
            if patch:
                patch.stop()
    planned, fixed = statistics.median(totals["planned"]), statistics.median(totals["fixed"])
    return {"planned_ms": planned, "fixed_ms": fixed, "ratio": planned / fixed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, default=IDX_SEED)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    began = stamp()
    configure_serving(1)
    embedder = onnx.onnx_embedder(args.index, "int8", 1)
    assert isinstance(embedder, onnx.OnnxEmbedder)
    cost = fit_call_cost(embedder, args.repeats)
    calls = question_texts(args.index, embedder)
    result = compare(embedder, calls, args.rounds)
    texts = sum(len(c) for c in calls)
    print(
        table(
            ["measure", "value"],
            [
                ["one call: fixed ms", round(cost["fixed_ms"], 3)],
                ["one call: ms per token row", round(cost["per_row_ms"], 4)],
                ["fixed cost in token rows (CALL_ROWS)", round(cost["fixed_rows"], 1)],
                [
                    f"{len(calls)} recorded calls ({texts} texts): planned ms",
                    round(result["planned_ms"], 1),
                ],
                [
                    f"same calls, fixed {onnx.QUERY_BATCH}-text calls ms",
                    round(result["fixed_ms"], 1),
                ],
                ["planned / fixed", round(result["ratio"], 3)],
            ],
        )
    )
    write_json(
        "encode_batches", {"call_cost": cost, "calls": len(calls), "texts": texts, **result}, began
    )


if __name__ == "__main__":
    main()
