import json
from itertools import pairwise
from pathlib import Path

import pytest

from corpus.chunk import ChunkSettings, chunk_document
from corpus.local import load_local
from corpus.sentences import MAX_SENTENCE_CHARS, sentence_spans


def test_sentences_respect_abbreviations_decimals_and_citations() -> None:
    text = "Dr. Smith gave 2.5 mg daily (p < 0.05) [12]. Side effects, e.g. fever, were mild. Done."
    sentences = [text[s:e] for s, e in sentence_spans(text)]
    assert sentences == [
        "Dr. Smith gave 2.5 mg daily (p < 0.05) [12].",
        "Side effects, e.g. fever, were mild.",
        "Done.",
    ]


def test_text_without_sentence_ends_is_cut_into_pieces() -> None:
    # a pasted 100 KB line was one 102,009-character sentence, chunk and quote
    text = "Intro line.\n" + " ".join(f"word{i}" for i in range(20_000)) + "\nLast line."
    spans = sentence_spans(text)
    assert text[slice(*spans[0])] == "Intro line." and text[slice(*spans[-1])] == "Last line."
    middle = spans[1:-1]
    assert len(middle) > 1 and all(0 < e - s <= MAX_SENTENCE_CHARS for s, e in middle)
    # every word kept, none cut in two: the pieces are the words, split at spaces
    assert " ".join(text[s:e] for s, e in middle).split() == text.splitlines()[1].split()
    # a word longer than the limit is cut where the limit falls
    long = sentence_spans("x" * (MAX_SENTENCE_CHARS + 10))
    assert long == [(0, MAX_SENTENCE_CHARS), (MAX_SENTENCE_CHARS, MAX_SENTENCE_CHARS + 10)]


def test_offsets_round_trip_on_the_shared_corpus(shared: Path) -> None:
    docs = load_local([shared / "corpus" / "are-stem-cell-products-safe.txt"], print)
    lines = (shared / "corpus" / "medquad" / "topical.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines[::150]]
    from corpus.extract import Meta, extract_plain

    docs += [extract_plain(r["text"].encode(), Meta(source_id=r["id"])) for r in records]
    total = 0
    for doc in docs:
        for start, end in sentence_spans(doc.text):
            piece = doc.text[start:end]
            assert piece == piece.strip() and piece
            total += 1
        for chunk in chunk_document(doc):
            assert chunk.sentences[0][0] == chunk.start and chunk.sentences[-1][1] == chunk.end
    assert total > 100


@pytest.mark.parametrize("max_words", [20, 60])
def test_chunks_stay_within_sections_and_overlap_by_a_sentence(max_words: int) -> None:
    from corpus.extract import Meta, extract_plain

    body = "# A\n" + " ".join(f"Sentence {i} is here now." for i in range(30)) + "\n# B\nOne more."
    doc = extract_plain(body.encode(), Meta(source_id="d"), markdown=True)
    chunks = chunk_document(doc, ChunkSettings(max_words=max_words, overlap_sentences=1))
    for chunk in chunks:
        section = next(s for s in doc.sections if s.title == chunk.section)
        assert section.start <= chunk.start and chunk.end <= section.end
    a_chunks = [c for c in chunks if c.section == "A"]
    assert len(a_chunks) > 1
    for first, second in pairwise(a_chunks):
        assert first.sentences[-1] == second.sentences[0]
    assert [c.section for c in chunks][-1] == "B"
