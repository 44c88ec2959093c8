"""Versioned on-disk index: write a version, publish it atomically, load and validate it.

Layout of an index directory:

    CURRENT              name of the published version (replaced atomically)
    versions/<name>/     one self-contained version: manifest.json, documents.jsonl,
                         chunks.jsonl, vectors.npy, dense.faiss, bm25/, sentences.npz,
                         sentence_vectors.npy, vocab.json, vocab_vectors.npy
    .build.lock          held by the one build allowed at a time
    embeddings.sqlite    the embedding cache shared by builds
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import orjson

from corpus.chunk import Chunk
from corpus.document import Document
from index.lexical import Lexical
from index.sentences import SentenceTable
from index.vocab import Vocabulary

FORMAT = 3
KEEP_VERSIONS = 3
_VERSION_NAME = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,199}")


class StoreError(Exception):
    """Base for index problems."""


class IndexLoadError(StoreError):
    """The index directory has no usable published version; the message says why."""


class BuildLockedError(StoreError):
    """Another build holds the index directory."""


@dataclass(frozen=True)
class VersionParts:
    """What a build computes for a version besides its documents and chunks."""

    vectors: np.ndarray  # chunk vectors, row i for chunks[i]
    dense: faiss.Index
    lexical: Lexical
    sentences: SentenceTable
    sentence_vectors: np.ndarray  # float16, row i for sentences row i (zeros: not an answer)
    vocabulary: Vocabulary


@dataclass(frozen=True)
class IndexVersion:
    """A loaded, validated, read-only index version."""

    name: str
    path: Path
    manifest: dict[str, Any]
    documents: dict[str, Document]
    chunks: list[Chunk]
    dense: faiss.Index
    lexical: Lexical
    vectors: np.ndarray  # chunk vectors, row i for chunks[i] (scores lexical-only candidates)
    sentences: SentenceTable
    sentence_vectors: np.ndarray  # float16, memory-mapped
    vocabulary: Vocabulary

    def chunk_text(self, chunk: Chunk) -> str:
        """The exact source text of a chunk."""
        return self.documents[chunk.source_id].text[chunk.start : chunk.end]


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name != "manifest.json":
            yield path


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Hold the directory's build lock or fail at once with `BuildLockedError`."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / ".build.lock").open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildLockedError(
                f"another build is running on {index_dir}; wait for it to finish"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_pointer(index_dir: Path) -> str | None:
    """Name of the published version, None when nothing is published, or `IndexLoadError`
    when `CURRENT` cannot be read or does not hold a version name."""
    pointer = index_dir / "CURRENT"
    try:
        name = pointer.read_bytes().decode("utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise IndexLoadError(f"{pointer} cannot be read ({why})") from None
    if not name:
        return None
    if not _VERSION_NAME.fullmatch(name):
        raise IndexLoadError(f"{pointer} does not hold a version name ({name[:40]!r})")
    return name


def current_name(index_dir: Path) -> str | None:
    """Name of the published version, or None (also when `CURRENT` is unreadable: a build then
    publishes a fresh version over it)."""
    try:
        return read_pointer(index_dir)
    except IndexLoadError:
        return None


def write_version(
    index_dir: Path,
    manifest: dict[str, Any],
    documents: list[Document],
    chunks: list[Chunk],
    parts: VersionParts,
) -> Path:
    """Write a complete version into a temporary folder inside `index_dir` and return it."""
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=index_dir))
    with (staging / "documents.jsonl").open("w", encoding="utf-8") as out:
        for doc in documents:
            out.write(json.dumps(doc.to_dict(), ensure_ascii=False) + "\n")
    with (staging / "chunks.jsonl").open("w", encoding="utf-8") as out:
        for chunk in chunks:
            out.write(json.dumps(asdict(chunk), ensure_ascii=False) + "\n")
    vectors = parts.vectors
    faiss.write_index(parts.dense, str(staging / "dense.faiss"))
    np.save(staging / "vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32))
    parts.lexical.save(staging / "bm25")
    parts.sentences.save(staging / "sentences.npz")
    np.save(staging / "sentence_vectors.npy", parts.sentence_vectors.astype(np.float16))
    parts.vocabulary.save(staging)
    files = {
        str(p.relative_to(staging)): {"bytes": p.stat().st_size, "sha256": file_sha256(p)}
        for p in _files(staging)
    }
    full = {**manifest, "format": FORMAT, "files": files, "dim": int(vectors.shape[1])}
    (staging / "manifest.json").write_text(json.dumps(full, indent=2), "utf-8")
    for path in [*_files(staging), staging / "manifest.json"]:
        with path.open("rb") as handle:
            os.fsync(handle.fileno())
    for folder in [p for p in staging.rglob("*") if p.is_dir()] + [staging]:
        _fsync_dir(folder)  # the files' directory entries, so the version is whole after a crash
    return staging


def publish(index_dir: Path, staging: Path, name: str) -> None:
    """Move a staged version into place and switch `CURRENT` to it in one atomic rename."""
    versions = index_dir / "versions"
    versions.mkdir(exist_ok=True)
    os.rename(staging, versions / name)
    # a rename is durable only once the directories holding the old and new names are synced:
    # without this a power cut can lose a publish that was already logged
    _fsync_dir(versions)
    _fsync_dir(index_dir)
    pointer = index_dir / ".CURRENT.tmp"
    with pointer.open("w", encoding="utf-8") as handle:
        handle.write(name + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(pointer, index_dir / "CURRENT")
    _fsync_dir(index_dir)


REBUILD_ERROR = "REBUILD_ERROR"


def record_rebuild_error(index_dir: Path, message: str | None) -> None:
    """Note why the latest background rebuild failed (None: it went well) beside `CURRENT`,
    where every server process reading this index finds it (`/readyz`)."""
    path = index_dir / REBUILD_ERROR
    if message is None:
        path.unlink(missing_ok=True)
        return
    index_dir.mkdir(parents=True, exist_ok=True)  # a first build may fail before making it
    staged = index_dir / f".{REBUILD_ERROR}.tmp"
    staged.write_text(message[:2000] + "\n", encoding="utf-8")
    os.replace(staged, path)


def rebuild_error(index_dir: Path) -> str | None:
    """Why the latest background rebuild failed, or None."""
    try:
        return (index_dir / REBUILD_ERROR).read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def _fsync_dir(path: Path) -> None:
    """Flush a directory's entries (new, renamed or removed names) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def prune(index_dir: Path, keep: int = KEEP_VERSIONS) -> None:
    """Delete old versions beyond the newest `keep` and leftover staging folders."""
    current = current_name(index_dir)
    versions = sorted((index_dir / "versions").glob("*"))
    for old in versions[:-keep]:
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)
    for staging in index_dir.glob(".staging-*"):
        shutil.rmtree(staging, ignore_errors=True)


def next_name(index_dir: Path, built_at: str) -> str:
    """Sortable version name: sequence number plus build time."""
    numbers = [
        int(p.name.split("-")[0])
        for p in (index_dir / "versions").glob("*")
        if p.name.split("-")[0].isdigit()
    ]
    stamp = built_at.replace(":", "").replace("-", "").split("+")[0]
    return f"{max(numbers, default=0) + 1:06d}-{stamp}"


def read_manifest(index_dir: Path) -> dict[str, Any] | None:
    """Manifest of the published version, or None when there is none readable."""
    name = current_name(index_dir)
    if name is None:
        return None
    try:
        manifest = json.loads((index_dir / "versions" / name / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def _loads(line: str) -> Any:
    """One JSON line of a version file: orjson (about half the time of `json` for the 60k
    lines of a 43.9k-chunk index, a quarter second of start-up), `json` for what orjson
    refuses but `json` writes and reads (a lone surrogate escape; the loaders refuse those
    now, but a version may be older)."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return json.loads(line)


def _read_chunks(path: Path) -> list[Chunk]:
    chunks = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            data = _loads(line)
            data["sentences"] = tuple(tuple(s) for s in data["sentences"])
            chunks.append(Chunk(**data))
    return chunks


def published_chunks(index_dir: Path) -> tuple[dict[str, Any], list[Chunk]] | None:
    """Manifest and chunks of the published version (checksum-verified), or None."""
    name = current_name(index_dir)
    manifest = read_manifest(index_dir)
    if name is None or manifest is None:
        return None
    path = index_dir / "versions" / name / "chunks.jsonl"
    expected = manifest.get("files", {}).get("chunks.jsonl", {}).get("sha256")
    try:
        if expected is None or file_sha256(path) != expected:
            return None
        return manifest, _read_chunks(path)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def published_name(index_dir: Path) -> str:
    """Name of the published version, or `IndexLoadError` saying how to build one."""
    hint = f"run `stemcell-qa build --index {index_dir} --docs PATH` first"
    if not index_dir.is_dir():
        raise IndexLoadError(f"index directory {index_dir} does not exist; {hint}")
    name = read_pointer(index_dir)
    if name is None:
        raise IndexLoadError(f"index directory {index_dir} has no published version; {hint}")
    return name


def published_documents(index_dir: Path) -> tuple[str, list[Document]]:
    """Name and documents of the published version (checksum-verified), without loading the
    model or the vectors; `IndexLoadError` says what is wrong."""
    name = published_name(index_dir)
    manifest = read_manifest(index_dir)
    path = index_dir / "versions" / name / "documents.jsonl"
    files = (manifest or {}).get("files")
    entry = files.get("documents.jsonl") if isinstance(files, dict) else None
    expected = entry.get("sha256") if isinstance(entry, dict) else None
    try:
        if expected is None or file_sha256(path) != expected:
            raise IndexLoadError(f"index version {name}: documents.jsonl is corrupted; rebuild it")
        with path.open(encoding="utf-8") as lines:
            return name, [Document.from_dict(_loads(line)) for line in lines]
    except (OSError, ValueError, TypeError) as exc:
        raise IndexLoadError(f"index version {name} is unreadable ({exc}); rebuild it") from None


def load(index_dir: Path, model_id: str, dim: int, name: str | None = None) -> IndexVersion:
    """Load and validate the published (or named) version; `IndexLoadError` says what is wrong."""
    name = name or published_name(index_dir)
    path = index_dir / "versions" / name
    manifest = _checked_manifest(path, model_id, dim)
    # Checksums are verified in a second thread while the files are parsed: hashing releases
    # the GIL, so on two cores it costs the load almost nothing (it was a quarter of it). A
    # bad checksum is reported before any parse error, as when it was checked first.
    with ThreadPoolExecutor(1, thread_name_prefix="index-checksums") as pool:
        checked = pool.submit(_checksums, path, manifest)
        try:
            version = _load_parts(path, name, manifest, dim)
        except IndexLoadError:
            _raise_bad(name, checked.result())
            raise
        _raise_bad(name, checked.result())
        return version


def _raise_bad(name: str, problem: str | None) -> None:
    if problem is not None:
        raise IndexLoadError(f"index version {name}: {problem}")


def _load_parts(path: Path, name: str, manifest: dict[str, Any], dim: int) -> IndexVersion:
    """Read every file of a version whose manifest passed; `IndexLoadError` says what is wrong."""
    try:
        documents = {}
        with (path / "documents.jsonl").open(encoding="utf-8") as lines:
            for line in lines:
                doc = Document.from_dict(_loads(line))
                documents[doc.source_id] = doc
        chunks = _read_chunks(path / "chunks.jsonl")
        dense = faiss.read_index(str(path / "dense.faiss"))
        ef_search = manifest.get("ann", {}).get("hnsw_ef_search")
        if ef_search and hasattr(dense, "hnsw"):
            dense.hnsw.efSearch = int(ef_search)  # not saved in the FAISS file itself
        lexical = Lexical.load(path / "bm25")
        # mapped, not read (pages load as used), then seen as plain arrays: indexing a
        # np.memmap makes a memmap object per row, ~40 per question
        vectors = np.asarray(np.load(path / "vectors.npy", mmap_mode="r"))
        sentences = SentenceTable.load(path / "sentences.npz")
        sentence_vectors = np.asarray(np.load(path / "sentence_vectors.npy", mmap_mode="r"))
        vocabulary = Vocabulary.load(path)
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as exc:
        raise IndexLoadError(f"index version {name} is unreadable ({exc}); rebuild it") from None
    if dense.ntotal != len(chunks) or lexical.num_docs != len(chunks):
        raise IndexLoadError(f"index version {name} is inconsistent: vector/chunk counts differ")
    if vectors.shape != (len(chunks), dim):
        raise IndexLoadError(f"index version {name} is inconsistent: vectors.npy has wrong shape")
    if len(sentences.chunk_ptr) != len(chunks) + 1 or sentence_vectors.shape != (
        len(sentences),
        dim,
    ):
        raise IndexLoadError(f"index version {name} is inconsistent: sentence table and vectors")
    if vocabulary.vectors.shape[1:] not in ((dim,), (0,)):
        raise IndexLoadError(f"index version {name} is inconsistent: vocabulary vectors")
    return IndexVersion(
        name,
        path,
        manifest,
        documents,
        chunks,
        dense,
        lexical,
        vectors,
        sentences,
        sentence_vectors,
        vocabulary,
    )


def _checked_manifest(path: Path, model_id: str, dim: int) -> dict[str, Any]:
    name = path.name
    try:
        manifest: dict[str, Any] = json.loads((path / "manifest.json").read_text("utf-8"))
    except FileNotFoundError:
        raise IndexLoadError(
            f"index version {name} has no manifest.json (missing or deleted)"
        ) from None
    except OSError as exc:
        why = f"index version {name}: manifest.json cannot be read ({exc.strerror or exc})"
        raise IndexLoadError(why) from None
    except ValueError:
        raise IndexLoadError(f"index version {name}: manifest.json is corrupted") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files", {}), dict):
        raise IndexLoadError(f"index version {name}: manifest.json is not an index manifest")
    if manifest.get("format") != FORMAT:
        raise IndexLoadError(
            f"index version {name} has format {manifest.get('format')}, "
            f"this program reads {FORMAT}; rebuild the index"
        )
    if manifest.get("model_id") != model_id or manifest.get("dim") != dim:
        raise IndexLoadError(
            f"index version {name} was built with model {manifest.get('model_id')} "
            f"({manifest.get('dim')}-d), but this program uses {model_id} ({dim}-d); rebuild it"
        )
    _check_sizes(path, manifest)
    return manifest


def check_published(index_dir: Path) -> None:
    """`IndexLoadError` when there is no published version, or a file of it is missing or
    has another size than its manifest says (a few `stat` calls: no checksums)."""
    name = published_name(index_dir)
    manifest = read_manifest(index_dir)
    if manifest is None or not isinstance(manifest.get("files", {}), dict):
        raise IndexLoadError(f"index version {name}: manifest.json cannot be read; rebuild it")
    _check_sizes(index_dir / "versions" / name, manifest)


def _check_sizes(path: Path, manifest: dict[str, Any]) -> None:
    for relative, expected in manifest.get("files", {}).items():
        file = path / relative
        if not file.is_file():
            raise IndexLoadError(f"index version {path.name}: file {relative} is missing")
        if file.stat().st_size != expected["bytes"]:
            raise IndexLoadError(
                f"index version {path.name}: file {relative} is truncated or changed; "
                "run `stemcell-qa build` again to replace it"
            )


def published_damage(index_dir: Path) -> str | None:
    """What is wrong with the published version's files (a checksum that differs, a file
    that cannot be read), or None when they are whole or nothing is published."""
    name, manifest = current_name(index_dir), read_manifest(index_dir)
    if name is None or manifest is None:
        return None
    return _checksums(index_dir / "versions" / name, manifest)


def _checksums(path: Path, manifest: dict[str, Any]) -> str | None:
    """What is wrong with the first file whose sha256 differs from the manifest's (or cannot
    be read), or None when all match."""
    for relative, expected in manifest.get("files", {}).items():
        try:
            if file_sha256(path / relative) != expected["sha256"]:
                return f"file {relative} is corrupted (checksum)"
        except OSError as exc:
            return f"file {relative} cannot be read ({exc.strerror or exc})"
    return None
