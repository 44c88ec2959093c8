"""Benchmark: build throughput against the raw encode limit, counting every text encoded.

On the first `--limit` documents of topical.jsonl, in one process with one loaded model: a
fresh in-process `index.build.build` (empty embedding cache) — which encodes the chunk texts
(with late-chunked sentence vectors pooled from the same pass) and the source vocabulary — and,
before and after it, plain `encode` of exactly the texts that build encoded (same batch size,
the build's blocks of 256). The build's texts/s over raw encode's (the mean of the two runs,
so a change of machine load during the run shows as a gap between them) is the figure; the
goal is >= 0.85. Optionally (`--cli`) a fresh `stemcell-qa build` subprocess end to end,
model load included.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import CLI, TOPICAL, first_lines, scratch, stamp, table, write_json
from corpus.local import load_local
from index import store
from index.build import BuildSettings, build, passage_text
from index.embed import MiniLMEmbedder

GOAL = 0.85


def encoded_texts(folder: Path, embedder: MiniLMEmbedder, mode: str) -> list[str]:
    """The distinct texts a fresh build of `folder` encoded: chunk passages (and, when
    sentences are encoded on their own, answer sentences), then source words."""
    version = store.load(folder, embedder.model_id, embedder.dim)
    docs = version.documents
    texts = [passage_text(docs[c.source_id], c) for c in version.chunks]
    if mode == "separate":
        table_ = version.sentences
        rows = zip(table_.doc, table_.start, table_.end, table_.eligible, strict=True)
        texts += [docs[table_.doc_ids[d]].text[s:e] for d, s, e, ok in rows if ok]
    return list(dict.fromkeys([*texts, *version.vocabulary.words]))


def time_encode(embedder: MiniLMEmbedder, texts: list[str], block: int) -> float:
    """Seconds to encode `texts` at the build's batch size, in the build's blocks."""
    began = time.perf_counter()
    for start in range(0, len(texts), block):
        embedder.encode(texts[start : start + block], batch_size=BuildSettings().batch_size)
    return time.perf_counter() - began


def time_cli_build(docs_file: Path) -> tuple[float, str]:
    """Wall seconds of `stemcell-qa build` into a fresh dir, and its summary line."""
    folder = Path(tempfile.mkdtemp(prefix="bt-cli-", dir=scratch()))
    try:
        cmd = [CLI, "build", "--no-sources", "--docs", str(docs_file), "--index", str(folder)]
        began = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        return time.perf_counter() - began, done.stdout.strip()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def row(name: str, texts: int, seconds: float, raw_s: float) -> dict[str, Any]:
    """One result row: texts/s and ratio to the raw encode rate."""
    return {
        "name": name,
        "seconds": round(seconds, 2),
        "texts_per_s": round(texts / seconds, 2),
        "ratio_to_encode": round(raw_s / seconds, 3),
    }


def run(limit: int, cli: bool) -> dict[str, Any]:
    """Build, then raw encode of the same texts around it; returns the figures."""
    docs_file = first_lines(TOPICAL, limit, scratch() / f"topical-{limit}.jsonl")
    docs = load_local([docs_file], lambda message: None)
    embedder = MiniLMEmbedder()
    embedder.encode(["warm-up sentence"] * 8)
    settings = BuildSettings()
    folder = Path(tempfile.mkdtemp(prefix="bt-inproc-", dir=scratch()))
    try:
        began = time.perf_counter()
        report = build(docs, folder, embedder, settings, force=True)
        build_s = time.perf_counter() - began
        texts = encoded_texts(folder, embedder, settings.sentence_vectors)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    counted = report.embedded + report.embedded_sentences + report.embedded_words
    raw_before = time_encode(embedder, texts, settings.block)
    raw_after = time_encode(embedder, texts, settings.block)
    raw_s = (raw_before + raw_after) / 2
    rows = [
        row("raw encode, run 1", len(texts), raw_before, raw_s),
        row("raw encode, run 2", len(texts), raw_after, raw_s),
        row("build() in-process, fresh index", counted, build_s, raw_s * counted / len(texts)),
    ]
    summary = ""
    if cli:
        cli_s, summary = time_cli_build(docs_file)
        scaled = raw_s * counted / len(texts)
        rows.append(row("`stemcell-qa build` end to end", counted, cli_s, scaled))
    return {
        "corpus": TOPICAL.name,
        "documents": len(docs),
        "chunks": report.chunks,
        "sentences": report.sentences,
        "sentence_vectors": settings.sentence_vectors,
        "texts_encoded": {
            "chunks": report.embedded,
            "sentences": report.embedded_sentences,
            "words": report.embedded_words,
            "total": counted,
            "raw_encode_texts": len(texts),
        },
        "rows": rows,
        "build_ratio": rows[2]["ratio_to_encode"],
        "cli_summary": summary,
        "goal_ratio": GOAL,
    }


def report(data: dict[str, Any]) -> str:
    """The Markdown table of a result."""
    rows = [[r["name"], r["seconds"], r["texts_per_s"], r["ratio_to_encode"]] for r in data["rows"]]
    t = data["texts_encoded"]
    head = (
        f"{data['documents']} documents of {data['corpus']}: {data['chunks']:,} chunks, "
        f"{data['sentences']:,} sentences (vectors: {data['sentence_vectors']}). The build "
        f"encoded {t['total']:,} texts ({t['chunks']:,} chunk passages, {t['sentences']:,} "
        f"sentences on their own, {t['words']:,} source words); raw encode runs the same "
        f"{t['raw_encode_texts']:,} texts. Ratio = build texts/s over the mean raw texts/s.\n\n"
    )
    return head + table(["step", "seconds", "texts/s", "ratio to raw encode"], rows)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=250, help="first N topical documents")
    parser.add_argument("--cli", action="store_true", help="also time a CLI build")
    args = parser.parse_args(argv)
    began = stamp()
    data = run(args.limit, args.cli)
    write_json("build_throughput", data, began)
    print(report(data))


if __name__ == "__main__":
    main()
