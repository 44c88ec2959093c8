"""The extracted-document model shared by extraction, sentence splitting and chunking."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Section:
    """A headed span of a document's text: `text[start:end]` lies under `title`."""

    title: str
    start: int
    end: int


@dataclass(frozen=True)
class Origin:
    """Where a document's text was read from, so quotes can be checked against the original.

    `path` is the absolute path of a local file or of a stored snapshot body; `sha256` is the
    hash of the bytes the document was made from (the whole file, or its JSONL line, `line`).
    """

    path: str
    sha256: str
    line: int | None = None


@dataclass(frozen=True)
class Document:
    """Main text of one source plus the metadata shown beside its sentences.

    `text` is the exact extracted text; every offset downstream points into it.
    `pages` holds the start offset of each PDF page (empty for other formats).
    `origin` says which file it came from (None for documents made in memory or read from an
    index built before origins were recorded).
    """

    source_id: str
    text: str
    title: str
    url: str | None = None
    kind: str = "other"
    publisher: str | None = None
    published: str | None = None
    retrieved_at: str | None = None
    license: str | None = None
    content_type: str = "text/plain"
    sections: tuple[Section, ...] = ()
    pages: tuple[int, ...] = field(default=())
    origin: Origin | None = None

    def content_hash(self) -> str:
        """sha256 over the text and the metadata that is shown or indexed (not where it lives)."""
        payload = json.dumps(self.to_dict(exclude=("retrieved_at", "origin")), sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def section_at(self, offset: int) -> Section | None:
        """The section containing `offset`, if any."""
        for section in self.sections:
            if section.start <= offset < section.end:
                return section
        return None

    def page_at(self, offset: int) -> int | None:
        """1-based PDF page containing `offset`, or None for non-paged documents."""
        page = None
        for number, start in enumerate(self.pages, start=1):
            if start <= offset:
                page = number
        return page

    def to_dict(self, exclude: tuple[str, ...] = ()) -> dict[str, object]:
        """Plain-JSON form (used by the index store)."""
        data = asdict(self)
        for key in exclude:
            data.pop(key, None)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        """Inverse of `to_dict`."""
        values = dict(data)
        sections = values.pop("sections", None) or []
        pages = values.pop("pages", None) or []
        origin = values.pop("origin", None)  # absent in indexes built before it was recorded
        return cls(
            sections=tuple(Section(**s) for s in sections),
            pages=tuple(pages),
            origin=Origin(**origin) if origin else None,
            **values,
        )
