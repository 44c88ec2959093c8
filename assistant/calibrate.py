"""Fit the abstention rule on dev question sets.

The rule: answer when `dense + coverage_weight * coverage` of the best chunk reaches a threshold
that grows with the index size as `base + slope * sqrt(2 ln chunks)`: the more passages there
are, the higher the best similarity that chance alone produces, and the maximum of n roughly
normal draws grows like sqrt(2 ln n). So a larger corpus needs stronger evidence, with the
increase flattening out for large corpora.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answer import Answerer, AskSettings, chance_scale
from assistant.evaluate import load_questions
from index import store
from index.embed import Embedder

WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)


@dataclass(frozen=True)
class Evidence:
    """One question file's abstention inputs against its index."""

    name: str
    chunks: int
    rows: np.ndarray  # (questions, 2): dense similarity, coverage
    answerable: np.ndarray  # bool per question


def collect_evidence(answerer: Answerer, pairs: list[tuple[Path, Path]]) -> list[Evidence]:
    """Evidence for every question of every (index, question file) pair."""
    embedder = answerer.embedder
    out = []
    for index_dir, questions_path in pairs:
        version = store.load(index_dir, embedder.model_id, embedder.dim)
        questions = load_questions(questions_path)
        rows = [answerer.evidence(version, q.question, q.history) for q in questions]
        labels = [q.expect == "answer" for q in questions]
        out.append(
            Evidence(
                str(questions_path),
                len(version.chunks),
                np.array(rows, dtype=np.float64),
                np.array(labels, dtype=bool),
            )
        )
    return out


def _rates(score: np.ndarray, labels: np.ndarray, threshold: float) -> tuple[float, float]:
    answered = float(np.mean(score[labels] >= threshold)) if labels.any() else 1.0
    abstained = float(np.mean(score[~labels] < threshold)) if (~labels).any() else 1.0
    return answered, abstained


def best_threshold(score: np.ndarray, labels: np.ndarray) -> float:
    """Middle of the widest run of thresholds with the best balanced accuracy on one file."""
    cuts = np.unique(score)
    candidates = np.concatenate([[cuts[0] - 0.05], (cuts[:-1] + cuts[1:]) / 2, [cuts[-1] + 0.05]])
    values = np.array([sum(_rates(score, labels, t)) / 2 for t in candidates])
    best = np.flatnonzero(values >= values.max() - 1e-9)
    return float(np.median(candidates[best]))


def fit(sets: list[Evidence]) -> dict[str, Any]:
    """Coverage weight and size-dependent threshold with the best mean balanced accuracy."""
    best: dict[str, Any] = {"balanced_accuracy": -1.0}
    sizes = np.array([chance_scale(e.chunks) for e in sets])
    for weight in WEIGHTS:
        scores = [e.rows[:, 0] + weight * e.rows[:, 1] for e in sets]
        points = [best_threshold(s, e.answerable) for s, e in zip(scores, sets, strict=True)]
        if len(sets) > 1 and np.ptp(sizes) > 0:
            slope, base = np.polyfit(sizes, points, 1)
        else:
            slope, base = 0.0, float(np.mean(points))
        rates = [
            _rates(s, e.answerable, base + slope * size)
            for s, e, size in zip(scores, sets, sizes, strict=True)
        ]
        value = float(np.mean([(a + b) / 2 for a, b in rates]))
        if value > best["balanced_accuracy"] + 1e-9:
            best = {
                "balanced_accuracy": round(value, 4),
                "coverage_weight": weight,
                "confidence_base": round(float(base), 4),
                "confidence_slope": round(float(slope), 4),
                "per_file": [
                    {
                        "file": e.name,
                        "chunks": e.chunks,
                        "answered": round(a, 4),
                        "abstained": round(b, 4),
                    }
                    for e, (a, b) in zip(sets, rates, strict=True)
                ],
            }
    return best


def calibrate(
    embedder: Embedder, pairs: list[tuple[Path, Path]], settings: AskSettings
) -> dict[str, Any]:
    """Collect evidence for every pair and fit the abstention settings."""
    return fit(collect_evidence(Answerer(embedder, settings), pairs))
