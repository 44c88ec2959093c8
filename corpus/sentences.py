"""Split extracted text into sentences that keep exact character offsets."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import pysbd

_LINE = re.compile(r"[^\n]+")


@dataclass(frozen=True)
class Sentence:
    """A sentence of a document: `document.text[start:end] == text`."""

    source_id: str
    start: int
    end: int
    text: str


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    # clean=False keeps the text byte-for-byte, so every segment can be found in the source.
    return pysbd.Segmenter(language="en", clean=False)


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences in `text[start:end]`, whitespace trimmed.

    A line break always ends a sentence (headings, list items and paragraphs are separate
    lines in extracted text); within a line pysbd handles abbreviations, decimals and
    citation brackets. No sentence is longer than `MAX_SENTENCE_CHARS` (`_cut`).
    """
    stop = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(text, start, stop):
        for a, b in _line_spans(text, line.start(), line.end()):
            spans.extend(_cut(text, a, b))
    return spans


# Longer than any sentence of MedQuAD topical's 3,006 pages (1,935 characters, a list run into
# one sentence): text without sentence ends (a pasted 100 KB line) is cut at the last space
# before this many characters, so no quote or chunk is the whole of it. Chosen, not fitted.
MAX_SENTENCE_CHARS = 2000


def _cut(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The span `text[start:end]` in pieces of at most `MAX_SENTENCE_CHARS`, each ending at a
    space where there is one (whitespace trimmed, offsets exact)."""
    pieces: list[tuple[int, int]] = []
    while end - start > MAX_SENTENCE_CHARS:
        limit = start + MAX_SENTENCE_CHARS
        space = text.rfind(" ", start + 1, limit)
        stop = space if space > start else limit
        pieces.append((start, stop))
        start = stop
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        pieces.append((start, end))
    return pieces


def _line_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    line = text[start:end]
    if not line.strip():
        return []
    spans: list[tuple[int, int]] = []
    cursor = 0
    for segment in _segmenter().segment(line):
        piece = segment.strip()
        if not piece:
            continue
        found = line.find(piece, cursor)
        if found < 0:  # pysbd altered the text: keep the rest of the line as one sentence
            rest = line[cursor:]
            if rest.strip():
                lead = len(rest) - len(rest.lstrip())
                spans.append((start + cursor + lead, start + cursor + len(rest.rstrip())))
            return spans
        spans.append((start + found, start + found + len(piece)))
        cursor = found + len(piece)
    return spans


def split_sentences(source_id: str, text: str) -> list[Sentence]:
    """All sentences of a document's text with their offsets."""
    return [Sentence(source_id, s, e, text[s:e]) for s, e in sentence_spans(text)]
