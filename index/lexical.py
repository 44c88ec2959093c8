"""BM25 over chunk texts (bm25s with a Snowball stemmer) plus term statistics."""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN_PLUS

# bm25s sets its logger to DEBUG when imported: "Building index from IDs objects" in every
# server's log after each rebuild. Its warnings still show.
logging.getLogger("bm25s").setLevel(logging.WARNING)

# Changing how text is tokenised changes the index: bump this so rebuilds notice.
TOKENIZER = "bm25s-en-plus-snowball-1"
# English stop words plus the function words of questions ("could", "how many", ...).
STOPWORDS = sorted(
    set(STOPWORDS_EN_PLUS)
    | {"anyone", "could", "get", "many", "may", "mean", "means", "might", "much", "would"}
)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def tokenize(text: str) -> list[str]:
    """Lowercased, stop-worded, stemmed tokens, as the index sees them."""
    return tokenize_many([text])[0]


@lru_cache(maxsize=1 << 16)
def tokenize_word(word: str) -> tuple[str, ...]:
    """`tokenize` of one word, remembered: a question's words are looked up one by one and
    recur across questions (64k words at most)."""
    return tuple(tokenize(word))


def tokenize_many(texts: list[str]) -> list[list[str]]:
    """`tokenize` for many texts in one call: `bm25s.tokenize`'s steps (lower case, its token
    pattern, stop words out, Snowball stems), with each word's stem remembered. The same tokens
    as `bm25s.tokenize` (tests/index/test_lexical.py compares them), without its cost per
    call: it builds a progress bar and the stop-word set every time, ~0.25 ms, three or four
    calls per question (Answerer.ask p50 on MedQuAD topical dev went from 9.4 to 8.5 ms)."""
    return [
        [stem for word in _TOKEN.findall(text.lower()) if (stem := _stem(word))] for text in texts
    ]


# bm25s.tokenize's default token pattern (scikit-learn's CountVectorizer's)
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_STOPSET = frozenset(STOPWORDS)


@lru_cache(maxsize=1 << 17)
def _stem(word: str) -> str:
    """The stem of one lower-case word, "" for a stop word (128k words at most)."""
    return "" if word in _STOPSET else _stemmer().stemWord(word)


class Lexical:
    """A BM25 index over the chunks of one index version."""

    def __init__(self, retriever: bm25s.BM25) -> None:
        self._retriever = retriever
        indptr = np.asarray(retriever.scores["indptr"])
        self._df = np.diff(indptr)  # chunks containing each vocabulary term
        self.num_docs = int(retriever.scores["num_docs"])
        self._vocab: dict[str, int] = retriever.vocab_dict

    @classmethod
    def build(cls, texts: list[str]) -> Lexical:
        """Index `texts` (one per chunk, in chunk order)."""
        tokens = bm25s.tokenize(texts, stopwords=STOPWORDS, stemmer=_stemmer(), show_progress=False)
        retriever = bm25s.BM25()
        retriever.index(tokens, show_progress=False)
        return cls(retriever)

    def save(self, folder: Path) -> None:
        """Write the index files into `folder`."""
        self._retriever.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> Lexical:
        """Read an index written by `save` (memory-mapped, no re-tokenising)."""
        return cls(bm25s.BM25.load(str(folder), mmap=True, show_progress=False))

    @property
    def vocabulary(self) -> dict[str, int]:
        """Stemmed term -> term id."""
        return self._vocab

    def chunks_with(self, term_id: int) -> np.ndarray:
        """Ids of the chunks that contain a term, ascending (the CSC column's row indices)."""
        scores = self._retriever.scores
        indptr = scores["indptr"]
        return np.asarray(scores["indices"][indptr[term_id] : indptr[term_id + 1]])

    def contains(self, term_id: int, chunks: np.ndarray) -> np.ndarray:
        """For each chunk id in `chunks`: does that chunk contain the term?"""
        having = self.chunks_with(term_id)
        if not len(having):
            return np.zeros(len(chunks), dtype=bool)
        at = np.minimum(np.searchsorted(having, chunks), len(having) - 1)
        return np.asarray(having[at] == chunks)

    def scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every chunk for the query tokens."""
        known = [t for t in tokens if t in self._vocab]
        if not known:
            return np.zeros(self.num_docs, dtype=np.float32)
        return np.asarray(self._retriever.get_scores(known), dtype=np.float32)

    def idf(self, token: str) -> float:
        """Smoothed inverse document frequency; unseen terms get the highest value."""
        column = self._vocab.get(token)
        df = int(self._df[column]) if column is not None else 0
        return float(np.log((self.num_docs + 1) / (df + 0.5)))
