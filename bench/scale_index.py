"""Build the scale index (medquad-all.jsonl) for the latency, ANN, memory and quality benchmarks.

medquad-all.jsonl holds 16,423 passages that chunk into ~43,000 chunks: a full build embeds all
of them (~25-30 minutes on 2 idle cores, much longer on a busy machine). This script first pools
the embedding caches of earlier builds (`--caches`: by default the topical index and an
interrupted full build in bench/out/idx-all), then builds into bench/out/idx-scale:
- with `--cached-only` (the default), only the documents whose chunks are all cached (topical's
  3,006 plus the prefix of medquad-all an earlier build got through), so nothing is embedded;
- with `--full`, every document (embedding whatever is missing).
It also builds an HNSW variant (bench/out/idx-scale-hnsw) from the same cache.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

from bench.common import ALL_DOCS, CLI, IDX_ALL, IDX_SCALE, IDX_TOPICAL, OUT
from corpus.chunk import chunk_document
from corpus.local import load_local
from index.build import passage_text
from index.cache import text_key
from index.embed import MODEL_ID

SUBSET = OUT / "medquad-all-cached.jsonl"


def pool_caches(sources: list[Path], target: Path) -> int:
    """Copy every cached vector of `sources` into `target`'s cache; returns its size."""
    target.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(target / "embeddings.sqlite")
    db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB)")
    for number, source in enumerate(sources):
        path = source / "embeddings.sqlite"
        if not path.exists():
            continue
        db.execute(f"ATTACH DATABASE ? AS src{number}", (str(path),))
        with db:
            db.execute(f"INSERT OR IGNORE INTO vectors SELECT key, vec FROM src{number}.vectors")
        db.execute(f"DETACH DATABASE src{number}")
    count = int(db.execute("SELECT count(*) FROM vectors").fetchone()[0])
    db.close()
    return count


def cached_ids(cache_dir: Path) -> set[str]:
    """Ids of medquad-all documents whose every passage text is in the pooled cache."""
    db = sqlite3.connect(cache_dir / "embeddings.sqlite")
    keys = {row[0] for row in db.execute("SELECT key FROM vectors")}
    db.close()
    docs = load_local([ALL_DOCS], lambda message: None)
    return {
        doc.source_id
        for doc in docs
        if all(text_key(MODEL_ID, passage_text(doc, c)) in keys for c in chunk_document(doc))
    }


def write_subset(ids: set[str]) -> Path:
    """The medquad-all lines of `ids`, in file order."""
    with ALL_DOCS.open(encoding="utf-8") as src, SUBSET.open("w", encoding="utf-8") as dst:
        for line in src:
            if line.strip() and json.loads(line)["id"] in ids:
                dst.write(line)
    return SUBSET


def build(docs: Path, index_dir: Path, ann: str) -> str:
    """`stemcell-qa build` of `docs` into `index_dir`; its summary line."""
    cmd = [CLI, "build", "--no-sources", "--docs", str(docs), "--index", str(index_dir)]
    done = subprocess.run([*cmd, "--ann", ann, "--force"], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return done.stdout.strip()


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="index every document")
    parser.add_argument("--caches", type=Path, nargs="*", default=[IDX_TOPICAL, IDX_ALL])
    args = parser.parse_args(argv)
    print(f"pooled cache: {pool_caches(args.caches, IDX_SCALE)} vectors")
    docs = ALL_DOCS if args.full else write_subset(cached_ids(IDX_SCALE))
    print(build(docs, IDX_SCALE, "flat"))
    hnsw = IDX_SCALE.with_name(IDX_SCALE.name + "-hnsw")
    hnsw.mkdir(parents=True, exist_ok=True)
    shutil.copy(IDX_SCALE / "embeddings.sqlite", hnsw / "embeddings.sqlite")
    print(build(docs, hnsw, "hnsw"))
    (OUT / "scale_index.json").write_text(json.dumps({"docs": str(docs), "full": args.full}))


if __name__ == "__main__":
    main()
