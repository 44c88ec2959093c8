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

PASSAGE = (
    "dense",
    "bm25",
    "coverage",
    "known_coverage",
    "head_coverage",
    "dense_rank",
    "fused_rank",
    "best_sentence",
    "turn_dense",
    "turn_best_sentence",
    "turn_coverage",
)
SENTENCE = (
    "dense",
    "turn_dense",
    "turn_gap",
    "chunk_gap",
    "coverage",
    "turn_coverage",
    "local_coverage",
)
QUESTION = (
    "sentence",
    "passage",
    "dense",
    "dense_spread",
    "sentence_dense",
    "coverage",
    "head_coverage",
    "rare_coverage",
    "focus_max",
    "focus_sum",
    "words",
    "corpus_size",
    "dense_by_words",
    "dense_by_size",
    "focus_joint",
)


@dataclass(frozen=True)
class Terms:
    """The question's distinct terms as vocabulary ids, with IDF weights summing to one."""

    ids: np.ndarray  # int, -1 for terms no source uses
    weights: np.ndarray

    def coverage(self, present: list[np.ndarray]) -> np.ndarray:
        """For each array of vocabulary ids in `present`: the weighted share of the
        question's terms it holds."""
        return presence(self.ids, present) @ self.weights

    def without(self, covered: set[int]) -> Terms:
        """The terms not in `covered`, re-weighted to sum to one (none left: all zero)."""
        keep = np.array([int(t) not in covered for t in self.ids], dtype=bool)
        weights = np.where(keep, self.weights, 0.0)
        total = weights.sum()
        return Terms(self.ids, weights / total if total > 0 else weights)

    @property
    def known_share(self) -> float:
        """Weight of the terms some source uses (what coverage can reach at most)."""
        return float(self.weights[self.ids >= 0].sum())


def presence(ids: np.ndarray, present: list[np.ndarray]) -> np.ndarray:
    """Boolean matrix, one row per array in `present`, one column per id in `ids`: does the
    array hold the id (-1, a term no source uses, never). One dictionary lookup per present
    id: this runs for every candidate sentence, where `np.isin` per pair cost far more."""
    column = {int(t): j for j, t in enumerate(ids.tolist()) if t >= 0}
    has = np.zeros((len(present), len(ids)), dtype=bool)
    for row, found in enumerate(present):
        for term in found.tolist():
            j = column.get(term)
            if j is not None:
                has[row, j] = True
    return has


def terms(version: IndexVersion, tokens: list[str]) -> Terms:
    """IDF-weighted distinct terms; terms the sources never use count, and are never covered."""
    unique = list(dict.fromkeys(tokens))
    vocabulary = version.lexical.vocabulary
    ids = np.array([vocabulary.get(t, -1) for t in unique], dtype=np.int64)
    idf = np.array([version.lexical.idf(t) for t in unique], dtype=np.float64)
    total = idf.sum()
    return Terms(ids, idf / total if total > 0 else idf)


def passage_features(version: IndexVersion, analysis: Analysis, hits: list[Hit]) -> np.ndarray:
    """One row per hit: the named `PASSAGE` features, then query x chunk vector products and
    query x best-sentence vector products."""
    query = terms(version, analysis.tokens)
    ids = np.array([h.chunk for h in hits], dtype=np.int64)
    covered = _chunk_coverage(version, query, ids)
    head = query.coverage([version.sentences.head_of(int(i)) for i in ids])
    dense = np.array([h.dense for h in hits])
    fused = np.array([h.score for h in hits])
    best, best_vectors = _best_sentences(version, ids, analysis.vector)
    known = query.known_share
    chunk_vectors = np.asarray(version.vectors[ids], dtype=np.float32)
    # what this turn asks, without the story around it ("who gets it?" picks the section)
    if analysis.turn_vector is not None:
        turn_best = _best_sentences(version, ids, analysis.turn_vector)[0]
        turn_dense = chunk_vectors @ analysis.turn_vector
        own = terms(version, analysis.turn_tokens)
        own_covered = _chunk_coverage(version, own, ids)
    else:
        turn_best, turn_dense, own, own_covered = best, dense, query, covered
    named = np.column_stack(
        [
            dense,
            [h.lexical for h in hits],
            covered,
            covered / known if known > 0 else covered,
            head,
            np.log1p(_ranks(dense)),
            np.log1p(_ranks(fused)),
            best,
            turn_dense,
            turn_best,
            own_covered / own.known_share if own.known_share > 0 else own_covered,
        ]
    )
    mixed = analysis.vector
    if analysis.turn_vector is not None:
        mixed = analysis.vector + analysis.turn_vector
        mixed = mixed / np.linalg.norm(mixed)
    return np.hstack([named, chunk_vectors * mixed, best_vectors * mixed])


def _chunk_coverage(version: IndexVersion, query: Terms, chunks: np.ndarray) -> np.ndarray:
    """Per chunk: the weighted share of the query's terms it holds."""
    covered = np.zeros(len(chunks))
    for term, weight in zip(query.ids, query.weights, strict=True):
        if term >= 0:
            covered += weight * version.lexical.contains(int(term), chunks)
    return covered


def _best_sentences(
    version: IndexVersion, chunks: np.ndarray, query: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per chunk: the best cosine of an answer sentence to the query, and that sentence's vector
    (the chunk's own vector when it has no answer sentence)."""
    table = version.sentences
    spans = [table.rows_of(int(c)) for c in chunks]
    rows = np.concatenate(spans) if spans else np.zeros(0, dtype=np.int64)
    vectors = np.asarray(version.sentence_vectors[rows], dtype=np.float32)
    sims = vectors @ query
    sims[~table.eligible[rows]] = -1.0
    best = np.full(len(chunks), -1.0)
    best_vectors = np.asarray(version.vectors[chunks], dtype=np.float32).copy()
    at = 0
    for i, span in enumerate(spans):
        if len(span):
            j = at + int(np.argmax(sims[at : at + len(span)]))
            if sims[j] > -1.0:
                best[i], best_vectors[i] = sims[j], vectors[j]
        at += len(span)
    return best, best_vectors


@dataclass(frozen=True)
class SentenceCandidates:
    """Answer-eligible sentences of the top passages, with their features."""

    rows: np.ndarray  # sentence-table rows
    chunks: np.ndarray  # the best-scoring candidate chunk holding each row
    passage: np.ndarray  # the best passage score (logit) of the row's document
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
        width = len(SENTENCE) + len(analysis.vector)
        return SentenceCandidates(rows, rows, np.zeros(0), np.zeros((0, width)))
    chunks = np.array([best[r][0] for r in rows], dtype=np.int64)
    # Chunk borders inside one document are arbitrary: a document's sentences share its best
    # passage score, and compete among themselves on their own evidence.
    doc_best: dict[str, float] = {}
    for hit, logit in zip(hits, passage_scores, strict=True):
        source = version.chunks[hit.chunk].source_id
        doc_best[source] = max(doc_best.get(source, -np.inf), float(logit))
    passage = np.array([doc_best[table.doc_id(r)] for r in rows])
    vectors = np.asarray(version.sentence_vectors[rows], dtype=np.float32)
    dense = vectors @ analysis.vector
    turn = analysis.turn_vector if analysis.turn_vector is not None else analysis.vector
    query = terms(version, analysis.tokens)
    own = terms(version, analysis.turn_tokens)
    own_dense = vectors @ turn
    # where in its document a sentence sits: its chunk's passage score against the document's
    # best (the topic of a follow-up lives in the earlier turn, so in the chunk, not the turn)
    chunk_gap = np.array([best[r][1] for r in rows]) - passage
    named = np.column_stack(
        [
            dense,
            own_dense,
            own_dense - own_dense.max(),
            chunk_gap,
            coverage_columns(version, query, own, rows),
        ]
    )
    features = np.hstack([named, vectors * analysis.vector])
    return SentenceCandidates(rows, chunks, passage, features)


COVERAGE = slice(SENTENCE.index("coverage"), SENTENCE.index("local_coverage") + 1)


def coverage_columns(
    version: IndexVersion, query: Terms, own: Terms, rows: np.ndarray
) -> np.ndarray:
    """The coverage features of sentence rows (coverage, turn_coverage, local_coverage)."""
    terms_of = [version.sentences.terms_of(int(r)) for r in rows]
    own_has = presence(own.ids, terms_of)
    return np.column_stack(
        [
            query.coverage(terms_of),
            own_has @ own.weights,
            _local_coverage(own_has[:, own.ids >= 0]),
        ]
    )


def open_coverage(
    version: IndexVersion, analysis: Analysis, rows: np.ndarray, covered: set[int]
) -> np.ndarray:
    """Coverage features counting only the question terms no chosen quote holds yet."""
    query = terms(version, analysis.tokens).without(covered)
    own = terms(version, analysis.turn_tokens).without(covered)
    return coverage_columns(version, query, own, rows)


def question_features(
    version: IndexVersion,
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
    dense = np.sort([h.dense for h in hits])[::-1]
    top_dense = dense[0] if len(dense) else 0.0
    words = np.log1p(len(analysis.tokens))
    # the best of n chance similarities grows like sqrt(2 ln n) (extreme values)
    size = np.sqrt(2 * np.log(max(len(version.chunks), 2)))
    return np.array(
        [
            sentence_scores[best] if best >= 0 else -10.0,
            passage_scores[top] if top >= 0 else -10.0,
            top_dense,
            top_dense - dense[:10].mean() if len(dense) else 0.0,
            sentences.features[best, 0] if best >= 0 else 0.0,
            passage_features[top, PASSAGE.index("known_coverage")] if top >= 0 else 0.0,
            passage_features[top, PASSAGE.index("head_coverage")] if top >= 0 else 0.0,
            _rare_coverage(version, analysis, hits[top].chunk) if top >= 0 else 0.0,
            max(focus, default=0.0),
            sum(focus),
            words,
            size,
            # how close is close enough depends on the message and the corpus: a long message
            # (story, several questions) sits further from any one passage, and a larger corpus
            # offers closer chance matches, so the bar on similarity moves with both
            top_dense * words,
            top_dense * size,
            analysis.joint_focus,
        ]
    )


def _rare_coverage(version: IndexVersion, analysis: Analysis, chunk: int) -> float:
    """Share of the question's two rarest known terms (its likely subject) in a passage."""
    query = terms(version, analysis.tokens)
    known = query.ids >= 0
    if not known.any():
        return 0.0
    rarest = query.ids[known][np.argsort(-query.weights[known], kind="stable")[:2]]
    present = version.lexical
    return float(np.mean([present.contains(int(t), np.array([chunk]))[0] for t in rarest]))


def _local_coverage(has: np.ndarray) -> np.ndarray:
    """Coverage of the question's known terms (`has`: candidates x terms) weighted by their
    rarity among these candidates (squared IDF over the candidates): a term every candidate
    shares cannot pick one."""
    n = len(has)
    if not has.size:
        return np.zeros(n)
    weights = np.log((n + 1) / (has.sum(axis=0) + 0.5)) ** 2
    weights[has.sum(axis=0) == 0] = 0.0  # no candidate has it: it cannot tell them apart
    total = weights.sum()
    return has @ weights / total if total > 0 else np.zeros(n)


def _ranks(values: np.ndarray) -> np.ndarray:
    """0 for the largest value, 1 for the next, ..."""
    ranks = np.empty(len(values))
    ranks[np.argsort(-values, kind="stable")] = np.arange(len(values))
    return ranks
