"""Deep links that open a source at a sentence: URL text fragments and PDF pages."""

from __future__ import annotations

from urllib.parse import quote, urldefrag

from corpus.document import Document

_LONG_WORDS = 10
_EDGE_WORDS = 4


def encode_fragment_text(text: str) -> str:
    """Percent-encode a text directive term; `-`, `,` and `&` must be escaped too (spec)."""
    return quote(" ".join(text.split()), safe="").replace("-", "%2D")


def text_fragment(sentence: str) -> str:
    """`#:~:text=...`: the whole sentence, or `textStart,textEnd` for a long one."""
    words = sentence.split()
    if len(words) <= _LONG_WORDS:
        return "#:~:text=" + encode_fragment_text(sentence)
    start = " ".join(words[:_EDGE_WORDS])
    end = " ".join(words[-_EDGE_WORDS:])
    return f"#:~:text={encode_fragment_text(start)},{encode_fragment_text(end)}"


def deep_link(doc: Document, start: int, end: int) -> str | None:
    """Link to `doc.text[start:end]` at its source, or None for a document without a URL."""
    if not doc.url:
        return None
    base = urldefrag(doc.url)[0]
    page = doc.page_at(start)
    if page is not None:
        return f"{base}#page={page}"
    return base + text_fragment(doc.text[start:end])
