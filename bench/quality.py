"""Benchmark: answer quality with `stemcell-qa eval` for fused / dense-only / BM25-only.

Runs `stemcell-qa eval --mode all --json` on: seed-dev.jsonl and seed-indomain-dev.jsonl over
the seed article's index, medquad-topical-dev.jsonl over the topical index (`--topical-sample`,
0 = all 1,645), and a seeded sample of medquad-all-dev-questions.jsonl over the medquad-all
index (`--all-sample`), all from bench/cache/ (bench/indexes.py). Sampled question files are
written to bench/out/.

"Quality unchanged" is checked in the same run: with `--reference REF` (a git branch or
commit, e.g. `main`), seed-dev and MedQuAD topical dev are also evaluated (fused mode, same
index, same questions) by REF's own `assistant/`, `corpus/`, `index/` and `web/`, exported with
`git archive` to bench/out/ref-<commit>/ and imported ahead of this checkout. When those folders
do not differ from REF, this run's figures stand for both.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

from bench.common import (
    ALL_QUESTIONS,
    CLI,
    IDX_ALL,
    IDX_SEED,
    IDX_TOPICAL,
    ROOT,
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
CODE = ["assistant", "corpus", "index", "web"]  # what answers a question (REF's copy of it)
COMPARED = (SEED_QUESTIONS.name, TOPICAL_QUESTIONS.name)  # the sets "unchanged" is judged on


def question_file(index_dir: Path, path: Path, sample: int | None) -> Path:
    """`path` itself, or a seeded sample of its questions the index covers, in bench/out/."""
    records = questions_for(index_dir, path, sample)
    if len(records) == len(sample_questions(path, None)):
        return path
    target = scratch() / f"{path.stem}-sample{sample}.jsonl"
    target.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return target


class EvalError(RuntimeError):
    """`stemcell-qa eval` gave no results; the message is its last line on stderr."""


def evaluate(
    index_dir: Path, questions: Path, mode: str = "all", code: Path | None = None
) -> dict[str, Any]:
    """`stemcell-qa eval --mode MODE --json` results per mode, plus wall seconds; with `code`,
    run by the packages in that folder instead of this checkout's."""
    args = ["eval", "--index", str(index_dir), "--questions", str(questions), "--mode", mode]
    cmd, env, cwd = [CLI, *args, "--json"], None, ROOT
    if code is not None:  # -P: the current folder is not put ahead of PYTHONPATH
        cmd = [sys.executable, "-P", "-c", "from assistant.cli import main; main()", *cmd[1:]]
        env, cwd = {**os.environ, "PYTHONPATH": str(code)}, code
    began = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, env=env, cwd=cwd)
    seconds = time.perf_counter() - began
    try:
        results = json.loads(done.stdout)["results"]
    except (ValueError, KeyError):
        # the CLI says what went wrong on stderr (an older one exits 0 when run via -c)
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise EvalError(lines[-1] if lines else f"exit status {done.returncode}") from None
    return {
        "seconds": round(seconds, 1),
        "modes": {mode: next(iter(files.values())) for mode, files in results.items()},
    }


def reference_code(ref: str) -> dict[str, Any]:
    """REF's commit and, when its answering code differs from this checkout's, the folder its
    copy was exported to."""
    git = ["git", "-C", str(ROOT)]
    found = subprocess.run(
        [*git, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    if found.returncode:
        return {"ref": ref, "commit": None}
    commit = found.stdout.strip()
    same = subprocess.run([*git, "diff", "--quiet", commit, "--", *CODE]).returncode == 0
    info: dict[str, Any] = {"ref": ref, "commit": commit, "same_code": same}
    if not same:
        folder = scratch() / f"ref-{commit[:12]}"
        if not folder.exists():
            archive = subprocess.run(
                [*git, "archive", commit, *CODE], check=True, capture_output=True
            ).stdout
            staging = folder.with_suffix(".part")
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(staging, filter="data")
            staging.rename(folder)
        info["folder"] = folder
    return info


def compare_reference(
    ref: str, data: dict[str, Any], files: dict[str, tuple[Path, Path]]
) -> dict[str, Any]:
    """Fused-mode figures of REF's code on the compared sets (this run's when the code is the
    same), beside this checkout's."""
    info = reference_code(ref)
    out: dict[str, Any] = {k: v for k, v in info.items() if k != "folder"}
    if info["commit"] is None:
        return out
    out["sets"] = {}
    for name in COMPARED:
        if name not in data["sets"]:
            continue
        ours = data["sets"][name]["modes"]["fused"]
        if info["same_code"]:
            out["sets"][name] = ours
            continue
        index_dir, questions = files[name]
        try:
            result = evaluate(index_dir, questions, "fused", info["folder"])
        except EvalError as exc:
            # e.g. an index format newer than the reference reads: said, not a failed section
            out["error"] = str(exc)
            print(f"{name} by {ref}: failed: {exc}", flush=True)
            break
        out["sets"][name] = result["modes"]["fused"]
        print(f"{name} by {ref}: done in {result['seconds']} s", flush=True)
    return out


def run(
    topical_sample: int | None, all_sample: int | None, sets: list[str], reference: str | None
) -> dict[str, Any]:
    """Evaluate every chosen set (and REF's code on the compared ones); returns the figures."""
    plan: dict[str, list[tuple[Path, Path, int | None]]] = {
        "seed": [(IDX_SEED, SEED_QUESTIONS, None), (IDX_SEED, SEED_INDOMAIN, None)],
        "topical": [(IDX_TOPICAL, TOPICAL_QUESTIONS, topical_sample)],
        "all": [(IDX_ALL, ALL_QUESTIONS, all_sample)],
    }
    data: dict[str, Any] = {"sets": {}, "missing": []}
    files: dict[str, tuple[Path, Path]] = {}
    for name in sets:
        for index_dir, path, sample in plan[name]:
            if store.current_name(index_dir) is None:
                data["missing"].append(path.name)
                continue
            files[path.name] = (index_dir, question_file(index_dir, path, sample))
            result = evaluate(*files[path.name])
            data["sets"][path.name] = {"index": index_dir.name, "sample": sample, **result}
            print(f"{path.name}: done in {result['seconds']} s", flush=True)
    if reference:
        data["reference"] = compare_reference(reference, data, files)
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
    return table(headers, rows) + missing + _reference_report(data.get("reference"))


def _reference_report(ref: dict[str, Any] | None) -> str:
    if not ref:
        return ""
    if ref["commit"] is None:
        return f"\n\nReference `{ref['ref']}`: no such branch or commit; not compared."
    who = f"`{ref['ref']}` ({ref['commit'][:10]})"
    if ref.get("error"):
        return f"\n\nReference {who}: its code could not answer ({ref['error']}); not compared."
    if ref["same_code"]:
        head = f"\n\nReference {who}: the same answering code as this run, so the same figures."
    else:
        head = f"\n\nThe same sets, fused mode, answered by {who}'s code in the same run:\n\n"
    rows = [[name, m["questions"], *[m[c] for c in COLUMNS]] for name, m in ref["sets"].items()]
    return head + ("" if ref["same_code"] else table(["set", "n", *COLUMNS], rows))


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topical-sample", type=int, default=500, help="0 = all 1,645 questions")
    parser.add_argument("--all-sample", type=int, default=300, help="medquad-all questions")
    parser.add_argument("--sets", nargs="+", default=["seed", "topical", "all"])
    parser.add_argument("--reference", help="git branch or commit to compare with (e.g. main)")
    args = parser.parse_args(argv)
    began = stamp()
    data = run(args.topical_sample or None, args.all_sample or None, args.sets, args.reference)
    write_json("quality", data, began)
    print(report(data))


if __name__ == "__main__":
    main()
