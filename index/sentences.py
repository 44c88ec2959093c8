"""The sentence table of an index version: every chunk sentence once, with offsets and terms.

Answers are sentences, so a version stores each sentence of its chunks once (a sentence shared
by two overlapping chunks is one row), the rows of each chunk, the stemmed terms of each
sentence (ids into the BM25 vocabulary, for term coverage without re-tokenising at query time)
and whether a sentence can be quoted as an answer at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corpus.chunk import Chunk
from corpus.document import Document
from index.lexical import tokenize_many


@dataclass(frozen=True)
class SentenceSettings:
    """Which sentences can be answers; recorded in the version manifest."""

    # Headings ("Treatment"), list stubs and captions are not answers; four words is the
    # shortest complete statement in the seed article ("Strict tests check for problems").
    min_answer_words: int = 4
    # Instructions for the page a sentence was on ("Please click on the link to access this
    # resource.", "Click the "start" button to play the animation.") answer nothing, and the
    # link or button they name is not shown beside a quote. 28 of MedQuAD topical's 68,471
    # sentences; "a clicking sound in the jaw" or "a click on opening the mouth" is not one.
    page_instruction: str = (
        r"\bclick here(?:\s+to\b|\W*$)|(?:^\W*|\bplease\s+|,\s*)click\s+(?:on|the)\b"
    )
    # ... nor do pointers to other pages and sections ("For more information, go to the
    # Health Topics Lung Transplant article.", "(See the PDQ summary on Childhood Hodgkin
    # Lymphoma Treatment for more information.)", "See the Treatment Options section that
    # follows for links to current treatment clinical trials."): 18 first quotes on MedQuAD
    # topical dev, one to "sickle cell.. is a bone marrow transplant a cure?" (an exploratory
    # check). A bracketed pointer followed by more text keeps that text. 673 of topical's
    # 68,471 sentences.
    page_reference: str = (
        r"^\W*\((?:see|for more|to learn more)\b[^)]*\)\W*$"
        r"|^[^\w(]*(?:for (?:more )?(?:information|details)|to learn more|to find out more)\b"
        r".*?\b(?:go to|see|visit|read|call)\b"
        r"|^[^\w(]*see (?:the\b|.*\bfor more information\W*$)"
    )
    # A heading of four words or more ("Signs and Symptoms of Excessive Blood Clotting", "For
    # People Who Have No Known Risk Factors for Sudden Cardiac Arrest", quoted to an
    # exploratory check's question): no closing punctuation, and at least this share of its
    # words of four letters or more (two at least) start with a capital. 804 of topical's
    # sentences; chosen, not fitted.
    heading_capitals: float = 0.8


@dataclass(frozen=True)
class SentenceTable:
    """Row i is sentence `documents[doc_ids[doc[i]]].text[start[i]:end[i]]`."""

    doc_ids: tuple[str, ...]
    doc: np.ndarray  # int32, index into doc_ids
    start: np.ndarray  # int32
    end: np.ndarray  # int32
    position: np.ndarray  # int32, the sentence's place in its section (0 = first)
    eligible: np.ndarray  # bool: may be quoted as an answer
    chunk_ptr: np.ndarray  # int32, rows of chunk c: chunk_rows[chunk_ptr[c]:chunk_ptr[c + 1]]
    chunk_rows: np.ndarray  # int32
    term_ptr: np.ndarray  # int64, terms of row i: term_ids[term_ptr[i]:term_ptr[i + 1]]
    term_ids: np.ndarray  # int32, ids in the BM25 vocabulary
    head_ptr: np.ndarray  # int64, terms of chunk c's title and heading: head_ids[...]
    head_ids: np.ndarray  # int32

    def __len__(self) -> int:
        return len(self.start)

    def doc_id(self, row: int) -> str:
        """Id of the document that holds one sentence."""
        return self.doc_ids[self.doc[row]]

    def rows_of(self, chunk: int) -> np.ndarray:
        """Sentence rows of one chunk, in text order."""
        return self.chunk_rows[self.chunk_ptr[chunk] : self.chunk_ptr[chunk + 1]]

    def terms_of(self, row: int) -> np.ndarray:
        """BM25 vocabulary ids of the stemmed terms of one sentence."""
        return self.term_ids[self.term_ptr[row] : self.term_ptr[row + 1]]

    def head_of(self, chunk: int) -> np.ndarray:
        """BM25 vocabulary ids of a chunk's document title and section heading."""
        return self.head_ids[self.head_ptr[chunk] : self.head_ptr[chunk + 1]]

    def save(self, path: Path) -> None:
        """Write the table as one .npz file."""
        np.savez(
            path,
            doc_ids=np.array(self.doc_ids, dtype=object),
            **{name: getattr(self, name) for name in _ARRAYS},
        )

    @classmethod
    def load(cls, path: Path) -> SentenceTable:
        """Read a table written by `save`."""
        with np.load(path, allow_pickle=True) as data:
            arrays = {name: data[name] for name in _ARRAYS}
            doc_ids = tuple(str(d) for d in data["doc_ids"])
        return cls(doc_ids=doc_ids, **arrays)


_ARRAYS = (
    "doc",
    "start",
    "end",
    "position",
    "eligible",
    "chunk_ptr",
    "chunk_rows",
    "term_ptr",
    "term_ids",
    "head_ptr",
    "head_ids",
)


def build_table(
    documents: list[Document],
    chunks: list[Chunk],
    vocabulary: dict[str, int],
    settings: SentenceSettings,
) -> SentenceTable:
    """One row per distinct chunk sentence, in chunk order."""
    doc_index = {d.source_id: i for i, d in enumerate(documents)}
    texts = {d.source_id: d.text for d in documents}
    rows: dict[tuple[str, int], int] = {}
    spans: list[tuple[int, int, int, int]] = []  # doc, start, end, position
    chunk_rows: list[int] = []
    chunk_ptr = [0]
    section: tuple[str, str] | None = None
    first = 0
    for chunk in chunks:
        if (chunk.source_id, chunk.section) != section:  # chunks of a section are consecutive
            section, first = (chunk.source_id, chunk.section), len(spans)
        for start, end in chunk.sentences:
            key = (chunk.source_id, start)
            if key not in rows:
                rows[key] = len(spans)
                spans.append((doc_index[chunk.source_id], start, end, len(spans) - first))
            chunk_rows.append(rows[key])
        chunk_ptr.append(len(chunk_rows))
    array = np.array(spans, dtype=np.int64).reshape(-1, 4)
    sentence_texts = [texts[documents[d].source_id][s:e] for d, s, e, _ in spans]
    term_ptr, term_ids = _term_lists(sentence_texts, vocabulary)
    titles = {d.source_id: d.title for d in documents}
    head_ptr, head_ids = _term_lists(
        [f"{titles[c.source_id]}\n{c.section}" for c in chunks], vocabulary
    )
    eligible = [answerable_text(t, settings) for t in sentence_texts]
    return SentenceTable(
        doc_ids=tuple(d.source_id for d in documents),
        doc=array[:, 0].astype(np.int32),
        start=array[:, 1].astype(np.int32),
        end=array[:, 2].astype(np.int32),
        position=array[:, 3].astype(np.int32),
        eligible=np.array(eligible, dtype=bool),
        chunk_ptr=np.array(chunk_ptr, dtype=np.int32),
        chunk_rows=np.array(chunk_rows, dtype=np.int32),
        term_ptr=term_ptr,
        term_ids=term_ids,
        head_ptr=head_ptr,
        head_ids=head_ids,
    )


def _term_lists(texts: list[str], vocabulary: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """CSR lists of the distinct vocabulary ids of each text's stemmed terms."""
    ptr = [0]
    ids: list[int] = []
    for tokens in tokenize_many(texts):
        ids.extend(sorted({vocabulary[t] for t in tokens if t in vocabulary}))
        ptr.append(len(ids))
    return np.array(ptr, dtype=np.int64), np.array(ids, dtype=np.int32)


def answerable_text(text: str, settings: SentenceSettings) -> bool:
    """Whether a sentence can be quoted as an answer: a statement, not a heading, a question
    or an instruction for the page it came from."""
    return (
        len(text.split()) >= settings.min_answer_words
        and not text.rstrip().endswith("?")
        and not re.search(settings.page_instruction, text, re.IGNORECASE)
        and not re.search(settings.page_reference, text, re.IGNORECASE)
        and not heading(text, settings.heading_capitals)
    )


_CLOSED = re.compile(r"[.!?:;\"”’')\]]\s*$")
_LONG_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]{3,}")


def heading(text: str, share: float = SentenceSettings.heading_capitals) -> bool:
    """A title: no closing punctuation, and at least `share` of its longer words capitalised."""
    if _CLOSED.search(text):
        return False
    long = _LONG_WORD.findall(text)
    return len(long) >= 2 and sum(w[0].isupper() for w in long) >= share * len(long)
