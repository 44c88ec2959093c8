"""Fit the answer/abstain decision point on held-apart dev questions.

The scorer's question model gives each question a probability that the sources answer it;
`calibrate` picks the cut with the best balanced accuracy (answered rate on answerable
questions and abstain rate on the rest, averaged over the files that hold both kinds) on
question files the scorer was not trained on, e.g. a new corpus with a few dev questions.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answer import Answerer
from assistant.evaluate import load_questions
from assistant.train import best_threshold
from index import store


def calibrate(answerer: Answerer, pairs: list[tuple[Path, Path]]) -> dict[str, Any]:
    """The best answer threshold for `pairs` under the answerer's scorer, with the rates."""
    embedder = answerer.embedder
    probabilities, labels, files = [], [], []
    for number, (index_dir, questions_path) in enumerate(pairs):
        version = store.load(index_dir, embedder.model_id, embedder.dim)
        for q in load_questions(questions_path):
            scored = answerer.score(version, q.question, q.history)
            probabilities.append(scored.answerable if scored else 0.0)
            labels.append(q.expect == "answer")
            files.append(number)
    p, y, f = np.array(probabilities), np.array(labels), np.array(files)
    cut = best_threshold(p, y, f)
    per_file = []
    for number, (_, questions_path) in enumerate(pairs):
        mask = f == number
        answered = float((p[mask & y] >= cut).mean()) if (mask & y).any() else None
        abstained = float((p[mask & ~y] < cut).mean()) if (mask & ~y).any() else None
        per_file.append({"file": str(questions_path), "answered": answered, "abstained": abstained})
    return {
        "answer_threshold": round(cut, 4),
        "previous_threshold": answerer.scorer.answer_threshold,
        "questions": len(p),
        "per_file": per_file,
    }


def write_calibrated(answerer: Answerer, threshold: float, out: Path) -> None:
    """Save the answerer's scorer with a new answer threshold."""
    scorer = answerer.scorer
    meta = {**scorer.meta, "calibrated_threshold": threshold}
    replace(scorer, answer_threshold=threshold, meta=meta).save(out)
