"""PNG plots for bench/RESULTS.md (matplotlib, Agg backend), drawn from the benchmarks' JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def plot_latency(data: dict[str, Any], folder: Path) -> Path:
    """In-process and HTTP /ask p50/p95/p99 against index size (chunks)."""
    sizes = sorted(data["sizes"].values(), key=lambda m: m["chunks"])
    chunks = [m["chunks"] for m in sizes]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for where, pick, style in (
        ("in-process", lambda m: m["in_process"]["total"], "-o"),
        ("HTTP", lambda m: m["http"]["total"], "--s"),
    ):
        for pct in ("p50", "p95", "p99"):
            ax.plot(chunks, [pick(m)[pct] for m in sizes], style, label=f"{where} {pct}")
    ax.set_xlabel("chunks in the index")
    ax.set_ylabel("/ask latency (ms)")
    ax.set_title("/ask latency percentiles vs corpus size")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, folder / "latency_vs_size.png")


def plot_build(data: dict[str, Any], folder: Path) -> Path:
    """Chunks/s of each build step against the raw encode limit."""
    rows = data["rows"]
    fig, ax = plt.subplots(figsize=(7, 4))
    names = [r["name"] for r in rows]
    rates = [r["chunks_per_s"] for r in rows]
    ax.barh(names, rates, color=["#4c72b0"] + ["#dd8452"] * (len(rows) - 1))
    limit = rows[0]["chunks_per_s"]
    ax.axvline(limit, color="k", lw=1, label="raw encode limit")
    ax.axvline(limit * data["goal_ratio"], color="r", ls="--", lw=1, label="goal (90%)")
    for y, row in enumerate(rows):
        ax.text(row["chunks_per_s"], y, f" {row['ratio_to_encode']:.0%}", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("chunks / s")
    ax.set_title(f"Build throughput vs raw encode ({data['chunks']:,} chunks)")
    ax.legend(fontsize=8, loc="lower right")
    return _save(fig, folder / "build_throughput.png")


def plot_concurrency(data: dict[str, Any], folder: Path) -> Path:
    """Requests/s and p95 latency against concurrent clients, per worker count."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for run in data["runs"]:
        clients = [lvl["clients"] for lvl in run["levels"]]
        label = f"{run['workers']} worker(s)"
        left.plot(clients, [lvl["rps"] for lvl in run["levels"]], "-o", label=label)
        right.plot(clients, [lvl["p95"] for lvl in run["levels"]], "-o", label=label)
    for ax, ylabel in ((left, "requests / s"), (right, "p95 latency (ms)")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("concurrent clients")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("POST /ask throughput vs concurrency")
    return _save(fig, folder / "concurrency.png")


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
