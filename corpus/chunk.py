"""Group a document's sentences into overlapping chunks within its sections."""

from __future__ import annotations

from dataclasses import dataclass

from corpus.document import Document, Section
from corpus.sentences import sentence_spans


@dataclass(frozen=True)
class ChunkSettings:
    """How chunks are cut; stored in the index manifest so a rebuild can tell if it changed."""

    max_words: int = 110
    overlap_sentences: int = 1


@dataclass(frozen=True)
class Chunk:
    """Consecutive sentences of one section: `document.text[start:end]` is the chunk text."""

    chunk_id: str
    source_id: str
    section: str
    start: int
    end: int
    sentences: tuple[tuple[int, int], ...]


def chunk_document(doc: Document, settings: ChunkSettings | None = None) -> list[Chunk]:
    """Cut `doc` into chunks of at most ~`max_words` words, overlapping by whole sentences."""
    settings = settings or ChunkSettings()
    sections = doc.sections or (Section(title="", start=0, end=len(doc.text)),)
    chunks: list[Chunk] = []
    for section in sections:
        spans = sentence_spans(doc.text, section.start, section.end)
        for group in _groups(doc.text, spans, settings):
            chunks.append(
                Chunk(
                    chunk_id=f"{doc.source_id}#{len(chunks)}",
                    source_id=doc.source_id,
                    section=section.title,
                    start=group[0][0],
                    end=group[-1][1],
                    sentences=tuple(group),
                )
            )
    return chunks


def _groups(
    text: str, spans: list[tuple[int, int]], settings: ChunkSettings
) -> list[list[tuple[int, int]]]:
    groups: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    words = 0
    for span in spans:
        count = len(text[span[0] : span[1]].split())
        if current and words + count > settings.max_words:
            groups.append(current)
            keep = current[-settings.overlap_sentences :] if settings.overlap_sentences else []
            # an overlap that alone nearly fills a chunk would only repeat itself
            if sum(len(text[s:e].split()) for s, e in keep) + count > settings.max_words:
                keep = []
            current, words = list(keep), sum(len(text[s:e].split()) for s, e in keep)
        current.append(span)
        words += count
    if current and (not groups or current[-1] != groups[-1][-1]):
        groups.append(current)
    return groups
