"""Sentence vectors at build time: encode each sentence alone, or pool it from its chunk's pass?

Builds the same MedQuAD subset twice from an empty embedding cache — `sentence_vectors =
"separate"` and `"late"` — timing each build and counting every text encoded, times the raw
`encode` of the same texts, then cross-fits the scorers on each index (MedQuAD dev questions
whose answer is in the subset, plus the out-of-scope ones, and the seed article's dev sets) and
reports the cross-validated answer metrics. Writes bench/results/sentence_vectors.json.

    python -m bench.sentence_vectors --docs 500
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from assistant.answer import AskSettings
from assistant.evaluate import load_questions
from assistant.train import QuestionSet, TrainSettings, collect, cross_validated, train
from bench.common import SEED_DOC, SHARED, TOPICAL, stamp, table, write_json
from corpus.local import load_local
from index.build import BuildSettings, build, passage_text
from index.embed import MiniLMEmbedder

DEV = SHARED / "eval"


def _subset(limit: int, folder: Path) -> Path:
    path = folder / "subset.jsonl"
    with TOPICAL.open(encoding="utf-8") as lines, path.open("w", encoding="utf-8") as out:
        for number, line in enumerate(lines):
            if number >= limit:
                break
            out.write(line)
    return path


def _build(embedder: Any, docs: list[Any], mode: str, folder: Path) -> dict[str, Any]:
    began = time.perf_counter()
    report = build(docs, folder, embedder, BuildSettings(sentence_vectors=mode))
    seconds = time.perf_counter() - began
    texts = report.embedded + report.embedded_sentences + report.embedded_words
    return {
        "mode": mode,
        "seconds": round(seconds, 1),
        "chunks": report.chunks,
        "sentences": report.sentences,
        "texts_encoded": texts,
        "chunks_encoded": report.embedded,
        "sentences_encoded": report.embedded_sentences,
        "words_encoded": report.embedded_words,
        "texts_per_second": round(texts / seconds, 1),
    }


def _raw_encode(embedder: Any, folder: Path, mode: str) -> float:
    """Seconds for plain `encode` of the texts a build of `mode` encoded (same batching)."""
    from index import store

    version = store.load(folder, embedder.model_id, embedder.dim)
    docs = version.documents
    texts = [passage_text(docs[c.source_id], c) for c in version.chunks]
    table = version.sentences
    if mode == "separate":
        texts += [
            docs[table.doc_ids[d]].text[s:e]
            for d, s, e, ok in zip(table.doc, table.start, table.end, table.eligible, strict=True)
            if ok
        ]
    texts += list(version.vocabulary.words)
    began = time.perf_counter()
    for start in range(0, len(texts), 256):
        embedder.encode(texts[start : start + 256])
    return time.perf_counter() - began


def _quality(embedder: Any, index: Path, seed: Path, ids: set[str]) -> dict[str, Any]:
    medquad = [
        q
        for q in load_questions(DEV / "medquad-topical-dev.jsonl")
        if q.expect == "abstain" or set(q.gold_ids) & ids
    ]
    sets = [
        QuestionSet("medquad-subset", index, medquad),
        QuestionSet("seed-dev", seed, load_questions(DEV / "seed-dev.jsonl")),
        QuestionSet("seed-indomain-dev", seed, load_questions(DEV / "seed-indomain-dev.jsonl")),
    ]
    ask = AskSettings(max_passages=30)
    items = collect(embedder, sets, ask, lambda message: None)
    names = [s.name for s in sets]
    fitted = train(items, ask, replace(TrainSettings(), rewrite_seed=None), names)
    keep = ("hit@1", "hit@3", "mrr@10", "answered_rate", "abstain_rate")
    return {
        name: {k: row[k] for k in keep}
        for name, row in cross_validated(fitted, embedder, ask, names).items()
    }


def main(argv: list[str] | None = None) -> None:
    """Run both modes and write the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=500, help="MedQuAD topical documents")
    args = parser.parse_args(argv)
    began = stamp()
    embedder = MiniLMEmbedder()
    results: dict[str, Any] = {"docs": args.docs, "modes": {}}
    with tempfile.TemporaryDirectory(prefix="bench-sv-") as tmp:
        root = Path(tmp)
        docs = load_local([_subset(args.docs, root)], print)
        seed_docs = load_local([SEED_DOC], print)
        ids = {d.source_id for d in docs}
        for mode in ("separate", "late"):
            folder, seed = root / mode, root / f"seed-{mode}"
            figures = _build(embedder, docs, mode, folder)
            build(seed_docs, seed, embedder, BuildSettings(sentence_vectors=mode))
            raw = _raw_encode(embedder, folder, mode)
            figures["raw_encode_seconds"] = round(raw, 1)
            figures["build_vs_raw_encode"] = round(raw / figures["seconds"], 3)
            figures["quality"] = _quality(embedder, folder, seed, ids)
            results["modes"][mode] = figures
            print(json.dumps(figures, indent=2))
    write_json("sentence_vectors", results, began)


def report(data: dict[str, Any]) -> str:
    """The Markdown tables of a result: build cost, then cross-validated answers."""
    modes = data["modes"]
    cost = [
        [
            mode,
            m["chunks"],
            m["sentences"],
            m["texts_encoded"],
            m["seconds"],
            m["texts_per_second"],
            m["build_vs_raw_encode"],
        ]
        for mode, m in modes.items()
    ]
    headers = ["mode", "chunks", "sentences", "texts encoded", "build s", "texts/s", "vs raw"]
    sep, late = modes.get("separate"), modes.get("late")
    speed = (
        f" Late built {sep['seconds'] / late['seconds']:.1f}x faster than separate."
        if sep and late
        else ""
    )
    head = (
        f"{data['docs']} MedQuAD topical documents, each mode built from an empty cache.{speed} "
        "Answers: scorers cross-fitted on each index (grouped folds).\n\n"
    )
    quality = [
        [mode, name, *[q[k] for k in ("hit@1", "hit@3", "mrr@10", "answered_rate", "abstain_rate")]]
        for mode, m in modes.items()
        for name, q in m["quality"].items()
    ]
    qheaders = ["mode", "set", "hit@1", "hit@3", "mrr@10", "answered", "abstained"]
    return head + table(headers, cost) + "\n\n" + table(qheaders, quality)


if __name__ == "__main__":
    main()
