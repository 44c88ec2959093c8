"""Quotes are checked against the original files, not against the text extraction produced."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from corpus.collect import snapshot_documents
from corpus.document import Document, Origin
from corpus.local import load_local
from corpus.sentences import Sentence, split_sentences
from corpus.snapshots import SnapshotMeta, SnapshotStore
from corpus.sources import Source
from corpus.verbatim import SourceTexts, VerbatimError, is_verbatim, occurs
from tests.corpus.test_ctgov import STUDY
from tests.corpus.test_extract import BOILERPLATE_HTML


def _check(doc: Document, sentence: Sentence, sources: SourceTexts | None = None) -> bool:
    return is_verbatim(doc, sentence.text, sentence.start, sentence.end, sources)


def _sentence(doc: Document, containing: str) -> Sentence:
    return next(s for s in split_sentences(doc.source_id, doc.text) if containing in s.text)


def pdf_bytes(pages: list[list[str]]) -> bytes:
    """A PDF whose pages hold the given lines of text (Helvetica, one line per entry)."""
    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    font_ref = writer._add_object(font)
    for lines in pages:
        page = writer.add_blank_page(612, 792)
        fonts = DictionaryObject({NameObject("/F1"): font_ref})
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
        shown = " ".join(f"({line}) '" for line in lines)
        stream = DecodedStreamObject()
        stream.set_data(f"BT /F1 12 Tf 72 712 Td 14 TL {shown} ET".encode())
        page[NameObject("/Contents")] = writer._add_object(stream)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_every_sentence_of_the_shared_corpus_is_found_in_its_source_file(shared: Path) -> None:
    seed = load_local([shared / "corpus" / "are-stem-cell-products-safe.txt"], print)
    medquad = load_local([shared / "corpus" / "medquad" / "topical.jsonl"], print)[::30]
    sources = SourceTexts()
    checked = 0
    for doc in [*seed, *medquad]:
        assert doc.origin is not None and Path(doc.origin.path).is_absolute()
        for sentence in split_sentences(doc.source_id, doc.text):
            assert _check(doc, sentence, sources), sentence.text
            checked += 1
    assert checked > 1000


def test_an_offset_off_by_one_fails_the_check(shared: Path) -> None:
    (doc,) = load_local([shared / "corpus" / "are-stem-cell-products-safe.txt"], print)
    sentences = split_sentences(doc.source_id, doc.text)
    sources = SourceTexts()
    for sentence in sentences[1:-1]:
        assert _check(doc, sentence, sources)
        for shift in (-1, 1):
            moved = (sentence.start + shift, sentence.end + shift)
            assert not is_verbatim(doc, sentence.text, *moved, sources)
        # nor is the text those offsets point at, when the shift cuts the first word
        if sentence.text[:2].isalnum():
            moved = (sentence.start + 1, sentence.end + 1)
            assert not is_verbatim(doc, doc.text[moved[0] : moved[1]], *moved, sources)


def test_a_changed_word_is_caught_against_the_source_file_not_the_extracted_text(
    tmp_path: Path,
) -> None:
    path = tmp_path / "note.txt"
    path.write_text("Safety note\nThe trial found the cells were safe over two years.\n")
    (doc,) = load_local([path], print)
    assert _check(doc, _sentence(doc, "two years"))
    # an extraction that altered one word: the quote matches the extracted text exactly ...
    altered = replace(doc, text=doc.text.replace("were safe", "were sure"))
    quote = _sentence(altered, "two years")
    assert altered.text[quote.start : quote.end] == quote.text
    # ... but it is not what the source says
    assert not _check(altered, quote)


def test_whitespace_is_the_only_difference_allowed(tmp_path: Path) -> None:
    path = tmp_path / "spaced.txt"
    path.write_text("Title line\nStem   cells\tcan   form\u00a0tumours in some patients.\n")
    (doc,) = load_local([path], print)
    sentence = _sentence(doc, "tumours")
    assert sentence.text == "Stem cells can form tumours in some patients."
    assert _check(doc, sentence)
    assert not occurs("stem cells can form tumours", "Stem cells can form tumours")  # case
    assert not occurs("tem cells can", "Stem cells can form")  # cut inside a word
    assert occurs("cells can", "Stem cells can form")


def test_html_quotes_are_checked_against_the_markup_text(tmp_path: Path) -> None:
    page = BOILERPLATE_HTML.replace(
        "</body>", "<script>var note = 'Stem cells cure every disease.';</script></body>"
    )
    (tmp_path / "lung.html").write_text(page)
    (doc,) = load_local([tmp_path / "lung.html"], print)
    sentences = split_sentences(doc.source_id, doc.text)
    assert len(sentences) >= 5 and all(_check(doc, s) for s in sentences)
    # text that only a script holds is not on the page, even if extraction produced it
    injected = replace(doc, text=doc.text + "\nStem cells cure every disease.")
    assert not _check(injected, _sentence(injected, "cure every disease"))


def test_pdf_quotes_must_be_on_the_page_their_offsets_point_to(tmp_path: Path) -> None:
    pages = [
        ["Stem cells were tested in mice.", "The results were mixed."],
        ["Tumours formed in two of the mice.", "Ask your doctor."],
    ]
    (tmp_path / "report.pdf").write_bytes(pdf_bytes(pages))
    (doc,) = load_local([tmp_path / "report.pdf"], print)
    sentences = split_sentences(doc.source_id, doc.text)
    assert [s.text for s in sentences] == [line for lines in pages for line in lines]
    assert all(_check(doc, s) for s in sentences)
    one_page = replace(doc, pages=(0,))  # every offset now points at page 1
    assert not _check(one_page, _sentence(one_page, "Tumours formed"))


def test_jsonl_quotes_come_from_their_own_line_and_a_changed_line_is_reported(
    tmp_path: Path,
) -> None:
    path = tmp_path / "docs.jsonl"
    records = [
        {"id": "a", "title": "A", "text": "First document.  It says one thing."},
        {"id": "b", "title": "B", "text": "Second document. It says another thing."},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    first, second = load_local([path], print)
    assert (first.origin and first.origin.line, second.origin and second.origin.line) == (1, 2)
    assert _check(second, _sentence(second, "another"))
    # a sentence of document a, attributed to document b, is not in b's source line
    borrowed = replace(second, text=first.text)
    assert not _check(borrowed, _sentence(borrowed, "one thing"))
    records[1]["text"] = "Second document, edited."
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    with pytest.raises(VerbatimError, match=r"docs\.jsonl:2\) has changed"):
        _check(second, _sentence(second, "another"))


def test_trial_records_are_checked_against_the_json_values(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    body = json.dumps(STUDY).encode()
    meta = SnapshotMeta(
        source_id="hd-trial",
        url="https://clinicaltrials.gov/study/NCT07297576",
        final_url="https://clinicaltrials.gov/api/v2/studies/NCT07297576",
        fetched_at=datetime.now(UTC).isoformat(),
        http_status=200,
        content_type="application/json",
        sha256=hashlib.sha256(body).hexdigest(),
    )
    store.write(meta, body)
    source = Source(id="hd-trial", url=meta.url, kind="trial-registry")
    (doc,) = snapshot_documents([source], store, print)
    assert doc.origin == Origin(str(store.body_path(meta).resolve()), meta.sha256)
    assert _check(doc, _sentence(doc, "safe in people with early Huntington"))
    # a label the renderer wrote is not text of the record
    assert not _check(doc, _sentence(doc, "Trial ID:"))


def test_a_source_that_is_gone_or_never_recorded_raises(tmp_path: Path) -> None:
    path = tmp_path / "gone.txt"
    path.write_text("A sentence about stem cells.\n")
    (doc,) = load_local([path], print)
    sentence = _sentence(doc, "stem cells")
    path.unlink()
    with pytest.raises(VerbatimError, match="cannot be read"):
        _check(doc, sentence)
    with pytest.raises(VerbatimError, match="does not record the file"):
        _check(replace(doc, origin=None), sentence)


def test_origin_is_kept_in_the_index_form_but_not_in_the_content_hash(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("A sentence about stem cells.\n")
    (doc,) = load_local([path], print)
    assert Document.from_dict(json.loads(json.dumps(doc.to_dict()))) == doc
    older = doc.to_dict(exclude=("origin",))  # documents.jsonl written before origins existed
    assert Document.from_dict(older).origin is None
    assert replace(doc, origin=Origin("/elsewhere/a.txt", "0" * 64)).content_hash() == (
        doc.content_hash()
    )
