"""Features of candidate passages, their sentences and the question, for the learned scorers.

Every feature is computed from the index version and the question analysis alone (no model
call): vectors come from the version (chunk and sentence vectors are embedded at build time)
and term coverage from its BM25 vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assistant.focus import Analysis
from index.search import Hit
from index.store import IndexVersion

PASSAGE = ("dense", "bm25", "coverage", "head_coverage", "dense_rank", "fused_rank")
SENTENCE = (
    "dense",
    "dense_gap",
    "turn_dense",
    "coverage",
    "turn_coverage",
    "passage",
    "passage_gap",
    "first",
    "position",
    "words",
)
QUESTION = (
    "sentence",
    "passage",
    "dense",
    "sentence_dense",
    "coverage",
    "focus_max",
    "focus_sum",
)


@dataclass(frozen=True)
class Terms:
    """The question's distinct terms as vocabulary ids, with IDF weights summing to one."""

    ids: np.ndarray  # int, -1 for terms no source uses
    weights: np.ndarray

    def coverage(self, present: np.ndarray) -> float:
        """Weighted share of the question's terms among the vocabulary ids `present`."""
        if not len(self.ids):
            return 0.0
        return float(self.weights[np.isin(self.ids, present)].sum())


def terms(version: IndexVersion, tokens: list[str]) -> Terms:
    """IDF-weighted distinct terms; terms the sources never use count, and are never covered."""
    unique = list(dict.fromkeys(tokens))
    vocabulary = version.lexical.vocabulary
    ids = np.array([vocabulary.get(t, -1) for t in unique], dtype=np.int64)
    idf = np.array([version.lexical.idf(t) for t in unique], dtype=np.float64)
    total = idf.sum()
    return Terms(ids, idf / total if total > 0 else idf)


def passage_features(version: IndexVersion, analysis: Analysis, hits: list[Hit]) -> np.ndarray:
    """One row per hit: the named `PASSAGE` features, then query x chunk vector products."""
    query = terms(version, analysis.tokens)
    ids = np.array([h.chunk for h in hits], dtype=np.int64)
    covered = np.zeros(len(hits))
    for term, weight in zip(query.ids, query.weights, strict=True):
        if term >= 0:
            covered += weight * version.lexical.contains(int(term), ids)
    head = [query.coverage(version.sentences.head_of(int(i))) for i in ids]
    dense = np.array([h.dense for h in hits])
    fused = np.array([h.score for h in hits])
    named = np.column_stack(
        [
            dense,
            [h.lexical for h in hits],
            covered,
            head,
            np.log1p(_ranks(dense)),
            np.log1p(_ranks(fused)),
        ]
    )
    products = np.asarray(version.vectors[ids], dtype=np.float32) * analysis.vector
    return np.hstack([named, products])


@dataclass(frozen=True)
class SentenceCandidates:
    """Answer-eligible sentences of the top passages, with their features."""

    rows: np.ndarray  # sentence-table rows
    chunks: np.ndarray  # the best-scoring candidate chunk holding each row
    features: np.ndarray


def sentence_candidates(
    version: IndexVersion,
    analysis: Analysis,
    hits: list[Hit],
    passage_scores: np.ndarray,
    top: int,
) -> SentenceCandidates:
    """Sentences of the `top` best passages (by `passage_scores`), one row each."""
    table = version.sentences
    order = np.argsort(-passage_scores, kind="stable")[:top]
    best: dict[int, tuple[int, float]] = {}
    for i in order:
        chunk = hits[i].chunk
        for row in table.rows_of(chunk):
            row = int(row)
            if table.eligible[row] and (row not in best or best[row][1] < passage_scores[i]):
                best[row] = (chunk, float(passage_scores[i]))
    rows = np.array(sorted(best), dtype=np.int64)
    if not len(rows):
        return SentenceCandidates(rows, rows, np.zeros((0, len(SENTENCE) + len(analysis.vector))))
    chunks = np.array([best[r][0] for r in rows], dtype=np.int64)
    passage = np.array([best[r][1] for r in rows])
    vectors = np.asarray(version.sentence_vectors[rows], dtype=np.float32)
    dense = vectors @ analysis.vector
    turn = analysis.turn_vector if analysis.turn_vector is not None else analysis.vector
    query = terms(version, analysis.tokens)
    own = terms(version, analysis.turn_tokens)
    lengths = np.array(
        [len(version.documents[table.doc_ids[table.doc[r]]].text[
            table.start[r] : table.end[r]].split()) for r in rows]
    )
    named = np.column_stack(
        [
            dense,
            dense - dense.max(),
            vectors @ turn,
            [query.coverage(table.terms_of(int(r))) for r in rows],
            [own.coverage(table.terms_of(int(r))) for r in rows],
            passage,
            passage - passage_scores.max(),
            table.position[rows] == 0,
            np.log1p(table.position[rows]),
            np.log(np.maximum(lengths, 1)),
        ]
    )
    return SentenceCandidates(rows, chunks, np.hstack([named, vectors * analysis.vector]))


def question_features(
    analysis: Analysis,
    hits: list[Hit],
    passage_features: np.ndarray,
    passage_scores: np.ndarray,
    sentences: SentenceCandidates,
    sentence_scores: np.ndarray,
) -> np.ndarray:
    """The `QUESTION` features: how well the best evidence answers, and what is missing."""
    top = int(np.argmax(passage_scores)) if len(hits) else -1
    best = int(np.argmax(sentence_scores)) if len(sentence_scores) else -1
    focus = [a.focus for a in analysis.absent]
    return np.array(
        [
            sentence_scores[best] if best >= 0 else -10.0,
            passage_scores[top] if top >= 0 else -10.0,
            hits[0].dense if hits else 0.0,
            sentences.features[best, 0] if best >= 0 else 0.0,
            passage_features[top, 2] if top >= 0 else 0.0,
            max(focus, default=0.0),
            sum(focus),
        ]
    )


def _ranks(values: np.ndarray) -> np.ndarray:
    """0 for the largest value, 1 for the next, ..."""
    ranks = np.empty(len(values))
    ranks[np.argsort(-values, kind="stable")] = np.arange(len(values))
    return ranks
