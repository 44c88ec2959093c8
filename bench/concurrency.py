"""Benchmark: throughput of `stemcell-qa serve` under N concurrent HTTP clients (topical).

Starts `stemcell-qa serve --workers N` for each `--workers` count in turn on loopback (with
2: two processes on the one port, the kernel spreading connections over them), with
STEMCELL_QA_RATE_LIMIT=0, over the topical index (11,625 chunks). For each client count
(`--clients`) sends `--requests` POST /ask requests (distinct dev questions, a fresh set per
level) from asyncio clients and reports requests/s, p50/p95 latency and errors (must be 0).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    IDX_TOPICAL,
    TOPICAL_QUESTIONS,
    percentiles,
    rss_mb,
    sample_questions,
    serving,
    stamp,
    table,
    write_json,
)


async def client(
    http: httpx.AsyncClient, urls: list[str], jobs: asyncio.Queue[tuple[int, str]], log: list[Any]
) -> None:
    """Take questions off the queue until it is empty; record (ms, status) for each."""
    while True:
        try:
            number, question = jobs.get_nowait()
        except asyncio.QueueEmpty:
            return
        began = time.perf_counter()
        status: int | str
        try:
            response = await http.post(
                urls[number % len(urls)], json={"question": question, "history": []}
            )
            status = response.status_code
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        log.append(((time.perf_counter() - began) * 1000, status))


async def load_level(urls: list[str], questions: list[str], clients: int) -> dict[str, Any]:
    """Send every question once with `clients` concurrent clients."""
    jobs: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for item in enumerate(questions):
        jobs.put_nowait(item)
    log: list[Any] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=300, limits=limits) as http:
        began = time.perf_counter()
        await asyncio.gather(*(client(http, urls, jobs, log) for _ in range(clients)))
        seconds = time.perf_counter() - began
    ok = [ms for ms, status in log if status == 200]
    errors = [status for _, status in log if status != 200]
    p = percentiles(ok)
    return {
        "clients": clients,
        "requests": len(log),
        "seconds": round(seconds, 2),
        "rps": round(len(log) / seconds, 2),
        "p50": p["p50"],
        "p95": p["p95"],
        "errors": len(errors),
        "error_kinds": sorted({str(e) for e in errors}),
    }


def run_workers(
    index_dir: Path, workers: int, levels: list[int], questions: list[str]
) -> dict[str, Any]:
    """Every client level against `workers` server processes."""
    with serving(index_dir, workers) as servers:
        urls = [f"http://127.0.0.1:{s['port']}/ask" for s in servers]
        asyncio.run(load_level(urls, questions[:8], 2))  # warm-up
        pool = itertools.cycle([questions[i :: len(levels)] for i in range(len(levels))])
        results = []
        for clients in levels:
            results.append(asyncio.run(load_level(urls, next(pool), clients)))
            print(f"workers={workers} clients={clients}: {results[-1]['rps']} req/s")
        rss = [rss_mb(s["pid"]) for s in servers]
    return {"workers": workers, "levels": results, "server_memory": rss}


def run(requests: int, levels: list[int], worker_counts: list[int]) -> dict[str, Any]:
    """All worker counts; returns the figures."""
    records = sample_questions(TOPICAL_QUESTIONS, requests * len(levels), seed=11)
    questions = [q["question"] for q in records if not q.get("history")]
    return {
        "index": IDX_TOPICAL.name,
        "chunks": _chunks(IDX_TOPICAL),
        "requests_per_level": len(questions) // len(levels),
        "runs": [run_workers(IDX_TOPICAL, w, levels, questions) for w in worker_counts],
    }


def _chunks(index_dir: Path) -> int:
    from index import store

    return int((store.read_manifest(index_dir) or {}).get("counts", {}).get("chunks", 0))


def report(data: dict[str, Any]) -> str:
    """The Markdown table of a result."""
    rows = [
        [
            run["workers"],
            lvl["clients"],
            lvl["requests"],
            lvl["rps"],
            lvl["p50"],
            lvl["p95"],
            lvl["errors"],
        ]
        for run in data["runs"]
        for lvl in run["levels"]
    ]
    headers = ["workers", "clients", "requests", "req/s", "p50 ms", "p95 ms", "errors"]
    head = (
        f"POST /ask over loopback at {data['chunks']:,} chunks, distinct questions; the clients "
        "(one asyncio process) share the machine's cores with the server.\n\n"
    )
    return head + table(headers, rows)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per client level")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    began = stamp()
    data = run(args.requests, args.clients, args.workers)
    write_json("concurrency", data, began)
    print(report(data))


if __name__ == "__main__":
    main()
