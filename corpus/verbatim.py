"""Check quoted sentences against the original source, by a path independent of extraction.

Extraction (`corpus/extract.py`) turns a file into `Document.text` and every quote is
`text[start:end]`, so comparing a quote with that text only checks the slicing. Here the file
named by `Document.origin` is read again, by plain means that share no code with extraction,
and the quote must occur in it word for word:

- plain text and Markdown: the file's text;
- JSONL: the raw `text` field of the document's line;
- HTML: the character data of the markup (the standard library's parser; scripts and styles
  left out, block elements separated by a space);
- PDF: the text of the page the quote's offsets fall on (pypdf);
- a ClinicalTrials.gov JSON record: its string values.

Only whitespace is normalised: every run of it counts as one space on both sides. A quote must
also begin and end on word boundaries of the source, so a sentence cut inside a word fails.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

from corpus.document import Document, Origin

_SKIPPED_ELEMENTS = frozenset({"script", "style", "template"})
# Elements that break the text flow: their edges separate words in the rendered page.
_BLOCK_ELEMENTS = frozenset(
    {
        *("address", "article", "aside", "blockquote", "br", "caption", "dd", "details"),
        *("dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form"),
        *("h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p"),
        *("pre", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead"),
        *("title", "tr", "ul"),
    }
)


class VerbatimError(Exception):
    """A document's original source cannot be read: no origin recorded, moved or changed."""


def squeeze(text: str) -> str:
    """Every run of whitespace as one space, ends trimmed (the only normalisation allowed)."""
    return " ".join(text.split())


class _MarkupText(HTMLParser):
    """Character data of an HTML page, as a browser would lay the words out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_ELEMENTS:
            self._skipping += 1
        if tag in _BLOCK_ELEMENTS:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_ELEMENTS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_ELEMENTS:
            self._skipping = max(0, self._skipping - 1)
        if tag in _BLOCK_ELEMENTS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def _markup_text(raw: bytes) -> str:
    parser = _MarkupText()
    parser.feed(raw.decode("utf-8", errors="replace"))
    parser.close()
    return "".join(parser.parts)


def _json_strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item)


def _pdf_pages(raw: bytes) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(raw)).pages]


class SourceTexts:
    """The original texts of documents (whitespace-squeezed), each source file read once."""

    def __init__(self) -> None:
        self._texts: dict[tuple[str, Origin], tuple[str, ...]] = {}
        self._lines: dict[str, list[str]] = {}

    def pages(self, doc: Document) -> tuple[str, ...]:
        """The source's text: one entry per PDF page, a single entry for other formats."""
        if doc.origin is None:
            raise VerbatimError(
                f"document {doc.source_id!r} does not record the file it came from (an index "
                "built before origins were kept); rebuild it with `stemcell-qa build --force`"
            )
        key = (doc.source_id, doc.origin)
        if key not in self._texts:
            self._texts[key] = tuple(squeeze(page) for page in self._read(doc, doc.origin))
        return self._texts[key]

    def _read(self, doc: Document, origin: Origin) -> list[str]:
        if origin.line is not None:
            line = self._line(doc, origin, origin.line)
            try:
                return [str(json.loads(line)["text"])]
            except (ValueError, KeyError, TypeError) as exc:
                where = f"{origin.path}:{origin.line}"
                raise VerbatimError(f"{where}: no `text` field ({exc})") from None
        raw = self._bytes(doc, origin)
        kind = doc.content_type.split(";")[0].strip().lower()
        if kind == "application/pdf":
            return _pdf_pages(raw)
        if kind in ("text/html", "application/xhtml+xml"):
            return [_markup_text(raw)]
        if kind == "application/json":
            return [" ".join(_json_strings(json.loads(raw)))]
        return [raw.decode("utf-8-sig", errors="replace")]

    def _bytes(self, doc: Document, origin: Origin) -> bytes:
        try:
            raw = Path(origin.path).read_bytes()
        except OSError as exc:
            raise VerbatimError(
                f"the source of {doc.source_id!r} cannot be read ({exc.strerror or exc}: "
                f"{origin.path}); rebuild the index from where the documents are now"
            ) from None
        if hashlib.sha256(raw).hexdigest() != origin.sha256:
            raise self._changed(doc, origin.path)
        return raw

    def _line(self, doc: Document, origin: Origin, number: int) -> str:
        if origin.path not in self._lines:
            try:
                with Path(origin.path).open(encoding="utf-8") as handle:
                    self._lines[origin.path] = [line.rstrip("\r\n") for line in handle]
            except (OSError, UnicodeDecodeError) as exc:
                raise VerbatimError(
                    f"the source of {doc.source_id!r} cannot be read ({exc}); "
                    "rebuild the index from where the documents are now"
                ) from None
        lines = self._lines[origin.path]
        line = lines[number - 1] if 0 < number <= len(lines) else ""
        if hashlib.sha256(line.encode("utf-8")).hexdigest() != origin.sha256:
            raise self._changed(doc, f"{origin.path}:{number}")
        return line

    @staticmethod
    def _changed(doc: Document, where: str) -> VerbatimError:
        return VerbatimError(
            f"the source of {doc.source_id!r} ({where}) has changed since the index was built; "
            "rebuild the index"
        )


def occurs(quote: str, source: str) -> bool:
    """True when squeezed `quote` is in squeezed `source`, starting and ending on word edges."""
    quote = squeeze(quote)
    if not quote:
        return False
    at = source.find(quote)
    while at >= 0:
        end = at + len(quote)
        cut_start = at > 0 and quote[0].isalnum() and source[at - 1].isalnum()
        cut_end = end < len(source) and quote[-1].isalnum() and source[end].isalnum()
        if not cut_start and not cut_end:
            return True
        at = source.find(quote, at + 1)
    return False


def is_verbatim(
    doc: Document, quote: str, start: int, end: int, sources: SourceTexts | None = None
) -> bool:
    """True when `quote` is what `doc` holds at `start:end` and occurs word for word
    (whitespace aside) in the original source: for a PDF, on the page those offsets fall on.

    Raises `VerbatimError` when the original cannot be read, rather than guessing.
    """
    if not 0 <= start < end <= len(doc.text) or doc.text[start:end] != quote:
        return False
    pages = (sources or SourceTexts()).pages(doc)
    if len(pages) > 1:
        page = doc.page_at(start)
        return page is not None and page <= len(pages) and occurs(quote, pages[page - 1])
    return any(occurs(quote, page) for page in pages)
