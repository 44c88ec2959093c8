"""Dense and lexical candidates for a query, and their fusion into one ranking."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from index.lexical import tokenize
from index.store import IndexVersion

MODES = ("fused", "dense", "bm25")
_K1 = 1.5  # bm25s default; bounds the score a single term can add


@dataclass(frozen=True)
class Hit:
    """A candidate chunk with its component and fused scores."""

    chunk: int
    score: float
    dense: float
    lexical: float


def dense_candidates(version: IndexVersion, query: np.ndarray, k: int) -> dict[int, float]:
    """Top-k chunks by inner product (cosine: vectors are normalised)."""
    k = min(k, version.dense.ntotal)
    if k <= 0:
        return {}
    scores, ids = version.dense.search(query.reshape(1, -1).astype(np.float32), k)
    return {int(i): float(s) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0}


DenseSearch = Callable[[IndexVersion, np.ndarray, int], dict[int, float]]


def lexical_scores(version: IndexVersion, tokens: list[str]) -> np.ndarray:
    """BM25 of every chunk, scaled by the best score the query could reach (so 0..~1)."""
    raw = version.lexical.scores(tokens)
    ceiling = sum(version.lexical.idf(t) for t in set(tokens)) * (_K1 + 1)
    return raw / ceiling if ceiling > 0 else raw


def retrieve(
    version: IndexVersion,
    query_vector: np.ndarray,
    query_text: str,
    k: int = 50,
    mode: str = "fused",
    lexical_weight: float = 0.5,
    dense_search: DenseSearch = dense_candidates,
    query_tokens: list[str] | None = None,
) -> list[Hit]:
    """Candidates from both retrievers, ranked by `mode`: fused, dense-only or BM25-only
    (`query_tokens`: `tokenize(query_text)`, when the caller has it already)."""
    if mode not in MODES:
        raise ValueError(f"unknown retrieval mode {mode!r}; use one of {', '.join(MODES)}")
    dense = dense_search(version, query_vector, k)
    tokens = tokenize(query_text) if query_tokens is None else query_tokens
    lexical = lexical_scores(version, tokens)
    matching = np.flatnonzero(lexical > 0)  # top k among the chunks that hold a query term
    if len(matching) > k:
        matching = matching[np.argpartition(-lexical[matching], k - 1)[:k]] if k else matching[:0]
    ids = set(dense) | {int(i) for i in matching}
    hits = []
    for i in ids:
        d = dense.get(i)
        if d is None:
            d = float(np.dot(version.vectors[i], query_vector))
        lex = float(lexical[i])
        score = {"dense": d, "bm25": lex, "fused": d + lexical_weight * lex}[mode]
        hits.append(Hit(i, score, d, lex))
    if mode == "bm25":
        hits = [h for h in hits if h.lexical > 0]
    hits.sort(key=lambda h: (-h.score, h.chunk))
    return hits
