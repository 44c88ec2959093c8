"""The learned scorers: three small logistic models on frozen MiniLM features.

- passage: does this chunk answer the question? (re-ranks the fused candidates)
- sentence: does this sentence answer it? (picks the quotes)
- question: is the question answered by the sources at all? (answer or abstain)

`stemcell-qa train-scorer` fits them (assistant/train.py) and writes `scorer.json`, which
ships in the package; see the README's "How the scorer was made".
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
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
        """Logits for rows of `features` (an empty matrix gives an empty vector); a model of
        the named features alone ignores the vector-product columns."""
        if len(self.weights) == len(self.names):
            features = features[..., : len(self.names)]
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
        mean, scale, weights = arrays
        return cls(tuple(data["names"]), mean, scale, weights, float(data["bias"]))


@dataclass(frozen=True)
class Scorer:
    """The three models plus the two decision points fitted with them."""

    passage: Linear
    sentence: Linear
    question: Linear
    # a quote's score: sentence logit + passage_weight x (its document's best passage logit -
    # the best document's)
    passage_weight: float = 1.0
    # answer when the question model's probability reaches this (fitted: train-scorer)
    answer_threshold: float = 0.5
    # report an absent word as not covered from this focus weight (fitted: train-scorer)
    focus_threshold: float = 0.05
    meta: dict[str, Any] = field(default_factory=dict)  # how it was trained
    # the passage model fitted on its named features alone, for an embedder of another size
    # (the full model's named weights lean on its vector products: dense similarity is their
    # sum, so alone they can rank backwards)
    passage_named: Linear | None = None

    def save(self, path: Path) -> None:
        """Write the scorer as JSON."""
        path.write_text(self.to_json(), "utf-8")

    def to_json(self) -> str:
        """The file's text."""
        data = {
            "passage": self.passage.to_dict(),
            "sentence": self.sentence.to_dict(),
            "question": self.question.to_dict(),
            "passage_weight": self.passage_weight,
            "answer_threshold": self.answer_threshold,
            "focus_threshold": self.focus_threshold,
            "meta": self.meta,
        }
        if self.passage_named is not None:
            data["passage_named"] = self.passage_named.to_dict()
        return json.dumps(data, indent=1) + "\n"

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
                passage_weight=float(data["passage_weight"]),
                answer_threshold=float(data["answer_threshold"]),
                focus_threshold=float(data["focus_threshold"]),
                meta=dict(data.get("meta", {})),
                passage_named=(
                    Linear.from_dict(data["passage_named"]) if "passage_named" in data else None
                ),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            where = path or "the packaged scorer.json"
            raise ScorerError(
                f"cannot read scorer {where} ({exc}); rebuild it with `stemcell-qa train-scorer`"
            ) from None

    def quote_scores(self, sentence_features: np.ndarray, passage: np.ndarray) -> np.ndarray:
        """How well each candidate sentence answers: its own evidence, less what its document
        trails the best document by. Within one document (one article) the sentence evidence
        alone decides; across documents (many topics) the passage evidence weighs in."""
        own = self.sentence.logits(sentence_features)
        gap = passage - passage.max() if len(passage) else passage
        return own + self.passage_weight * gap

    def check_features(self, *names: tuple[str, ...]) -> None:
        """Refuse a scorer fitted on other named features than this code computes."""
        models = (self.passage, self.sentence, self.question)
        for model, expected in zip(models, names, strict=True):
            if model.names != expected:
                raise ScorerError(
                    f"the scorer was fitted on features {list(model.names)}, this program "
                    f"computes {list(expected)}; rebuild it with `stemcell-qa train-scorer`"
                )

    @property
    def dim(self) -> int:
        """Embedding size the vector-product features were fitted for (0: none used)."""
        return (len(self.passage.weights) - len(self.passage.names)) // 2

    def named_only(self) -> Scorer:
        """The same scorer without its vector-product weights, for an embedder of another
        size (a stand-in model in plumbing tests): weaker, but it runs."""

        def strip(model: Linear) -> Linear:
            n = len(model.names)
            return replace(
                model, mean=model.mean[:n], scale=model.scale[:n], weights=model.weights[:n]
            )

        return replace(
            self,
            passage=self.passage_named or strip(self.passage),
            sentence=strip(self.sentence),
            meta={**self.meta, "named_only": True},
        )

    def describe(self) -> dict[str, Any]:
        """Sizes and thresholds, for logs and the README."""
        return {
            "passage_features": len(self.passage.weights),
            "sentence_features": len(self.sentence.weights),
            "question_features": list(self.question.names),
            **{k: v for k, v in asdict(self).items() if k.endswith(("threshold", "weight"))},
        }


def _round(values: np.ndarray) -> list[float]:
    return [float(f"{v:.6g}") for v in values]
