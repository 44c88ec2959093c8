"""Turn documents into a published index version, embedding only what is new."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from corpus.chunk import Chunk, ChunkSettings, chunk_document
from corpus.document import Document
from index import store
from index.cache import EmbeddingCache, text_key
from index.embed import Embedder
from index.lexical import TOKENIZER, Lexical

PROJECT_VERSION = "0.1.0"


class BuildError(Exception):
    """The build cannot produce a version (no documents, ...); nothing was published."""


@dataclass(frozen=True)
class BuildSettings:
    """How a version is built; recorded in its manifest."""

    chunking: ChunkSettings = field(default_factory=ChunkSettings)
    ann: str = "flat"  # "flat" (exact) or "hnsw" (approximate, for large corpora)
    hnsw_m: int = 32
    hnsw_ef_search: int = 64  # search depth: FAISS's default of 16 loses ~10% recall@10
    batch_size: int = 32
    block: int = 256  # texts embedded between cache commits


@dataclass(frozen=True)
class BuildReport:
    """What a build did."""

    version: str | None
    published: bool
    documents: int
    chunks: int
    embedded: int
    reused: int


Progress = Callable[[str, int, int], None]


def passage_text(doc: Document, chunk: Chunk) -> str:
    """The text embedded and BM25-indexed for a chunk: title and heading, then the chunk."""
    head = (
        doc.title
        if not chunk.section or chunk.section == doc.title
        else (f"{doc.title}: {chunk.section}")
    )
    return f"{head}\n{doc.text[chunk.start : chunk.end]}"


def make_dense(vectors: np.ndarray, settings: BuildSettings) -> faiss.Index:
    """Exact inner-product index, or HNSW when chosen explicitly."""
    dim = vectors.shape[1]
    if settings.ann == "hnsw":
        hnsw = faiss.IndexHNSWFlat(dim, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = 80
        hnsw.hnsw.efSearch = settings.hnsw_ef_search
        dense: faiss.Index = hnsw
    elif settings.ann == "flat":
        dense = faiss.IndexFlatIP(dim)
    else:
        raise BuildError(f"unknown ann setting {settings.ann!r} (use flat or hnsw)")
    dense.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return dense


def _embed(
    texts: list[str],
    embedder: Embedder,
    cache: EmbeddingCache,
    settings: BuildSettings,
    progress: Progress | None,
) -> tuple[np.ndarray, int]:
    keys = [text_key(embedder.model_id, t) for t in texts]
    cached = cache.get_many(keys)
    missing = sorted({k: i for i, k in enumerate(keys) if k not in cached}.values())
    done = 0
    for begin in range(0, len(missing), settings.block):
        ids = missing[begin : begin + settings.block]
        vectors = embedder.encode([texts[i] for i in ids], batch_size=settings.batch_size)
        fresh = {keys[i]: v for i, v in zip(ids, vectors, strict=True)}
        cache.put_many(fresh)  # committed now: a killed build keeps the work done so far
        cached.update(fresh)
        done += len(ids)
        if progress:
            progress("embedding", done, len(missing))
    out = np.stack([cached[k] for k in keys]) if keys else np.zeros((0, embedder.dim), "float32")
    return out.astype(np.float32), len(missing)


def _manifest(
    documents: list[Document],
    chunks: list[Chunk],
    embedder: Embedder,
    settings: BuildSettings,
    built_at: str,
) -> dict[str, Any]:
    return {
        "model_id": embedder.model_id,
        "project_version": PROJECT_VERSION,
        "built_at": built_at,
        "chunking": asdict(settings.chunking),
        "ann": {
            "kind": settings.ann,
            "hnsw_m": settings.hnsw_m,
            "hnsw_ef_search": settings.hnsw_ef_search,
        },
        "tokenizer": TOKENIZER,
        "sources": {d.source_id: d.content_hash() for d in documents},
        "origins": _origins_digest(documents),
        "counts": {
            "documents": len(documents),
            "chunks": len(chunks),
            "sentences": sum(len(c.sentences) for c in chunks),
        },
    }


def _origins_digest(documents: list[Document]) -> str:
    """One hash over where the documents were read from: moved or re-fetched files republish
    (reusing chunks and embeddings) so quotes can still be checked against their source."""
    origins = [[d.source_id, asdict(d.origin) if d.origin else None] for d in documents]
    return hashlib.sha256(json.dumps(origins, sort_keys=True).encode("utf-8")).hexdigest()


def _chunks(
    index_dir: Path,
    documents: list[Document],
    settings: BuildSettings,
    progress: Progress | None,
) -> list[Chunk]:
    """Chunks of every document; unchanged documents reuse the published version's chunks
    (sentence splitting is the costly part of a rebuild)."""
    previous: dict[str, list[Chunk]] = {}
    hashes: dict[str, str] = {}
    published = store.published_chunks(index_dir)
    if published and published[0].get("chunking") == asdict(settings.chunking):
        hashes = published[0].get("sources", {})
        for chunk in published[1]:
            previous.setdefault(chunk.source_id, []).append(chunk)
    chunks: list[Chunk] = []
    for number, doc in enumerate(documents, start=1):
        same = doc.source_id in previous and hashes.get(doc.source_id) == doc.content_hash()
        chunks.extend(previous[doc.source_id] if same else chunk_document(doc, settings.chunking))
        if progress and (number % 200 == 0 or number == len(documents)):
            progress("chunking", number, len(documents))
    return chunks


def _unchanged(index_dir: Path, manifest: dict[str, Any]) -> bool:
    current = store.read_manifest(index_dir)
    keys = ("model_id", "chunking", "ann", "tokenizer", "sources", "origins")
    return current is not None and all(current.get(k) == manifest[k] for k in keys)


def _write_and_publish(
    index_dir: Path,
    manifest: dict[str, Any],
    documents: list[Document],
    chunks: list[Chunk],
    vectors: np.ndarray,
    dense: faiss.Index,
    lexical: Lexical,
    built_at: str,
) -> str:
    """Stage and publish a version; a write error (disk full, ...) becomes a `BuildError`."""
    current = store.current_name(index_dir)
    try:
        staging = store.write_version(
            index_dir, manifest, documents, chunks, vectors, dense, lexical
        )
        name = store.next_name(index_dir, built_at)
        store.publish(index_dir, staging, name)
    except OSError as exc:
        store.prune(index_dir)  # drop the half-written staging folder and the space it holds
        raise BuildError(
            f"could not write the new index version in {index_dir}: {exc.strerror or exc}; "
            f"nothing was published, version {current or '(none)'} is still served"
        ) from exc
    return name


def build(
    documents: list[Document],
    index_dir: Path,
    embedder: Embedder,
    settings: BuildSettings | None = None,
    progress: Progress | None = None,
    force: bool = False,
) -> BuildReport:
    """Build and publish a version; unchanged input publishes nothing unless `force`."""
    settings = settings or BuildSettings()
    if not documents:
        raise BuildError("no documents to index; nothing was published (check --docs and fetch)")
    built_at = datetime.now(UTC).isoformat(timespec="seconds")
    with store.build_lock(index_dir):
        chunks = _chunks(index_dir, documents, settings, progress)
        if not chunks:
            raise BuildError("the documents hold no sentences to index; nothing was published")
        manifest = _manifest(documents, chunks, embedder, settings, built_at)
        current = store.current_name(index_dir)
        if not force and _unchanged(index_dir, manifest):
            counts = manifest["counts"]
            return BuildReport(current, False, counts["documents"], len(chunks), 0, len(chunks))
        by_id = {d.source_id: d for d in documents}
        texts = [passage_text(by_id[c.source_id], c) for c in chunks]
        cache = EmbeddingCache(index_dir / "embeddings.sqlite", embedder.dim)
        try:
            vectors, embedded = _embed(texts, embedder, cache, settings, progress)
            lexical = Lexical.build(texts)
            dense = make_dense(vectors, settings)
            name = _write_and_publish(
                index_dir, manifest, documents, chunks, vectors, dense, lexical, built_at
            )
            cache.retain({text_key(embedder.model_id, t) for t in texts})
        finally:
            cache.close()
        store.prune(index_dir)
    return BuildReport(name, True, len(documents), len(chunks), embedded, len(chunks) - embedded)
