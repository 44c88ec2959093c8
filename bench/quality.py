"""Benchmark 6: answer quality with `stemcell-qa eval` for fused / dense-only / BM25-only.

Runs `stemcell-qa eval --mode all --json` on: seed-dev.jsonl over a small index of the seed
article (built into bench/out/idx-seed), medquad-topical-dev.jsonl over the topical index
(`--topical-sample`, 0 = all 1,645), and a seeded sample of medquad-all-dev-questions.jsonl over
the medquad-all index (`--all-sample`). Sampled question files are written to bench/out/.
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
    IDX_SCALE,
    IDX_TOPICAL,
    OUT,
    SEED_DOC,
    SEED_QUESTIONS,
    TOPICAL_QUESTIONS,
    questions_for,
    sample_questions,
    table,
    write_json,
)

IDX_SEED = OUT / "idx-seed"
COLUMNS = ["hit@1", "hit@3", "recall@5", "mrr@10", "answered_rate", "abstain_rate"]


def seed_index() -> Path:
    """Build (or keep) the small index of the seed article."""
    cmd = [CLI, "build", "--no-sources", "--docs", str(SEED_DOC), "--index", str(IDX_SEED)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return IDX_SEED


def question_file(index_dir: Path, path: Path, sample: int | None) -> Path:
    """`path` itself, or a seeded sample of its questions the index covers, in bench/out/."""
    records = questions_for(index_dir, path, sample)
    if len(records) == len(sample_questions(path, None)):
        return path
    target = OUT / f"{path.stem}-sample{sample}.jsonl"
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
    plan = {
        "seed": (seed_index, SEED_QUESTIONS, None),
        "topical": (lambda: IDX_TOPICAL, TOPICAL_QUESTIONS, topical_sample),
        "all": (lambda: IDX_SCALE, ALL_QUESTIONS, all_sample),
    }
    data: dict[str, Any] = {"sets": {}}
    for name in sets:
        index_fn, path, sample = plan[name]
        index_dir = index_fn()
        result = evaluate(index_dir, question_file(index_dir, path, sample))
        data["sets"][path.name] = {"index": str(index_dir), "sample": sample, **result}
        print(f"{path.name}: done in {result['seconds']} s")
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
    return table(headers, rows)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topical-sample", type=int, default=500, help="0 = all 1,645 questions")
    parser.add_argument("--all-sample", type=int, default=300, help="medquad-all questions")
    parser.add_argument("--sets", nargs="+", default=["seed", "topical", "all"])
    args = parser.parse_args(argv)
    data = run(args.topical_sample or None, args.all_sample or None, args.sets)
    previous = _previous(args.sets)
    data["sets"] = {**previous, **data["sets"]}
    write_json("quality", data)
    print(report(data))


def _previous(sets: list[str]) -> dict[str, Any]:
    """Results of sets not rerun this time (so sets can be run separately)."""
    path = OUT / "quality.json"
    if not path.exists() or set(sets) == {"seed", "topical", "all"}:
        return {}
    return dict(json.loads(path.read_text(encoding="utf-8")).get("sets", {}))


if __name__ == "__main__":
    main()
