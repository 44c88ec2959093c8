"""The learned scorers: three small logistic models on frozen MiniLM features.

- passage: does this chunk answer the question? (re-ranks the fused candidates)
- sentence: does this sentence answer it? (picks the quotes)
- question: is the question answered by the sources at all? (answer or abstain)

`stemcell-qa train-scorer` fits them (assistant/train.py) and writes `scorer.json`, which
ships in the package; see the README's "How the scorer was made".
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np


class ScorerError(ValueError):
    """A scorer file is missing, malformed or made for other features."""


@dataclass(frozen=True)
class Linear:
    """A standardised linear model: logit = ((x - mean) / scale) . weights + bias."""

    names: tuple[str, ...]  # named features; any further columns are vector products
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float

    def logits(self, features: np.ndarray) -> np.ndarray:
        """Logits for rows of `features` (an empty matrix gives an empty vector)."""
        if features.shape[-1] != len(self.weights):
            raise ScorerError(
                f"scorer expects {len(self.weights)} features, got {features.shape[-1]}"
            )
        return ((features - self.mean) / self.scale) @ self.weights + self.bias

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (6 significant digits: the file stays small and diffable)."""
        return {
            "names": list(self.names),
            "mean": _round(self.mean),
            "scale": _round(self.scale),
            "weights": _round(self.weights),
            "bias": float(f"{self.bias:.6g}"),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Linear:
        """Inverse of `to_dict`."""
        arrays = [np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "weights")]
        if not (len(arrays[0]) == len(arrays[1]) == len(arrays[2])):
            raise ScorerError("scorer arrays differ in length")
        return cls(tuple(data["names"]), *arrays, float(data["bias"]))


@dataclass(frozen=True)
class Scorer:
    """The three models plus the two decision points fitted with them."""

    passage: Linear
    sentence: Linear
    question: Linear
    # answer when the question model's probability reaches this (fitted: train-scorer)
    answer_threshold: float = 0.5
    # report an absent word as not covered from this focus weight (fitted: train-scorer)
    focus_threshold: float = 0.05
    meta: dict[str, Any] = field(default_factory=dict)  # how it was trained

    def save(self, path: Path) -> None:
        """Write the scorer as JSON."""
        data = {
            "passage": self.passage.to_dict(),
            "sentence": self.sentence.to_dict(),
            "question": self.question.to_dict(),
            "answer_threshold": self.answer_threshold,
            "focus_threshold": self.focus_threshold,
            "meta": self.meta,
        }
        path.write_text(json.dumps(data, indent=1) + "\n", "utf-8")

    @classmethod
    def load(cls, path: Path | None = None) -> Scorer:
        """Read a scorer file (default: the one shipped in the package)."""
        try:
            if path is None:
                text = resources.files("assistant").joinpath("scorer.json").read_text("utf-8")
            else:
                text = path.read_text("utf-8")
            data = json.loads(text)
            return cls(
                passage=Linear.from_dict(data["passage"]),
                sentence=Linear.from_dict(data["sentence"]),
                question=Linear.from_dict(data["question"]),
                answer_threshold=float(data["answer_threshold"]),
                focus_threshold=float(data["focus_threshold"]),
                meta=dict(data.get("meta", {})),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            where = path or "the packaged scorer.json"
            raise ScorerError(
                f"cannot read scorer {where} ({exc}); rebuild it with `stemcell-qa train-scorer`"
            ) from None

    def describe(self) -> dict[str, Any]:
        """Sizes and thresholds, for logs and the README."""
        return {
            "passage_features": len(self.passage.weights),
            "sentence_features": len(self.sentence.weights),
            "question_features": list(self.question.names),
            **{k: v for k, v in asdict(self).items() if k.endswith("threshold")},
        }


def _round(values: np.ndarray) -> list[float]:
    return [float(f"{v:.6g}") for v in values]
