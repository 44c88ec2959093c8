"""Benchmark: incremental rebuild — full build, change one document, rebuild, no-op rebuild.

Builds the first `--limit` documents of topical.jsonl into a fresh index dir (empty embedding
cache), then appends one sentence to one document (`--doc`, by position) and rebuilds the same
dir, then rebuilds again with nothing changed. Reports wall time and embedded/reused counts for
each, and checks that the rebuild embedded exactly the chunks whose text changed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import TOPICAL, first_lines, scratch, stamp, table, write_json
from corpus.chunk import chunk_document
from corpus.document import Document
from corpus.local import load_local
from index.build import BuildReport, BuildSettings, build, passage_text
from index.embed import MiniLMEmbedder

EXTRA = " This sentence was added by the incremental rebuild benchmark to change one document."


def changed_file(source: Path, position: int, target: Path) -> tuple[Path, str]:
    """Copy of `source` with one sentence appended to the text of line `position`."""
    lines = source.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[position])
    record["text"] = record["text"].rstrip() + EXTRA
    lines[position] = json.dumps(record, ensure_ascii=False)
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target, str(record["id"])


def changed_passages(old: Document, new: Document) -> tuple[int, int]:
    """(chunks of the new document, how many of their passage texts the old one lacks)."""
    before = {passage_text(old, c) for c in chunk_document(old)}
    after = [passage_text(new, c) for c in chunk_document(new)]
    return len(after), sum(text not in before for text in after)


def timed_build(docs: list[Document], folder: Path, embedder: MiniLMEmbedder) -> dict[str, Any]:
    """One build into `folder` with its wall time and counts."""
    began = time.perf_counter()
    result: BuildReport = build(docs, folder, embedder, BuildSettings(ann="flat"))
    return {
        "seconds": round(time.perf_counter() - began, 2),
        **{k: v for k, v in dataclasses.asdict(result).items() if k != "version"},
    }


def run(limit: int, position: int) -> dict[str, Any]:
    """Full build, one-document change, rebuild, no-op rebuild; returns the figures."""
    out = scratch()
    base_file = first_lines(TOPICAL, limit, out / f"topical-{limit}.jsonl")
    new_file, doc_id = changed_file(base_file, position, out / f"topical-{limit}-changed.jsonl")
    quiet = lambda message: None  # noqa: E731
    base, new = load_local([base_file], quiet), load_local([new_file], quiet)
    old_doc = next(d for d in base if d.source_id == doc_id)
    new_doc = next(d for d in new if d.source_id == doc_id)
    doc_chunks, expected = changed_passages(old_doc, new_doc)
    embedder = MiniLMEmbedder()
    embedder.encode(["warm-up sentence"] * 8)
    folder = Path(tempfile.mkdtemp(prefix="incr-", dir=out))
    try:
        steps = {
            "full build (fresh dir)": timed_build(base, folder, embedder),
            "rebuild, one document changed": timed_build(new, folder, embedder),
            "rebuild, nothing changed": timed_build(new, folder, embedder),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    rebuilt = steps["rebuild, one document changed"]
    return {
        "corpus": TOPICAL.name,
        "documents": len(base),
        "changed_document": doc_id,
        "changed_document_chunks": doc_chunks,
        "expected_embedded": expected,
        "only_changed_encoded": rebuilt["embedded"] == expected,
        "speedup": round(steps["full build (fresh dir)"]["seconds"] / rebuilt["seconds"], 1),
        "steps": steps,
    }


def report(data: dict[str, Any]) -> str:
    """The Markdown table of a result."""
    rows = [
        [
            name,
            s["seconds"],
            "yes" if s["published"] else "no",
            s["chunks"],
            s["embedded"],
            s["reused"],
        ]
        for name, s in data["steps"].items()
    ]
    verdict = "yes" if data["only_changed_encoded"] else "**NO**"
    head = (
        f"{data['documents']} documents of {data['corpus']}; changed `{data['changed_document']}` "
        f"({data['changed_document_chunks']} chunks, {data['expected_embedded']} with new text). "
        f"Only the changed chunks were encoded: {verdict}. Rebuild is {data['speedup']}x faster "
        "than the full build.\n\n"
    )
    headers = ["step", "seconds", "published", "chunks", "embedded", "reused"]
    return head + table(headers, rows)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=300, help="first N documents of topical")
    parser.add_argument("--doc", type=int, default=5, help="position of the document to change")
    args = parser.parse_args(argv)
    began = stamp()
    data = run(args.limit, args.doc)
    write_json("incremental", data, began)
    print(report(data))


if __name__ == "__main__":
    main()
