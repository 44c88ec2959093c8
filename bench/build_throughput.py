"""Benchmark 1: build throughput against the raw encode limit of the bundled model.

On the first `--limit` documents of topical.jsonl, times (side by side, same process, same loaded
model): chunking; `MiniLMEmbedder.encode` alone on exactly the passage texts the build embeds
(batch size 32); optionally the same encode in the build's blocks of 256 texts (`--blocks`); a
fresh in-process `index.build.build`; and a fresh `stemcell-qa build` subprocess (end to end,
including model load). Prints chunks/s for each and the build/encode ratio (goal >= 0.90).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import CLI, OUT, TOPICAL, first_lines, load_average, table, write_json
from corpus.chunk import chunk_document
from corpus.local import load_local
from index.build import BuildSettings, build, passage_text
from index.embed import MiniLMEmbedder

GOAL = 0.90


def passage_texts(docs: list[Any]) -> tuple[list[str], float]:
    """The texts the build embeds (every chunk of every document) and the chunking seconds."""
    began = time.perf_counter()
    texts = [passage_text(doc, chunk) for doc in docs for chunk in chunk_document(doc)]
    return texts, time.perf_counter() - began


def time_encode(embedder: MiniLMEmbedder, texts: list[str], block: int | None) -> float:
    """Seconds to encode `texts` at batch size 32, in one call or in blocks like the build."""
    began = time.perf_counter()
    step = block or len(texts)
    for start in range(0, len(texts), step):
        embedder.encode(texts[start : start + step], batch_size=32)
    return time.perf_counter() - began


def time_build(embedder: MiniLMEmbedder, docs: list[Any]) -> tuple[float, int]:
    """Seconds for a fresh in-process build (fresh index dir, empty cache) and its chunk count."""
    folder = Path(tempfile.mkdtemp(prefix="bt-inproc-", dir=OUT))
    try:
        began = time.perf_counter()
        report = build(docs, folder, embedder, BuildSettings(ann="flat"), force=True)
        seconds = time.perf_counter() - began
        # duplicate passage texts are embedded once, so `reused` may be > 0 even here
        return seconds, report.chunks
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def time_cli_build(docs_file: Path) -> tuple[float, str]:
    """Wall seconds of `stemcell-qa build` into a fresh dir, and its summary line."""
    folder = Path(tempfile.mkdtemp(prefix="bt-cli-", dir=OUT))
    try:
        cmd = [CLI, "build", "--no-sources", "--docs", str(docs_file), "--index", str(folder)]
        began = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        return time.perf_counter() - began, done.stdout.strip()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def row(name: str, chunks: int, seconds: float, limit_s: float) -> dict[str, Any]:
    """One result row: chunks/s and ratio to the raw encode rate."""
    rate = chunks / seconds
    return {
        "name": name,
        "seconds": round(seconds, 2),
        "chunks_per_s": round(rate, 2),
        "ratio_to_encode": round(limit_s / seconds, 3),
    }


def run(limit: int | None, blocks: bool, cli: bool) -> dict[str, Any]:
    """Run every timing and return the figures."""
    docs_file = first_lines(TOPICAL, limit, OUT / f"topical-{limit or 'all'}.jsonl")
    docs = load_local([docs_file], lambda message: None)
    embedder = MiniLMEmbedder()
    embedder.encode(["warm-up sentence"] * 8)
    texts, chunk_s = passage_texts(docs)
    load_before = load_average()
    encode_s = time_encode(embedder, texts, None)
    rows = [row("raw encode (one call, batch 32)", len(texts), encode_s, encode_s)]
    if blocks:
        block_s = time_encode(embedder, texts, BuildSettings().block)
        rows.append(row("raw encode in blocks of 256 (as build)", len(texts), block_s, encode_s))
    build_s, chunks = time_build(embedder, docs)
    assert chunks == len(texts), "build and benchmark must see the same chunks"
    rows.append(row("build() in-process, fresh index", chunks, build_s, encode_s))
    summary = ""
    if cli:
        cli_s, summary = time_cli_build(docs_file)
        rows.append(row("`stemcell-qa build` end to end", chunks, cli_s, encode_s))
    return {
        "corpus": TOPICAL.name,
        "documents": len(docs),
        "chunks": len(texts),
        "limit": limit,
        "chunking_s": round(chunk_s, 2),
        "rows": rows,
        "cli_summary": summary,
        "goal_ratio": GOAL,
        "load_average": [load_before, load_average()],
    }


def report(data: dict[str, Any]) -> str:
    """The Markdown table of a result."""
    rows = [
        [r["name"], r["seconds"], r["chunks_per_s"], r["ratio_to_encode"]] for r in data["rows"]
    ]
    head = (
        f"{data['documents']} documents of {data['corpus']}, {data['chunks']} chunks "
        f"(chunking alone: {data['chunking_s']} s)\n\n"
    )
    return head + table(["step", "seconds", "chunks/s", "ratio to raw encode"], rows)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=400, help="first N documents (0 = all)")
    parser.add_argument("--blocks", action="store_true", help="also encode in blocks of 256")
    parser.add_argument("--no-cli", action="store_true", help="skip the CLI subprocess build")
    args = parser.parse_args(argv)
    data = run(args.limit or None, args.blocks, not args.no_cli)
    write_json("build_throughput", data)
    print(report(data))


if __name__ == "__main__":
    main()
