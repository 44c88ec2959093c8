"""Run every benchmark in one go and regenerate bench/RESULTS.md and its plots from the JSON.

    python -m bench.run_all --size quick    # make bench (BENCH_SIZE=quick)
    python -m bench.run_all --size full     # make bench BENCH_SIZE=full: larger samples
    python -m bench.run_all --report-only   # only rewrite RESULTS.md and the plots

First the indexes (bench/indexes.py: built under bench/cache/ on the first run, reused after),
then each section in its own process; each writes bench/results/<section>.json stamped with
its start time, load averages and duration. A section's old JSON is removed before it runs, so
a section that fails shows as failed, not with an earlier run's figures; the failure (exit code
and the end of its output) goes to bench/results/run_all.json, with the size's parameters, and
the run goes on. RESULTS.md and the PNG plots are then written from bench/results/*.json alone;
a section rerun on its own afterwards (`python -m bench.<section> ...`, then `--report-only`)
is marked as such on the page.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from bench import (
    ann,
    build_throughput,
    concurrency,
    incremental,
    latency,
    load,
    memory,
    peer,
    quality,
    sentence_vectors,
)
from bench.common import BENCH, ROOT, machine, read_json, result_path, table, write_json
from bench.plots import plot_build, plot_concurrency, plot_latency
from bench.verdicts import verdicts

# Parameters per size: quick is meant to fit ~20 minutes on this 2-core machine once the
# indexes are cached (RESULTS.md says how long the last run took); full takes larger samples.
SIZES: dict[str, dict[str, Any]] = {
    "quick": {
        "build_limit": 60,
        "incremental_limit": 60,
        "sentence_docs": 80,
        "latency_sample": 100,
        "ann_n": 200_000,
        "hnsw_n": 20_000,
        "requests": 200,
        "clients": [1, 16, 64],
        "workers": [1, 2],
        "load_seconds": 30,
        "memory_starts": 2,
        "topical_sample": 0,  # every question: its figures compare with earlier runs
        "all_sample": 100,
        "peer_sample": 0,
    },
    "full": {
        "build_limit": 250,
        "incremental_limit": 150,
        "sentence_docs": 500,
        "latency_sample": 200,
        "ann_n": 1_000_000,
        "hnsw_n": 20_000,
        "requests": 400,
        "clients": [1, 4, 16, 64],
        "workers": [1, 2],
        "load_seconds": 60,
        "memory_starts": 3,
        "topical_sample": 0,
        "all_sample": 500,
        "peer_sample": 0,
    },
}

Report = Callable[[dict[str, Any]], str]


def indexes_report(data: dict[str, Any]) -> str:
    """The indexes every section reads, as `bench/indexes.py` found or built them."""
    rows = [
        [size, i["index"], i["version"], *[i["counts"].get(k) for k in COUNTS], i["summary"]]
        for size, i in data["indexes"].items()
    ]
    return table(["size", "folder", "version", *COUNTS, "build output"], rows)


COUNTS = ("documents", "chunks", "sentences")
SECTIONS: list[tuple[str, str, Report]] = [
    ("indexes", "Indexes (bench/cache/)", indexes_report),
    ("latency", "/ask latency vs corpus size, against the encode floor", latency.report),
    ("concurrency", "Throughput under concurrency (topical)", concurrency.report),
    ("load", "50 clients while a rebuild publishes", load.markdown),
    ("memory", "Start-up and memory", memory.report),
    ("peer", "Side by side with a peer: txtai on MedQuAD topical", peer.report),
    ("quality", "Quality (`stemcell-qa eval`)", quality.report),
    ("build_throughput", "Build throughput vs the raw encode limit", build_throughput.report),
    ("sentence_vectors", "Sentence vectors: late vs separate", sentence_vectors.report),
    ("incremental", "Incremental rebuild", incremental.report),
    ("ann", "Exact vs approximate (HNSW) dense search", ann.report),
]
FIGURES = {
    "build_throughput": "build_throughput.png",
    "latency": "latency_vs_size.png",
    "concurrency": "concurrency.png",
}


# "Quality unchanged" is checked against this code: the last commit before the serving speed
# work (ONNX query encoder, faster term coverage) with the same scorer, answering with torch.
BASELINE = "a3c1cec"


def commands(p: dict[str, Any], reference: str = BASELINE) -> list[tuple[str, list[str]]]:
    """(section, command line) for every benchmark, with the size's parameters."""
    py = [sys.executable, "-m"]
    load_s = p["load_seconds"]
    return [
        ("indexes", [*py, "bench.indexes"]),
        ("latency", [*py, "bench.latency", "--sample", str(p["latency_sample"])]),
        (
            "concurrency",
            [
                *py,
                "bench.concurrency",
                "--requests",
                str(p["requests"]),
                "--clients",
                *map(str, p["clients"]),
                "--workers",
                *map(str, p["workers"]),
            ],
        ),
        (
            "load",
            [
                *py,
                "bench.load",
                "--clients",
                "50",
                "--seconds",
                str(load_s),
                "--rebuild-at",
                str(load_s // 3),
                "--result",
                "load",
            ],
        ),
        ("memory", [*py, "bench.memory", "--starts", str(p["memory_starts"])]),
        ("peer", [*py, "bench.peer", "--sample", str(p["peer_sample"])]),
        (
            "quality",
            [
                *py,
                "bench.quality",
                "--topical-sample",
                str(p["topical_sample"]),
                "--all-sample",
                str(p["all_sample"]),
                "--reference",
                reference,
            ],
        ),
        ("build_throughput", [*py, "bench.build_throughput", "--limit", str(p["build_limit"])]),
        ("sentence_vectors", [*py, "bench.sentence_vectors", "--docs", str(p["sentence_docs"])]),
        ("incremental", [*py, "bench.incremental", "--limit", str(p["incremental_limit"])]),
        (
            "ann",
            [
                *py,
                "bench.ann",
                "--sample",
                "100",
                "--n",
                str(p["ann_n"]),
                "--hnsw-n",
                str(p["hnsw_n"]),
                "--queries",
                "50",
            ],
        ),
    ]


def run_sections(size: str, reference: str = BASELINE) -> dict[str, Any]:
    """Run every section in turn; exit codes and durations."""
    env_size = {"BENCH_SIZE": size}
    outcome: dict[str, Any] = {}
    for name, cmd in commands(SIZES[size], reference):
        print(f"$ {' '.join(cmd[1:])}", flush=True)
        result_path(name).unlink(missing_ok=True)
        began = time.perf_counter()
        done = subprocess.run(
            cmd, cwd=ROOT, env={**os.environ, **env_size}, capture_output=True, text=True
        )
        sys.stdout.write(done.stdout[-3000:])
        outcome[name] = {
            "exit_code": done.returncode,
            "seconds": round(time.perf_counter() - began, 1),
        }
        if done.returncode:
            outcome[name]["stderr_tail"] = done.stderr[-1500:]
            print(f"{name} failed ({done.returncode}): {done.stderr[-600:]}", flush=True)
    return outcome


def page(info: dict[str, Any], run: dict[str, Any]) -> str:
    """The whole Markdown page from the JSON figures."""
    size = run.get("size", "?")
    parts = [
        "# Benchmark results",
        "",
        f"Generated by `make bench BENCH_SIZE={size}` (`python -m bench.run_all --size {size}`);"
        " do not edit by hand. Every figure below comes from `bench/results/*.json`, written by"
        " the scripts in `bench/` in one run; each section says when it started, the load"
        " averages (1, 5, 15 min) at its start and end, and how long it took.",
        "",
        "## Machine",
        "",
        *[f"- {key}: {value}" for key, value in info.items()],
        "",
        "This 2-core machine is shared with other work, so absolute timings are noisy and "
        "pessimistic: compare the ratios, which were measured side by side in the same run.",
        "",
        "## Run",
        "",
        f"- size: {size}; started {run.get('started')}, {run.get('minutes')} minutes in all",
        *[f"- {key}: {value}" for key, value in run.get("parameters", {}).items()],
        *_failures(run),
        "",
        "## Verdicts (targets from issue 11; misses are listed, not hidden)",
        "",
        *[f"- {line}" for line in verdicts()],
        "",
    ]
    for name, title, report in SECTIONS:
        data = read_json(name)
        parts += [f"## {title}", ""]
        if data is None:
            parts += ["Not run.", ""]
            continue
        parts += [report(data), "", _stamp_line(data.get("run"), run), ""]
        if name in FIGURES and (BENCH / FIGURES[name]).exists():
            parts += [f"![{name}]({FIGURES[name]})", ""]
    return "\n".join(parts)


def _failures(run: dict[str, Any]) -> list[str]:
    failed = {n: s for n, s in run.get("sections", {}).items() if s.get("exit_code")}
    return [f"- **section {n} failed** (exit {s['exit_code']})" for n, s in failed.items()]


def _stamp_line(stamp: dict[str, Any] | None, run: dict[str, Any]) -> str:
    if not stamp:
        return "Run stamp: none."
    line = (
        f"Started {stamp['started']} ({stamp.get('size') or 'size not given'}), took "
        f"{stamp['seconds']} s; load average {stamp['load_average_start']} at the start, "
        f"{stamp['load_average_end']} at the end."
    )
    # ISO times in UTC compare as text
    if run.get("started") and stamp["started"] < run["started"]:
        line += f" **From an earlier run** than the one above ({run['started']})."
    elif run.get("ended") and stamp["started"] > run["ended"]:
        line += " Rerun on its own after the run above."
    return line


def regenerate() -> None:
    """Plots and RESULTS.md from bench/results/*.json."""
    for name, plot in (
        ("build_throughput", plot_build),
        ("latency", plot_latency),
        ("concurrency", plot_concurrency),
    ):
        data = read_json(name)
        if data is not None:
            plot(data, BENCH)
    run = read_json("run_all") or {}
    info = read_json("machine") or {}
    (BENCH / "RESULTS.md").write_text(page(info, run), encoding="utf-8")
    print(f"wrote {(BENCH / 'RESULTS.md').relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=list(SIZES), default="quick")
    parser.add_argument("--report-only", action="store_true", help="only regenerate the page")
    parser.add_argument(
        "--reference",
        default=BASELINE,
        help="git commit or branch whose answers quality is checked against",
    )
    args = parser.parse_args(argv)
    if not args.report_only:
        began = time.perf_counter()
        started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        write_json("machine", machine())
        sections = run_sections(args.size, args.reference)
        minutes = round((time.perf_counter() - began) / 60, 1)
        run = {
            "size": args.size,
            "parameters": SIZES[args.size],
            "started": started,
            "ended": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "minutes": minutes,
            "sections": sections,
        }
        write_json("run_all", run)
    regenerate()


if __name__ == "__main__":
    main()
