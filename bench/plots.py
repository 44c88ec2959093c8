"""PNG plots for bench/RESULTS.md (matplotlib, Agg backend), drawn from the benchmarks' JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def plot_latency(data: dict[str, Any], folder: Path) -> Path:
    """/ask latency (HTTP p50/p95, in-process p50) and the encode floor against corpus size."""
    sizes = sorted(data["sizes"].values(), key=lambda m: m["chunks"])
    chunks = [m["chunks"] for m in sizes]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    lines = (
        ("HTTP POST /ask p95", lambda m: m["http"]["total"]["p95"], "--s"),
        ("HTTP POST /ask p50", lambda m: m["http"]["total"]["p50"], "-s"),
        ("Answerer.ask in-process p50", lambda m: m["in_process"]["total"]["p50"], "-o"),
        ("floor: encode one question p50", lambda m: m["floor"]["p50"], ":^"),
    )
    for label, pick, style in lines:
        ax.plot(chunks, [pick(m) for m in sizes], style, label=label)
    for size, m in zip(
        sorted(data["sizes"], key=lambda s: data["sizes"][s]["chunks"]), sizes, strict=False
    ):
        ax.annotate(size, (m["chunks"], m["http"]["total"]["p50"]), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("chunks in the index (log scale)")
    ax.set_ylabel("milliseconds")
    ax.set_ylim(bottom=0)
    ax.set_title("/ask latency vs corpus size, one client")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, folder / "latency_vs_size.png")


def plot_build(data: dict[str, Any], folder: Path) -> Path:
    """Texts/s of the build against raw encode of the same texts."""
    rows = data["rows"]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    names = [r["name"] for r in rows]
    rates = [r["texts_per_s"] for r in rows]
    raw = [r for r in rows if r["name"].startswith("raw")]
    colours = ["#4c72b0" if r in raw else "#dd8452" for r in rows]
    ax.barh(names, rates, color=colours)
    limit = sum(r["texts_per_s"] for r in raw) / len(raw)
    ax.axvline(limit, color="k", lw=1, label="raw encode (mean)")
    ax.axvline(limit * data["goal_ratio"], color="r", ls="--", lw=1, label="goal")
    for y, row in enumerate(rows):
        ax.text(row["texts_per_s"], y, f" {row['ratio_to_encode']:.0%}", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("texts / s")
    ax.set_title(f"Build throughput vs raw encode ({data['texts_encoded']['total']:,} texts)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))  # clear of the bars
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
