"""Load local documents given with `--docs` (files or folders of .txt .md .html .pdf .xml
.jsonl); a `.xml` file is a JATS/NLM article."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from corpus.document import Document, Origin
from corpus.extract import ExtractError, Meta, extract_bytes, extract_plain
from corpus.jats import extract_jats
from corpus.sources import KINDS

SUFFIXES = {
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".html": "text/html",
    ".htm": "text/html",
    ".pdf": "application/pdf",
    ".xml": "application/xml",
    ".nxml": "application/xml",
    ".jsonl": "application/jsonl",
}
_SLUG = re.compile(r"[^a-z0-9._-]+")

Warn = Callable[[str], None]


class DocumentError(ValueError):
    """A local document file is malformed; the message names the file and line."""


def safe_url(url: object) -> str | None:
    """`url` if it is an absolute http(s) URL, else None (never render javascript:/data: links)."""
    if not isinstance(url, str):
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def file_source_id(path: Path, root: Path | None) -> str:
    """Source id derived from a file's path (relative to the folder it was found in)."""
    relative = path.relative_to(root) if root else Path(path.name)
    return _SLUG.sub("-", str(relative.with_suffix("")).lower()).strip("-.") or "document"


def iter_files(paths: list[Path]) -> Iterator[tuple[Path, Path | None]]:
    """Supported files under each path, sorted, with the folder they were found in. In a
    folder, hidden files and folders (".draft.md", ".git/") are left out: a draft or an
    editor's copy is no source to quote."""
    for path in paths:
        if path.is_dir():
            for found in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in found.relative_to(path).parts)
                if found.is_file() and found.suffix.lower() in SUFFIXES and not hidden:
                    yield found, path
        elif path.is_file():
            yield path, None
        else:
            raise DocumentError(f"{path}: no such file or folder")


def load_local(paths: list[Path], warn: Warn) -> list[Document]:
    """Every document under `paths`; unreadable files are skipped with a warning."""
    documents: list[Document] = []
    for path, root in iter_files(paths):
        content_type = SUFFIXES.get(path.suffix.lower())
        if content_type is None:
            warn(f"{path}: skipped (unsupported file type {path.suffix or 'none'})")
        elif content_type == "application/jsonl":
            documents.extend(load_jsonl(path, warn))
        else:
            meta = Meta(source_id=file_source_id(path, root))
            raw = path.read_bytes()
            origin = Origin(str(path.resolve()), hashlib.sha256(raw).hexdigest())
            try:
                if content_type == "application/xml":
                    document = extract_jats(raw, meta)
                else:
                    document = extract_bytes(raw, content_type, meta)
                documents.append(replace(document, origin=origin))
            except ExtractError as exc:
                warn(f"{path}: skipped ({exc})")
    seen: dict[str, Document] = {}
    for doc in documents:
        if doc.source_id in seen:
            first, again = (_where(d) for d in (seen[doc.source_id], doc))
            raise DocumentError(
                f"duplicate document id {doc.source_id!r} among --docs inputs: {first} and {again}"
            )
        seen[doc.source_id] = doc
    return documents


def _where(doc: Document) -> str:
    """The file (and JSONL line) a document came from."""
    origin = doc.origin
    if origin is None:
        return "(unknown file)"
    return f"{origin.path}:{origin.line}" if origin.line else origin.path


def load_jsonl(path: Path, warn: Warn) -> list[Document]:
    """One document per line: {"id", "title", "url", "text", ...}; a bad line fails the file."""
    documents: list[Document] = []
    for number, line, record in jsonl_records(path):
        doc = _jsonl_document(path, number, record, warn)
        if doc is not None:
            digest = hashlib.sha256(line.rstrip("\r\n").encode("utf-8")).hexdigest()
            origin = Origin(str(path.resolve()), digest, line=number)
            documents.append(replace(doc, origin=origin))
    return documents


def jsonl_records(path: Path) -> Iterator[tuple[int, str, object]]:
    """(line number, line, parsed JSON) for each non-blank line of a JSONL file; a line that
    is not valid JSON raises `DocumentError` naming the file, line and column."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DocumentError(
                    f"{path}:{number}: not valid JSON "
                    f"({exc.msg.removesuffix(' at')} at column {exc.colno})"
                ) from None
            yield number, line, record


def _jsonl_document(path: Path, number: int, record: object, warn: Warn) -> Document | None:
    where = f"{path}:{number}"
    if not isinstance(record, dict):
        raise DocumentError(f"{where}: each line must be a JSON object")
    if not isinstance(record.get("id"), str) or not record["id"].strip():
        raise DocumentError(f"{where}: missing string field `id`")
    if not isinstance(record.get("text"), str):
        raise DocumentError(f"{where}: missing string field `text`")
    url = safe_url(record.get("url"))
    if record.get("url") and url is None:
        warn(f"{where}: url {str(record['url'])[:60]!r} is not http(s); shown without a link")
    kind = record.get("kind") or "other"
    if kind not in KINDS:
        # as the manifest: a misspelt "clinic_marketing" would show a clinic's own page to
        # patients as "Other source"
        raise DocumentError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    meta = Meta(
        source_id=record["id"].strip(),
        url=url,
        kind=str(kind),
        title=_str(record.get("title")),
        publisher=_str(record.get("publisher")),
        published=_str(record.get("published") or record.get("date")),
        license=_str(record.get("license")),
    )
    try:
        body = record["text"].encode("utf-8")
    except UnicodeEncodeError:  # JSON allows "\ud800" escapes; no text is made of them
        raise DocumentError(
            f"{where}: `text` holds a lone surrogate (an invalid \\u escape)"
        ) from None
    try:
        return extract_plain(body, meta)
    except ExtractError as exc:
        warn(f"{where}: skipped ({exc})")
        return None


def _str(value: object) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None
