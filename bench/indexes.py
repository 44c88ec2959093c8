"""Build (or reuse) the three indexes the benchmarks read, under bench/cache/.

    python -m bench.indexes                       # seed, topical and medquad-all
    python -m bench.indexes --sizes seed topical
    python -m bench.indexes --seed-cache /path/to/other/index   # pool its embedding cache first

Each index is `stemcell-qa build --no-sources --docs FILE --index bench/cache/idx-<size>`:
with the folder's own `embeddings.sqlite` warm, a rebuild re-uses every vector and an
unchanged corpus publishes nothing, so only the first run pays for embedding (by far the
slowest step for medquad-all). To skip that, copy prebuilt
indexes (with their `embeddings.sqlite`) into bench/cache/idx-seed, idx-topical, idx-all, or
pool another index's cache with `--seed-cache`.
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.common import (
    ALL_DOCS,
    CLI,
    IDX_ALL,
    IDX_SEED,
    IDX_TOPICAL,
    ROOT,
    SEED_DOC,
    TOPICAL,
    stamp,
    write_json,
)
from index import store

SIZES: dict[str, tuple[Path, Path]] = {
    "seed": (SEED_DOC, IDX_SEED),
    "topical": (TOPICAL, IDX_TOPICAL),
    "all": (ALL_DOCS, IDX_ALL),
}


def pool_cache(sources: list[Path], target: Path) -> int:
    """Copy every cached vector of the `sources` index folders into `target`'s cache (their
    files are only read); returns the number of vectors `target` then holds."""
    target.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(target / "embeddings.sqlite")
    db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB)")
    for number, source in enumerate(sources):
        path = source / "embeddings.sqlite"
        if not path.exists():
            continue
        db.execute(f"ATTACH DATABASE ? AS src{number}", (f"file:{path}?mode=ro",))
        with db:
            db.execute(f"INSERT OR IGNORE INTO vectors SELECT key, vec FROM src{number}.vectors")
        db.execute(f"DETACH DATABASE src{number}")
    count = int(db.execute("SELECT count(*) FROM vectors").fetchone()[0])
    db.close()
    return count


def ensure(size: str) -> dict[str, Any]:
    """Build or refresh one index; its counts, the build's summary line and seconds."""
    docs, index_dir = SIZES[size]
    cmd = [CLI, "build", "--no-sources", "--docs", str(docs), "--index", str(index_dir)]
    began = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"building the {size} index failed: {done.stderr[-2000:]}")
    manifest = store.read_manifest(index_dir) or {}
    return {
        "index": str(index_dir.relative_to(ROOT)),
        "version": store.current_name(index_dir),
        "counts": manifest.get("counts", {}),
        "built_at": manifest.get("built_at"),
        "summary": done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "",
        "seconds": round(time.perf_counter() - began, 1),
    }


def exists(size: str) -> bool:
    """Whether the size's index has a published version."""
    return store.current_name(SIZES[size][1]) is not None


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--seed-cache", type=Path, nargs="*", default=[], metavar="INDEX_DIR")
    args = parser.parse_args(argv)
    began = stamp()
    data: dict[str, Any] = {"indexes": {}}
    for size in args.sizes:
        if args.seed_cache:
            pool_cache(args.seed_cache, SIZES[size][1])
        data["indexes"][size] = ensure(size)
        print(f"{size}: {data['indexes'][size]['summary']}", flush=True)
    write_json("indexes", data, began)


if __name__ == "__main__":
    main()
