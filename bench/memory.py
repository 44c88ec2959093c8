"""Benchmark 5: memory and start-up — RSS after load, peak RSS during build, serve-to-ready time.

- Start-up: for each index (topical = /tmp/idx-mq; scale = bench/out/idx-scale when built),
  starts `stemcell-qa serve` `--starts` times and measures the time from process start to the
  first 200 from GET /readyz, and the server's RSS once ready and after `--asks` questions.
- Build peak: runs `stemcell-qa build` under /usr/bin/time into fresh index dirs (fresh build of
  the first `--limit` topical documents, and a cached rebuild of the scale index's documents,
  which embeds nothing), reporting peak RSS and wall time. A log of the background full build of
  medquad-all (bench/out/build-all.time, GNU time -v output) is included when present.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    CLI,
    IDX_SCALE,
    IDX_TOPICAL,
    OUT,
    TOPICAL,
    TOPICAL_QUESTIONS,
    first_lines,
    load_average,
    rss_mb,
    sample_questions,
    serving,
    table,
    write_json,
)

SCALE_DOCS = OUT / "medquad-all-cached.jsonl"


def startup(index_dir: Path, starts: int, asks: int) -> dict[str, Any]:
    """Serve-to-ready seconds (median of `starts`) and RSS once ready and after `asks`."""
    questions = [q["question"] for q in sample_questions(TOPICAL_QUESTIONS, asks, seed=3)]
    ready, memory = [], {}
    for attempt in range(starts):
        began = time.perf_counter()
        with serving(index_dir) as servers:
            ready.append(time.perf_counter() - began)
            if attempt == 0:
                memory["after_load"] = rss_mb(servers[0]["pid"])
                url = f"http://127.0.0.1:{servers[0]['port']}/ask"
                for question in questions:
                    httpx.post(url, json={"question": question, "history": []}, timeout=120)
                memory["after_asks"] = rss_mb(servers[0]["pid"])
    return {
        "index": str(index_dir),
        "ready_s": [round(s, 2) for s in ready],
        "ready_s_median": round(statistics.median(ready), 2),
        "asks": len(questions),
        **memory,
    }


def timed_build(docs: Path, cache_from: Path | None) -> dict[str, Any]:
    """Peak RSS (MB) and wall seconds of `stemcell-qa build` into a fresh dir."""
    folder = Path(tempfile.mkdtemp(prefix="mem-build-", dir=OUT))
    try:
        if cache_from is not None:
            shutil.copy(cache_from / "embeddings.sqlite", folder / "embeddings.sqlite")
        cmd = [CLI, "build", "--no-sources", "--docs", str(docs), "--index", str(folder)]
        timed = ["/usr/bin/time", "-f", "%M %e", *cmd]
        done = subprocess.run(timed, capture_output=True, text=True, check=True)
        peak_kb, seconds = done.stderr.strip().splitlines()[-1].split()
        return {
            "peak_mb": round(int(peak_kb) / 1024, 1),
            "seconds": float(seconds),
            "summary": done.stdout.strip(),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def background_build() -> dict[str, Any] | None:
    """Peak RSS and state of the background full medquad-all build, from its GNU time log."""
    path = OUT / "build-all.time"
    if not path.exists():
        return None
    text = path.read_text()
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    wall = re.search(r"Elapsed \(wall clock\) time.*: ([\d:.]+)", text)
    return {
        "peak_mb": round(int(peak.group(1)) / 1024, 1) if peak else None,
        "wall": wall.group(1) if wall else None,
        "interrupted": "terminated by signal" in text,
    }


def run(limit: int, starts: int, asks: int) -> dict[str, Any]:
    """Every memory and start-up figure."""
    data: dict[str, Any] = {"load_average": [load_average()], "serve": {}, "build": {}}
    topical_docs = first_lines(TOPICAL, limit, OUT / f"topical-{limit}.jsonl")
    data["build"][f"fresh build, {limit} topical docs"] = timed_build(topical_docs, None)
    if SCALE_DOCS.exists() and IDX_SCALE.exists():
        data["build"]["cached rebuild, scale docs (nothing embedded)"] = timed_build(
            SCALE_DOCS, IDX_SCALE
        )
    data["background_full_build"] = background_build()
    for name, index_dir in (("topical", IDX_TOPICAL), ("scale", IDX_SCALE)):
        if index_dir.exists():
            data["serve"][name] = startup(index_dir, starts, asks)
            data["serve"][name]["chunks"] = _chunks(index_dir)
    data["load_average"].append(load_average())
    return data


def _chunks(index_dir: Path) -> int:
    name = (index_dir / "CURRENT").read_text().strip()
    manifest = json.loads((index_dir / "versions" / name / "manifest.json").read_text())
    return int(manifest["counts"]["chunks"])


def report(data: dict[str, Any]) -> str:
    """The Markdown tables of a result."""
    serve_rows = [
        [
            name,
            s["chunks"],
            s["ready_s_median"],
            s["after_load"]["rss_mb"],
            s["after_asks"]["rss_mb"],
            s["after_asks"]["peak_mb"],
        ]
        for name, s in data["serve"].items()
    ]
    serve = table(
        ["index", "chunks", "serve->ready s (median)", "RSS ready MB", "RSS after asks MB", "peak"],
        serve_rows,
    )
    build_rows = [[n, b["peak_mb"], b["seconds"], b["summary"]] for n, b in data["build"].items()]
    bg = data.get("background_full_build")
    if bg:
        state = "interrupted" if bg["interrupted"] else "completed"
        build_rows.append([f"full medquad-all build ({state})", bg["peak_mb"], bg["wall"], ""])
    builds = table(["build", "peak RSS MB", "wall s", "output"], build_rows)
    return serve + "\n\n" + builds


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=100, help="topical documents to build")
    parser.add_argument("--starts", type=int, default=2, help="serve start-ups per index")
    parser.add_argument("--asks", type=int, default=20, help="questions before the second RSS")
    args = parser.parse_args(argv)
    data = run(args.limit, args.starts, args.asks)
    write_json("memory", data)
    print(report(data))


if __name__ == "__main__":
    main()
