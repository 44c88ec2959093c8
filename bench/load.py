"""Load test over loopback: N concurrent clients asking mixed questions for S seconds.

    python -m bench.load --clients 50 --seconds 60                  # builds + serves its own index
    python -m bench.load --clients 50 --seconds 60 --rebuild-at 20  # ... and publishes a new
                                                                    # version (changed document)
    python -m bench.load --url http://127.0.0.1:8000 --index data/index   # an existing server
    python -m bench.load --clients 50 --seconds 40 --rebuild-at 10 --result load
                                                  # ... and write bench/results/load.json

Every response must be HTTP 200 and valid against the `/ask` schema (`AnswerOut`); every quoted
sentence must equal its document's text in the version named by that response (`index_version`),
so a response that mixed two versions is caught. Prints latency percentiles, errors and the index
versions seen; exits 1 on any error, schema failure, mixed or stale response.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError

from web.schemas import AnswerOut

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SEED = ROOT.parent / "shared" / "corpus" / "are-stem-cell-products-safe.txt"
PROBE_ID = "load-probe"
PROBE_QUESTION = "What did the probe clinic audit find about knee injections?"

# (question, history, use GET): in scope, out of scope, follow-ups, markup, non-Latin text
QUESTIONS: list[tuple[str, list[str], bool]] = [
    ("Are stem cell treatments safe?", [], False),
    ("What is stem cell tourism?", [], True),
    ("Can stem cells cause tumors?", [], False),
    ("What does GMP mean?", [], True),
    ("Why are unproven clinic treatments risky?", [], False),
    ("When does it start?", ["Is there a trial of stem cells for Huntington's disease?"], False),
    ("Is it safe?", ["What are mesenchymal stem cells?"], False),
    ("Which football team won the World Cup?", [], False),
    ("How do I bake sourdough bread?", [], True),
    ('<script>alert("x")</script> are stem cells safe?', [], False),
    ("¿Son seguras las células madre? 幹細胞は安全ですか", [], False),
    (PROBE_QUESTION, [], False),
    (PROBE_QUESTION, [], True),
]


def probe_record(round_name: str) -> dict[str, str]:
    """A small document whose wording changes between versions (the 'changed document')."""
    text = (
        f"The probe clinic audit, round {round_name}, found that knee injections were checked "
        f"for contamination in round {round_name}. Each batch of knee injections in round "
        f"{round_name} was tested before use. Patients were told the round {round_name} results."
    )
    return {
        "id": PROBE_ID,
        "title": "Probe clinic audit",
        "url": "https://example.org/probe-audit",
        "kind": "institution-news",
        "publisher": "Probe Hospital",
        "text": text,
    }


def write_probe(path: Path, round_name: str) -> Path:
    """Write the probe document as a one-line JSONL file."""
    path.write_text(json.dumps(probe_record(round_name)) + "\n", encoding="utf-8")
    return path


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def build_index(docs: list[Path], index_dir: Path, force: bool = False) -> str:
    """`stemcell-qa build --no-sources` in a subprocess; returns its output (raises on failure)."""
    command = [str(BIN / "stemcell-qa"), "build", "--no-sources", "--index", str(index_dir)]
    for doc in docs:
        command += ["--docs", str(doc)]
    if force:
        command.append("--force")
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"build failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


@dataclass
class Server:
    """A `stemcell-qa serve` subprocess on a loopback port; output goes to `log`."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        """Everything the server wrote so far (stdout and stderr)."""
        return self.log.read_text("utf-8", errors="replace")


@contextmanager
def serve(
    index_dir: Path, log: Path, env: dict[str, str] | None = None, ready_timeout: float = 180
) -> Iterator[Server]:
    """Start a server, wait for `/readyz`, and always stop it afterwards."""
    port = free_port()
    environment = {
        **os.environ,
        "STEMCELL_QA_RATE_LIMIT": "0",
        "STEMCELL_QA_RELOAD_INTERVAL": "0.5",
        **(env or {}),
    }
    command = [str(BIN / "stemcell-qa"), "serve", "--index", str(index_dir)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, cwd=ROOT, env=environment
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"server exited ({process.returncode}): {server.output()[-2000:]}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"server not ready in {ready_timeout:g}s: {server.output()[-2000:]}"
                )
            try:
                if httpx.get(server.url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@dataclass
class Record:
    """One request: when it was sent and answered (seconds from the start), what came back."""

    started: float
    ended: float
    status: int
    version: str | None = None
    error: str | None = None
    quotes: list[tuple[str, int, int, str]] = field(default_factory=list)


async def _one(client: httpx.AsyncClient, question: str, history: list[str], get: bool) -> Any:
    if get:
        return await client.get("/ask", params={"q": question})
    return await client.post("/ask", json={"question": question, "history": history})


def _record(response: httpx.Response, started: float, ended: float) -> Record:
    record = Record(started, ended, response.status_code)
    if response.status_code != 200:
        record.error = f"HTTP {response.status_code}: {response.text[:200]}"
        return record
    try:
        answer = AnswerOut.model_validate(response.json())
    except (ValueError, ValidationError) as exc:
        record.error = f"schema: {str(exc)[:300]}"
        return record
    record.version = answer.index_version
    record.quotes = [(s.source_id, s.start, s.end, s.text) for s in answer.answer]
    record.quotes += [(p.source_id, p.start, p.end, p.text) for p in answer.passages]
    return record


@dataclass
class _Window:
    """Clients run until `until`, and on while side events are pending (then `settle` s more)."""

    until: float
    pending: int
    settle: float = 5.0

    def open(self) -> bool:
        return self.pending > 0 or time.monotonic() < self.until


async def _client_loop(
    client: httpx.AsyncClient, rng: random.Random, began: float, window: _Window, out: list[Record]
) -> None:
    while window.open():
        question, history, get = rng.choice(QUESTIONS)
        started = time.monotonic() - began
        try:
            response = await _one(client, question, history, get)
        except httpx.HTTPError as exc:
            ended = time.monotonic() - began
            out.append(Record(started, ended, 0, error=f"{type(exc).__name__}: {exc}"))
            continue
        out.append(_record(response, started, time.monotonic() - began))


async def _run(
    url: str, clients: int, seconds: float, seed: int, events: list[tuple[float, Callable[[], Any]]]
) -> tuple[list[Record], list[tuple[float, float, str]]]:
    records: list[Record] = []
    # a fresh connection per request: a pooled keep-alive connection that the server closes as
    # idle just as a starved client reuses it fails without the server seeing the request (the
    # race browsers hide by retrying); with fresh connections every failure is the server's
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=0)
    began = time.monotonic()
    done_events: list[tuple[float, float, str]] = []

    window = _Window(began + seconds, len(events))

    async def side(at: float, action: Callable[[], Any]) -> None:
        await asyncio.sleep(max(0.0, at - (time.monotonic() - began)))
        start = time.monotonic() - began
        try:
            result = await asyncio.to_thread(action)
        finally:
            window.pending -= 1
            window.until = max(window.until, time.monotonic() + window.settle)
        done_events.append((start, time.monotonic() - began, str(result)))

    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        tasks = [
            _client_loop(client, random.Random(seed + i), began, window, records)
            for i in range(clients)
        ]
        await asyncio.gather(*tasks, *(side(at, action) for at, action in events))
    return records, done_events


def run_load(
    url: str,
    clients: int,
    seconds: float,
    events: list[tuple[float, Callable[[], Any]]] | None = None,
    seed: int = 7,
) -> tuple[list[Record], list[tuple[float, float, str]]]:
    """Run the clients (plus `events`: (seconds from start, blocking action) run in a thread)."""
    return asyncio.run(_run(url, clients, seconds, seed, events or []))


def version_texts(index_dir: Path, name: str) -> dict[str, str]:
    """Document texts of one stored version, read straight from its documents.jsonl."""
    texts = {}
    with (index_dir / "versions" / name / "documents.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            data = json.loads(line)
            texts[data["source_id"]] = data["text"]
    return texts


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def summarize(records: list[Record], index_dir: Path | None) -> dict[str, Any]:
    """Counts, latency percentiles (ms), versions seen, mixed and stale responses."""
    duration = max((r.ended for r in records), default=0.0)
    ok = [r for r in records if r.error is None]
    latencies = [(r.ended - r.started) * 1000 for r in records]
    versions = Counter(r.version for r in ok)
    by_end = sorted(ok, key=lambda r: r.ended)
    order = list(dict.fromkeys(r.version for r in by_end))  # versions in order of first answer
    switches = sum(1 for a, b in itertools.pairwise(by_end) if a.version != b.version)
    # once a newer version has answered, a request sent afterwards must not get an older one
    first_answer = {v: min(r.ended for r in ok if r.version == v) for v in versions}
    stale = [
        r
        for r in ok
        if any(
            order.index(v) > order.index(r.version) and r.started > t
            for v, t in first_answer.items()
        )
    ]
    probe_rounds: dict[str, set[str]] = {}
    for r in ok:
        for source_id, _, _, text in r.quotes:
            if source_id == PROBE_ID:
                found = {w for w in ("one", "two") if f"round {w}" in text}
                probe_rounds.setdefault(str(r.version), set()).update(found)
    mixed: list[str] = []
    if index_dir is not None:
        texts = {str(v): version_texts(index_dir, str(v)) for v in versions}
        for r in ok:
            docs = texts[str(r.version)]
            for source_id, start, end, text in r.quotes:
                if source_id not in docs or docs[source_id][start:end] != text:
                    mixed.append(f"{r.version}: {source_id}[{start}:{end}] {text[:60]!r}")
    return {
        "requests": len(records),
        "ok": len(ok),
        "errors": len(records) - len(ok),
        "error_samples": sorted({str(r.error) for r in records if r.error})[:5],
        "duration_s": round(duration, 1),
        "throughput_rps": round(len(records) / duration, 1) if duration else 0.0,
        "latency_ms": {
            name: round(percentile(latencies, share), 1)
            for name, share in (("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99))
        }
        | {"max": round(max(latencies, default=0.0), 1)},
        "versions": {str(k): v for k, v in versions.items()},
        "version_order": [str(v) for v in order],
        "versions_switched": len(order) - 1,
        "flips": switches,
        "stale": len(stale),
        "mixed": len(mixed),
        "mixed_samples": mixed[:5],
        "probe_rounds": {k: sorted(v) for k, v in probe_rounds.items()},
        "checked_quotes": sum(len(r.quotes) for r in ok) if index_dir is not None else 0,
    }


def bench(
    clients: int,
    seconds: float,
    workdir: Path,
    rebuild_at: float | None = None,
    docs: list[Path] | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Build an index (docs + the probe document), serve it, load it; optionally publish a new
    version (the probe document changed) `rebuild_at` seconds into the run."""
    index_dir = workdir / "index"
    probe = write_probe(workdir / "probe.jsonl", "one")
    sources = [*(docs or [SEED]), probe]
    log(f"building the index from {len(sources)} inputs ...")
    build_index(sources, index_dir)
    events: list[tuple[float, Callable[[], Any]]] = []
    if rebuild_at is not None:

        def rebuild() -> str:
            write_probe(probe, "two")
            return build_index(sources, index_dir).strip()

        events.append((rebuild_at, rebuild))
    with serve(index_dir, workdir / "server.log") as server:
        log(f"server ready at {server.url}; {clients} clients for {seconds:g}s ...")
        records, done = run_load(server.url, clients, seconds, events)
    summary = summarize(records, index_dir)
    summary["clients"], summary["seconds"] = clients, seconds
    summary["rebuilds"] = [
        {"started_s": round(a, 1), "published_s": round(b, 1), "output": out} for a, b, out in done
    ]
    return summary


def report(summary: dict[str, Any]) -> str:
    """Human-readable summary."""
    lat = summary["latency_ms"]
    lines = [
        f"requests {summary['requests']} in {summary['duration_s']}s "
        f"({summary['throughput_rps']}/s), "
        f"errors {summary['errors']}, stale {summary['stale']}, mixed {summary['mixed']}",
        f"latency ms: p50 {lat['p50']}  p90 {lat['p90']}  p95 {lat['p95']}  "
        f"p99 {lat['p99']}  max {lat['max']}",
        f"versions seen (in order): {summary['version_order']}; "
        f"switched {summary['versions_switched']}; counts {summary['versions']}",
    ]
    lines += [f"rebuild: {r}" for r in summary.get("rebuilds", [])]
    lines += [f"error: {e}" for e in summary["error_samples"]]
    lines += [f"mixed: {m}" for m in summary["mixed_samples"]]
    return "\n".join(lines)


def markdown(summary: dict[str, Any]) -> str:
    """The results page's table of a run."""
    from bench.common import table

    lat = summary["latency_ms"]
    rows = [
        [
            summary["clients"],
            summary["requests"],
            summary["throughput_rps"],
            lat["p50"],
            lat["p95"],
            lat["p99"],
            summary["errors"],
            summary["stale"],
            summary["mixed"],
            summary["versions_switched"],
        ]
    ]
    headers = ["clients", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors"]
    headers += ["stale", "mixed", "version switches"]
    rebuilds = "; ".join(
        f"started at {r['started_s']} s, published at {r['published_s']} s"
        for r in summary.get("rebuilds", [])
    )
    head = (
        f"{summary['clients']} clients for {summary['seconds']:g} s against `stemcell-qa serve` "
        "over the seed article plus a probe document; a `stemcell-qa build` publishes a new "
        f"version (the probe document changed) during the run ({rebuilds or 'no rebuild'}). "
        f"Versions answering, in order: {', '.join(summary['version_order'])}; "
        f"{summary['checked_quotes']:,} quotes checked against their version's text.\n\n"
    )
    errors = "".join(f"\n- error: {e}" for e in summary["error_samples"])
    return head + table(headers, rows) + errors


def failed(summary: dict[str, Any]) -> bool:
    """Whether the run broke a rule (errors, schema failures, stale or mixed responses)."""
    return bool(summary["errors"] or summary["stale"] or summary["mixed"])


def main(argv: list[str] | None = None) -> int:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rebuild-at", type=float, help="publish a changed version after S s")
    parser.add_argument("--docs", type=Path, action="append", help="documents (default: seed)")
    parser.add_argument("--url", help="load an already running server instead")
    parser.add_argument("--index", type=Path, help="with --url: its index dir (checks quotes)")
    parser.add_argument("--json", type=Path, help="also write the summary here")
    parser.add_argument("--result", help="also write bench/results/NAME.json (stamped)")
    args = parser.parse_args(argv)
    from bench.common import stamp, write_json

    began = stamp()
    if args.url:
        records, _ = run_load(args.url, args.clients, args.seconds)
        summary = summarize(records, args.index)
    else:
        workdir = Path(tempfile.mkdtemp(prefix="stemcell-load-"))
        try:
            summary = bench(args.clients, args.seconds, workdir, args.rebuild_at, args.docs)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    print(report(summary))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2), "utf-8")
    if args.result:
        write_json(args.result, summary, began)
    return 1 if failed(summary) else 0


if __name__ == "__main__":
    sys.exit(main())
