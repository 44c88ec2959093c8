"""Everything a build embeds — chunks, answer sentences, source words — through one cache."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from index.cache import EmbeddingCache, text_key
from index.embed import Embedder
from index.sentences import SentenceTable

Progress = Callable[[str, int, int], None]


@dataclass
class Encoder:
    """Embeds texts in blocks, reusing and filling the embedding cache; counts what it did."""

    embedder: Embedder
    cache: EmbeddingCache
    batch_size: int = 32
    block: int = 256  # texts embedded between cache commits
    progress: Progress | None = None
    embedded: dict[str, int] = field(default_factory=dict)  # stage -> texts encoded
    keys: set[str] = field(default_factory=set)  # every cache key this build used

    def texts(self, texts: list[str], stage: str) -> np.ndarray:
        """Vectors of `texts` (cached ones reused); `stage` names the progress bar."""
        keys = [text_key(self.embedder.model_id, t) for t in texts]
        self.keys.update(keys)
        cached = self.cache.get_many(keys)
        missing = sorted({k: i for i, k in enumerate(keys) if k not in cached}.values())
        if self.progress and missing:  # the bar shows from the start of the work, not its end
            self.progress(stage, 0, len(missing))
        done = 0
        for begin in range(0, len(missing), self.block):
            ids = missing[begin : begin + self.block]
            # one call per block: the model sorts its texts by length, and less padding is
            # faster than a step of the bar per batch
            vectors = self.embedder.encode([texts[i] for i in ids], batch_size=self.batch_size)
            fresh = {keys[i]: v for i, v in zip(ids, vectors, strict=True)}
            self.cache.put_many(fresh)  # committed now: a killed build keeps the work done
            cached.update(fresh)
            done += len(ids)
            if self.progress:
                self.progress(stage, done, len(missing))
        self.embedded[stage] = self.embedded.get(stage, 0) + len(missing)
        return self._stack([cached[k] for k in keys])

    def late(
        self, texts: list[str], spans: list[list[tuple[int, int]]], stage: str
    ) -> tuple[np.ndarray, list[list[np.ndarray | None]]]:
        """Text vectors plus late-chunked span vectors; cached per (text, span)."""
        model = self.embedder.model_id
        past_window = np.full(self.embedder.dim, np.nan, dtype=np.float32)
        keys = [text_key(model, t) for t in texts]
        span_keys = [
            [text_key(model, f"late\x00{s}:{e}\x00{t}") for s, e in sp]
            for t, sp in zip(texts, spans, strict=True)
        ]
        every = keys + [k for row in span_keys for k in row]
        self.keys.update(every)
        cached = self.cache.get_many(every)
        todo = [i for i, k in enumerate(keys) if not {k, *span_keys[i]} <= cached.keys()]
        if self.progress and todo:
            self.progress(stage, 0, len(todo))
        for begin in range(0, len(todo), self.block):
            ids = todo[begin : begin + self.block]
            vectors, pooled = self.embedder.encode_spans(
                [texts[i] for i in ids], [spans[i] for i in ids], self.batch_size
            )
            fresh: dict[str, np.ndarray] = {}
            for row, i in enumerate(ids):
                fresh[keys[i]] = vectors[row]
                for key, vector in zip(span_keys[i], pooled[row], strict=True):
                    # a span past the model's window gets no vector: cached as such, or its
                    # chunk would be encoded again by every build
                    fresh[key] = past_window if vector is None else vector
            self.cache.put_many(fresh)
            cached.update(fresh)
            if self.progress:
                self.progress(stage, min(begin + self.block, len(todo)), len(todo))
        self.embedded[stage] = self.embedded.get(stage, 0) + len(todo)
        pooled_out = [[_vector_or_none(cached.get(k)) for k in row] for row in span_keys]
        return self._stack([cached[k] for k in keys]), pooled_out

    def _stack(self, vectors: list[np.ndarray]) -> np.ndarray:
        if not vectors:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        return np.stack(vectors).astype(np.float32)


def sentence_vectors(
    encoder: Encoder,
    table: SentenceTable,
    texts: list[str],
    late: dict[int, np.ndarray] | None = None,
) -> np.ndarray:
    """A vector per answer-eligible row (zeros for the rest), float16 for the version file.

    `late` holds rows already pooled from their chunk's pass; the others are encoded alone
    (all of them in "separate" mode; in "late" mode only sentences the model cut off).
    """
    late = late or {}
    out = np.zeros((len(table), encoder.embedder.dim), dtype=np.float16)
    rows = [int(r) for r in np.flatnonzero(table.eligible)]
    alone = [r for r in rows if r not in late]
    if alone:
        out[alone] = encoder.texts([texts[r] for r in alone], "embedding sentences")
    for row, vector in late.items():
        if table.eligible[row]:
            out[row] = vector
    return out


def _vector_or_none(vector: np.ndarray | None) -> np.ndarray | None:
    """A cached span vector, or None for a span past the model's window (cached as NaNs)."""
    return None if vector is None or np.isnan(vector[0]) else vector
