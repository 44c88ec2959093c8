"""Shared helpers for the benchmarks: paths, section stamps, percentiles, JSON results, tables,
servers.

Three folders: `bench/results/` holds each section's small JSON result (committed: every
figure in RESULTS.md comes from one of them); `bench/cache/` holds the indexes the benchmarks
build and reuse, with their embedding caches (git-ignored); `bench/out/` holds temporary and
large files (git-ignored).
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = BENCH / "out"
CACHE = BENCH / "cache"
RESULTS = BENCH / "results"
SHARED = (ROOT / ".." / "shared").resolve()
TOPICAL = SHARED / "corpus" / "medquad" / "topical.jsonl"
ALL_DOCS = SHARED / "scale" / "medquad-all.jsonl"
SEED_DOC = SHARED / "corpus" / "are-stem-cell-products-safe.txt"
SEED_QUESTIONS = SHARED / "eval" / "seed-dev.jsonl"
TOPICAL_QUESTIONS = SHARED / "eval" / "medquad-topical-dev.jsonl"
ALL_QUESTIONS = SHARED / "scale" / "medquad-all-dev-questions.jsonl"
IDX_SEED = CACHE / "idx-seed"  # the seed article (bench/indexes.py builds all three)
IDX_TOPICAL = CACHE / "idx-topical"  # MedQuAD topical.jsonl
IDX_ALL = CACHE / "idx-all"  # MedQuAD medquad-all.jsonl
BIN = Path(sys.executable).parent
CLI = str(BIN / "stemcell-qa")


def result_path(name: str) -> Path:
    """`bench/results/<name>.json`, creating the folder."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    return RESULTS / f"{name}.json"


def scratch() -> Path:
    """`bench/out/`, created: temporary and large files."""
    OUT.mkdir(parents=True, exist_ok=True)
    return OUT


def stamp() -> dict[str, Any]:
    """When a section started and how loaded the machine was then (other work skews timings)."""
    return {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load_average_start": load_averages(),
        "clock": time.perf_counter(),
    }


def write_json(name: str, data: dict[str, Any], began: dict[str, Any] | None = None) -> Path:
    """Write a section's figures to bench/results/, stamped with its start, end load and
    duration when `began` (from `stamp()`) is given."""
    if began is not None:
        run = {k: v for k, v in began.items() if k != "clock"}
        run["seconds"] = round(time.perf_counter() - began["clock"], 1)
        run["load_average_end"] = load_averages()
        run["size"] = os.environ.get("BENCH_SIZE", "")
        data = {"run": run, **data}
    path = result_path(name)
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}")
    return path


def read_json(name: str) -> dict[str, Any] | None:
    """A section's figures, or None when it has not run."""
    path = result_path(name)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def percentiles(values_ms: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99 and mean of latencies in milliseconds."""
    if not values_ms:
        return {"n": 0, "p50": 0.0, "p95": 0.0, "p99": 0.0, "mean": 0.0}
    arr = np.asarray(values_ms, dtype=float)
    p50, p95, p99 = np.percentile(arr, [50, 95, 99])
    return {
        "n": len(arr),
        "p50": round(float(p50), 2),
        "p95": round(float(p95), 2),
        "p99": round(float(p99), 2),
        "mean": round(float(arr.mean()), 2),
    }


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def first_lines(source: Path, limit: int | None, target: Path) -> Path:
    """Copy the first `limit` JSONL lines of `source` to `target` (all when limit is None)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with source.open(encoding="utf-8") as src, target.open("w", encoding="utf-8") as dst:
        for number, line in enumerate(src):
            if limit is not None and number >= limit:
                break
            dst.write(line)
    return target


def sample_questions(path: Path, sample: int | None, seed: int = 7) -> list[dict[str, Any]]:
    """All question records of `path`, or a seeded random sample of `sample` of them."""
    records = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    if sample and sample < len(records):
        records = random.Random(seed).sample(records, sample)
    return records


def questions_for(index_dir: Path, path: Path, sample: int | None) -> list[dict[str, Any]]:
    """Seeded sample of `path` among questions the index can answer or must abstain on."""
    from index import store

    manifest = store.read_manifest(index_dir) or {}
    present = set(manifest.get("sources", {}))
    usable = [
        q
        for q in sample_questions(path, None)
        if q.get("expect") == "abstain" or not q.get("gold_ids") or set(q["gold_ids"]) & present
    ]
    if not sample or sample >= len(usable):
        return usable
    return random.Random(7).sample(usable, sample)


def free_port() -> int:
    """An unused loopback TCP port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> dict[str, float]:
    """Current (VmRSS) and peak (VmHWM) resident memory of a process, in MB."""
    values: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = round(int(rest.split()[0]) / 1024, 1)
    return {"rss_mb": values.get("VmRSS", 0.0), "peak_mb": values.get("VmHWM", 0.0)}


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 180.0) -> float:
    """Poll GET /readyz until 200; seconds waited. Raises if the server dies or times out."""
    import httpx

    began = time.perf_counter()
    while time.perf_counter() - began < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return time.perf_counter() - began
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"server on port {port} not ready after {timeout} s")


@contextmanager
def serving(index_dir: Path, workers: int = 1) -> Iterator[list[dict[str, Any]]]:
    """Start `stemcell-qa serve --workers N` on one port; yield each worker process's
    port/pid/ready_s (with one worker, the server process itself)."""
    env = dict(os.environ, STEMCELL_QA_RATE_LIMIT="0")
    log = (scratch() / "serve.log").open("ab")
    port = free_port()
    cmd = [CLI, "serve", "--index", str(index_dir), "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen([*cmd, "--workers", str(workers)], env=env, stdout=log, stderr=log)
    try:
        ready = round(wait_ready(port, proc), 2)
        pids = [proc.pid] if workers == 1 else _children(proc.pid, workers)
        yield [{"port": port, "pid": pid, "ready_s": ready} for pid in pids]
    finally:
        proc.terminate()  # with workers, the parent stops them first
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _children(parent: int, count: int, timeout: float = 60.0) -> list[int]:
    """The `count` worker processes `serve --workers` started, once they all have."""
    began = time.perf_counter()
    while time.perf_counter() - began < timeout:
        found = worker_pids(parent)
        if len(found) == count:
            return found
        time.sleep(0.1)
    raise RuntimeError(f"serve --workers {count}: its workers did not all start")


def worker_pids(parent: int) -> list[int]:
    """The worker processes of a `serve --workers` process (multiprocessing's spawned
    children of `parent`), by pid."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and b"spawn_main" in command:
            found.append(int(entry.name))
    return sorted(found)


def serving_threads() -> int:
    """The torch thread count `stemcell-qa serve` would use (its settings, environment
    included), so in-process timings run as the server does."""
    from assistant.settings import Settings

    return Settings(**{}).threads


def machine() -> dict[str, Any]:
    """Cores, model, package versions and date for the results page."""
    import faiss
    import sentence_transformers
    import torch

    from index.embed import MODEL_ID

    return {
        "nproc": os.cpu_count(),
        "cpu": _cpu_name(),
        "model": MODEL_ID,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "torch_threads_default": torch.get_num_threads(),  # sections record what they set
        "faiss": faiss.__version__,
        "sentence_transformers": sentence_transformers.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    }


def _cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def load_average() -> float:
    """1-minute load average: other work on the machine skews every absolute figure."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def load_averages() -> list[float]:
    """1-, 5- and 15-minute load averages."""
    return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]
