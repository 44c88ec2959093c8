"""Turn fetched or local bytes into a `Document`: main text, headed sections, title and date."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace

import trafilatura

from corpus.document import Document, Section

# Headings that start back-matter we do not answer from (reference lists and the like).
_BACK_MATTER = re.compile(
    r"^(references?|sources|bibliography|works cited|footnotes|acknowledge?ments?|"
    r"author contributions|conflicts? of interest|funding|supplementary material)\s*:?$",
    re.IGNORECASE,
)
_SPACES = re.compile(r"[ \t\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*$")


class ExtractError(ValueError):
    """The bytes hold no usable text (empty, binary, image-only PDF, ...)."""


@dataclass(frozen=True)
class Meta:
    """What is known about a document before extraction (from the manifest or a JSONL line)."""

    source_id: str
    url: str | None = None
    kind: str = "other"
    title: str | None = None
    publisher: str | None = None
    published: str | None = None
    retrieved_at: str | None = None
    license: str | None = None


def normalise_line(line: str) -> str:
    """Collapse runs of spaces inside a line; Unicode punctuation is left as it is."""
    return _SPACES.sub(" ", line).strip()


class TextBuilder:
    """Accumulates lines of text and headed sections with exact offsets."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.sections: list[Section] = []
        self._open: tuple[str, int] | None = None

    def line(self, text: str) -> None:
        text = normalise_line(text)
        if not text:
            return
        if self.parts:
            self.parts.append("\n")
            self.length += 1
        self.parts.append(text)
        self.length += len(text)

    def heading(self, title: str) -> None:
        self._close()
        start = self.length + (1 if self.parts else 0)
        self.line(title)
        self._open = (normalise_line(title), start)

    def _close(self) -> None:
        if self._open is not None:
            title, start = self._open
            if self.length > start:
                self.sections.append(Section(title=title, start=start, end=self.length))
            self._open = None

    def build(self) -> tuple[str, tuple[Section, ...]]:
        self._close()
        text = "".join(self.parts)
        if self.sections and self.sections[0].start > 0:
            lead = Section(title="", start=0, end=self.sections[0].start - 1)
            self.sections.insert(0, lead)
        return text, tuple(self.sections)


def _require_text(text: str, what: str) -> str:
    if not text.strip():
        raise ExtractError(f"{what}: no text found")
    return text


def decode_text(raw: bytes, what: str) -> str:
    """Decode UTF-8 text, refusing binary content."""
    if b"\x00" in raw[:8192]:
        raise ExtractError(f"{what}: binary content, not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ExtractError(f"{what}: not UTF-8 text") from None


def extract_plain(raw: bytes, meta: Meta, markdown: bool = False) -> Document:
    """Plain text or Markdown: lines kept, `#` headings become sections, back matter dropped."""
    text = decode_text(raw, meta.source_id)
    builder = TextBuilder()
    title = meta.title
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        clean = normalise_line(line)
        if _BACK_MATTER.match(clean.lstrip("#").strip()):
            break
        heading = _MD_HEADING.match(clean) if markdown else None
        if heading:
            title = title or heading.group(2)
            builder.heading(heading.group(2))
        else:
            title = title or (clean if 0 < len(clean) <= 150 else None)
            builder.line(clean)
    body, sections = builder.build()
    _require_text(body, meta.source_id)
    return make_document(meta, body, sections, title, "text/markdown" if markdown else "text/plain")


def extract_html(raw: bytes | str, meta: Meta) -> Document:
    """HTML main text via trafilatura (no navigation, banners, footers or reference lists)."""
    html = raw if isinstance(raw, str) else raw.decode("utf-8", errors="replace")
    xml = trafilatura.extract(
        html,
        output_format="xml",
        include_comments=False,
        include_tables=True,
        include_links=False,
        favor_precision=True,
        with_metadata=True,
        url=meta.url,
        # a date only from the page's own markup (meta tags, <time>): the free-text search
        # also reads "Copyright 2025" in a footer as a publication date
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    if not xml:
        raise ExtractError(f"{meta.source_id}: no main text found in the HTML")
    root = ET.fromstring(xml)
    builder = TextBuilder()
    main = root.find("main")
    for element in main if main is not None else root:
        text = " ".join("".join(element.itertext()).split())
        if element.tag == "head":
            if _BACK_MATTER.match(text):
                break
            builder.heading(text)
        elif element.tag == "list":
            for item in element.iter("item"):
                builder.line("".join(item.itertext()))
        elif element.tag == "table":
            for row in element.iter("row"):
                builder.line(" | ".join(" ".join("".join(c.itertext()).split()) for c in row))
        else:
            builder.line(text)
    body, sections = builder.build()
    _require_text(body, meta.source_id)
    page_title = root.get("title") or None
    published = meta.published or root.get("date") or None
    doc = make_document(meta, body, sections, meta.title or page_title, "text/html")
    return replace(doc, published=published)


def extract_pdf(raw: bytes, meta: Meta) -> Document:
    """PDF text page by page (pypdf), remembering where each page starts."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        pages_text = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise ExtractError(f"{meta.source_id}: unreadable PDF ({exc})") from None
    builder = TextBuilder()
    starts: list[int] = []
    for page_text in pages_text:
        starts.append(builder.length + (1 if builder.parts else 0))
        for line in page_text.splitlines():
            builder.line(line)
    body, sections = builder.build()
    if not body.strip():
        raise ExtractError(f"{meta.source_id}: PDF has no extractable text (scanned images?)")
    info_title = None
    if reader.metadata is not None and reader.metadata.title:
        info_title = str(reader.metadata.title)
    doc = make_document(meta, body, sections, meta.title or info_title, "application/pdf")
    return replace(doc, pages=tuple(starts))


def make_document(
    meta: Meta, text: str, sections: tuple[Section, ...], title: str | None, content_type: str
) -> Document:
    """A `Document` from extracted text plus what was known beforehand."""
    return Document(
        source_id=meta.source_id,
        text=text,
        title=(title or meta.source_id).strip(),
        url=meta.url,
        kind=meta.kind,
        publisher=meta.publisher,
        published=meta.published,
        retrieved_at=meta.retrieved_at,
        license=meta.license,
        content_type=content_type,
        sections=sections,
    )


def extract_bytes(raw: bytes, content_type: str, meta: Meta) -> Document:
    """Dispatch on content type (as served, or guessed from a file suffix)."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/pdf" or raw[:5] == b"%PDF-":
        return extract_pdf(raw, meta)
    if kind in ("text/html", "application/xhtml+xml"):
        return extract_html(raw, meta)
    if kind == "text/markdown":
        return extract_plain(raw, meta, markdown=True)
    if kind.startswith("text/"):
        return extract_plain(raw, meta)
    raise ExtractError(f"{meta.source_id}: unsupported content type {kind!r}")
