"""Benchmark: memory and start-up — serve-to-ready time, RSS after questions, build peak RSS.

- Start-up: for the topical and medquad-all indexes (bench/cache/), starts `stemcell-qa serve`
  `--starts` times and measures the time from process start to the first 200 from GET /readyz
  (imports, model and index load), and the server's RSS once ready and after `--asks`
  questions (the first start).
- Build peak: `stemcell-qa build` under /usr/bin/time into a fresh index dir: a fresh build of
  the first `--limit` topical documents (empty cache), and with `--cached-rebuild` a build of
  all of topical into a fresh dir whose embedding cache is copied from the topical index (so
  nothing is embedded): peak RSS and wall time.
"""

from __future__ import annotations

import argparse
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
    IDX_ALL,
    IDX_TOPICAL,
    TOPICAL,
    TOPICAL_QUESTIONS,
    first_lines,
    rss_mb,
    sample_questions,
    scratch,
    serving,
    stamp,
    table,
    write_json,
)
from index import store

GOALS = {"ready_s": 3.0, "rss_mb": 1024.0}  # issue 11, at 43,901 chunks


def startup(index_dir: Path, starts: int, asks: int) -> dict[str, Any]:
    """Serve-to-ready seconds (each start and the median) and RSS once ready and after asks."""
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
        "index": index_dir.name,
        "chunks": int((store.read_manifest(index_dir) or {})["counts"]["chunks"]),
        "ready_s": [round(s, 2) for s in ready],
        "ready_s_median": round(statistics.median(ready), 2),
        "asks": len(questions),
        **memory,
    }


def timed_build(docs: Path, cache_from: Path | None) -> dict[str, Any]:
    """Peak RSS (MB) and wall seconds of `stemcell-qa build` into a fresh dir."""
    folder = Path(tempfile.mkdtemp(prefix="mem-build-", dir=scratch()))
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
            "summary": done.stdout.strip().splitlines()[-1],
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(limit: int, starts: int, asks: int, cached_rebuild: bool) -> dict[str, Any]:
    """Every memory and start-up figure."""
    data: dict[str, Any] = {"serve": {}, "build": {}, "missing": [], "goals": GOALS}
    for name, index_dir in (("topical", IDX_TOPICAL), ("all", IDX_ALL)):
        if store.current_name(index_dir) is None:
            data["missing"].append(name)
            continue
        data["serve"][name] = startup(index_dir, starts, asks)
        print(f"serve {name}: ready in {data['serve'][name]['ready_s']} s", flush=True)
    topical_docs = first_lines(TOPICAL, limit, scratch() / f"topical-{limit}.jsonl")
    data["build"][f"fresh build, {limit} topical docs"] = timed_build(topical_docs, None)
    if cached_rebuild:
        data["build"]["topical into a fresh dir, cache copied (nothing embedded)"] = timed_build(
            TOPICAL, IDX_TOPICAL
        )
    return data


def report(data: dict[str, Any]) -> str:
    """The Markdown tables of a result."""
    serve_rows = [
        [
            name,
            s["chunks"],
            ", ".join(f"{v:g}" for v in s["ready_s"]),
            s["ready_s_median"],
            s["after_load"]["rss_mb"],
            s["after_asks"]["rss_mb"],
            s["after_asks"]["peak_mb"],
        ]
        for name, s in data["serve"].items()
    ]
    asks = [s["asks"] for s in data["serve"].values()]
    headers = [
        "index",
        "chunks",
        "serve->ready s (each start)",
        "median s",
        "RSS ready MB",
        f"RSS after {asks[0] if asks else 0} asks MB",
        "peak MB",
    ]
    serve = table(headers, serve_rows)
    build_rows = [[n, b["peak_mb"], b["seconds"], b["summary"]] for n, b in data["build"].items()]
    builds = table(["build", "peak RSS MB", "wall s", "output"], build_rows)
    missing = (
        f"\n\nNot measured (no index): {', '.join(data['missing'])}." if data["missing"] else ""
    )
    return serve + "\n\n" + builds + missing


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=30, help="topical documents to build")
    parser.add_argument("--starts", type=int, default=3, help="serve start-ups per index")
    parser.add_argument("--asks", type=int, default=20, help="questions before the second RSS")
    parser.add_argument("--cached-rebuild", action="store_true", help="also a no-embed build")
    args = parser.parse_args(argv)
    began = stamp()
    data = run(args.limit, args.starts, args.asks, args.cached_rebuild)
    write_json("memory", data, began)
    print(report(data))


if __name__ == "__main__":
    main()
