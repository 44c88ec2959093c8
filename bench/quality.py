"""Benchmark: answer quality with `stemcell-qa eval` for fused / dense-only / BM25-only.

Runs `stemcell-qa eval --mode all --json` on: seed-dev.jsonl and seed-indomain-dev.jsonl over
the seed article's index, medquad-topical-dev.jsonl over the topical index (`--topical-sample`,
0 = all 1,645), and a seeded sample of medquad-all-dev-questions.jsonl over the medquad-all
index (`--all-sample`), all from bench/cache/ (bench/indexes.py). Sampled question files are
written to bench/out/.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.common import (
    ALL_QUESTIONS,
    CLI,
    IDX_ALL,
    IDX_SEED,
    IDX_TOPICAL,
    SEED_QUESTIONS,
    SHARED,
    TOPICAL_QUESTIONS,
    questions_for,
    sample_questions,
    scratch,
    stamp,
    table,
    write_json,
)
from index import store

SEED_INDOMAIN = SHARED / "eval" / "seed-indomain-dev.jsonl"
COLUMNS = ["hit@1", "hit@3", "recall@5", "mrr@10", "answered_rate", "abstain_rate"]


def question_file(index_dir: Path, path: Path, sample: int | None) -> Path:
    """`path` itself, or a seeded sample of its questions the index covers, in bench/out/."""
    records = questions_for(index_dir, path, sample)
    if len(records) == len(sample_questions(path, None)):
        return path
    target = scratch() / f"{path.stem}-sample{sample}.jsonl"
    target.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return target


def evaluate(index_dir: Path, questions: Path) -> dict[str, Any]:
    """`stemcell-qa eval --mode all --json` results per mode, plus wall seconds."""
    cmd = [CLI, "eval", "--index", str(index_dir), "--questions", str(questions)]
    began = time.perf_counter()
    done = subprocess.run([*cmd, "--mode", "all", "--json"], check=True, capture_output=True)
    seconds = time.perf_counter() - began
    results = json.loads(done.stdout)["results"]
    return {
        "seconds": round(seconds, 1),
        "modes": {mode: next(iter(files.values())) for mode, files in results.items()},
    }


def run(topical_sample: int | None, all_sample: int | None, sets: list[str]) -> dict[str, Any]:
    """Evaluate every chosen set; returns the figures."""
    plan: dict[str, list[tuple[Path, Path, int | None]]] = {
        "seed": [(IDX_SEED, SEED_QUESTIONS, None), (IDX_SEED, SEED_INDOMAIN, None)],
        "topical": [(IDX_TOPICAL, TOPICAL_QUESTIONS, topical_sample)],
        "all": [(IDX_ALL, ALL_QUESTIONS, all_sample)],
    }
    data: dict[str, Any] = {"sets": {}, "missing": []}
    for name in sets:
        for index_dir, path, sample in plan[name]:
            if store.current_name(index_dir) is None:
                data["missing"].append(path.name)
                continue
            result = evaluate(index_dir, question_file(index_dir, path, sample))
            data["sets"][path.name] = {"index": index_dir.name, "sample": sample, **result}
            print(f"{path.name}: done in {result['seconds']} s", flush=True)
    return data


def report(data: dict[str, Any]) -> str:
    """The Markdown table of a result."""
    rows = []
    for name, item in data["sets"].items():
        for mode, m in item["modes"].items():
            cells = [m[c] for c in COLUMNS]
            lat = f"{m['latency_ms_p50']} / {m['latency_ms_p95']}"
            rows.append([name, mode, m["questions"], *cells, m["non_verbatim"], lat])
    headers = ["set", "mode", "n", *COLUMNS, "non-verbatim", "ms p50 / p95"]
    missing = (
        f"\n\nNot measured (no index): {', '.join(data['missing'])}." if data["missing"] else ""
    )
    return table(headers, rows) + missing


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topical-sample", type=int, default=500, help="0 = all 1,645 questions")
    parser.add_argument("--all-sample", type=int, default=300, help="medquad-all questions")
    parser.add_argument("--sets", nargs="+", default=["seed", "topical", "all"])
    args = parser.parse_args(argv)
    began = stamp()
    data = run(args.topical_sample or None, args.all_sample or None, args.sets)
    write_json("quality", data, began)
    print(report(data))


if __name__ == "__main__":
    main()
