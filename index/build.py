"""Turn documents into a published index version, embedding only what is new."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from corpus.chunk import Chunk, ChunkSettings, chunk_document
from corpus.document import Document
from index import HNSW_FROM, shortforms, store
from index.cache import EmbeddingCache
from index.embed import Embedder
from index.encoding import Encoder, sentence_vectors
from index.lexical import TOKENIZER, Lexical
from index.sentences import SentenceSettings, SentenceTable, build_table
from index.vocab import Vocabulary, source_words

log = logging.getLogger("stemcell_qa.build")

PROJECT_VERSION = "0.1.0"


class BuildError(Exception):
    """The build cannot produce a version (no documents, ...); nothing was published."""


@dataclass(frozen=True)
class BuildSettings:
    """How a version is built; recorded in its manifest."""

    chunking: ChunkSettings = field(default_factory=ChunkSettings)
    sentences: SentenceSettings = field(default_factory=SentenceSettings)
    # How answer sentences get their vectors: "separate" encodes each sentence on its own;
    # "late" pools its tokens from the chunk's own forward pass (no extra encoding). On 500
    # MedQuAD documents (bench/sentence_vectors.py) late built 3.5x faster with cross-fitted
    # answers as good or better (hit@1 0.70 vs 0.68, abstain 0.98 vs 0.85): late is kept.
    sentence_vectors: str = "late"
    # "flat" (exact), "hnsw" (approximate) or "auto": exact below `hnsw_from` chunks, HNSW
    # from there. Exact search costs ~0.06 ms per 1,000 chunks a question here (0.7 ms at
    # 11,625, 2.5 ms at 43,901: bench/latency.py), HNSW ~0.3 ms at any of these sizes
    # (bench/ann.py). At 43,901 chunks, HNSW with efSearch 128 answered a 400-question
    # medquad-all sample exactly as exact search did (hit@1 0.6825, MRR@10 0.7914 both,
    # `stemcell-qa eval --mode fused`); so below ~20,000 chunks, where exact search costs
    # about a millisecond, exactness is kept, and above it the time is saved.
    ann: str = "auto"
    hnsw_from: int = HNSW_FROM
    hnsw_m: int = 32
    # search depth: FAISS's default of 16 loses ~10% recall@10; 64 still ~5% (bench/ann.py)
    hnsw_ef_search: int = 128
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
    sentences: int = 0
    embedded_sentences: int = 0  # texts encoded for sentence vectors (0 when all cached)
    embedded_words: int = 0


Progress = Callable[[str, int, int], None]


def passage_text(doc: Document, chunk: Chunk) -> str:
    """The text embedded and BM25-indexed for a chunk: title and heading, then the chunk."""
    head = (
        doc.title
        if not chunk.section or chunk.section == doc.title
        else (f"{doc.title}: {chunk.section}")
    )
    return f"{head}\n{doc.text[chunk.start : chunk.end]}"


def dense_kind(settings: BuildSettings, chunks: int) -> str:
    """The dense index built for `chunks` vectors: "flat" or "hnsw"."""
    if settings.ann == "auto":
        return "hnsw" if chunks >= settings.hnsw_from else "flat"
    if settings.ann not in ("flat", "hnsw"):
        raise BuildError(f"unknown ann setting {settings.ann!r} (use auto, flat or hnsw)")
    return settings.ann


def make_dense(vectors: np.ndarray, settings: BuildSettings) -> faiss.Index:
    """Exact inner-product index, or HNSW (chosen, or by size under "auto")."""
    dim = vectors.shape[1]
    kind = dense_kind(settings, len(vectors))
    if kind == "hnsw":
        hnsw = faiss.IndexHNSWFlat(dim, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = 80
        hnsw.hnsw.efSearch = settings.hnsw_ef_search
        dense: faiss.Index = hnsw
    else:
        dense = faiss.IndexFlatIP(dim)
    dense.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return dense


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
        "sentences": {**asdict(settings.sentences), "vectors": settings.sentence_vectors},
        "ann": {
            "kind": dense_kind(settings, len(chunks)),
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
    if progress:
        progress("chunking", 0, len(documents))
    for number, doc in enumerate(documents, start=1):
        same = doc.source_id in previous and hashes.get(doc.source_id) == doc.content_hash()
        chunks.extend(previous[doc.source_id] if same else chunk_document(doc, settings.chunking))
        if progress and (number % 200 == 0 or number == len(documents)):
            progress("chunking", number, len(documents))
    return chunks


def _unchanged(index_dir: Path, manifest: dict[str, Any]) -> bool:
    current = store.read_manifest(index_dir)
    keys = ("model_id", "chunking", "sentences", "ann", "tokenizer", "sources", "origins")
    # a version in an older format is rebuilt (from the embedding cache), not kept unreadable
    same = (
        current is not None
        and current.get("format") == store.FORMAT
        and all(current.get(k) == manifest[k] for k in keys)
    )
    if not same:
        return False
    # ... and so is a damaged one: "up to date" left a truncated vectors.npy published, which
    # no server could load, until a build with --force
    damage = store.published_damage(index_dir)
    if damage is not None:
        name = store.current_name(index_dir)
        log.warning("index version %s is damaged (%s); building it again", name, damage)
    return damage is None


def _write_and_publish(
    index_dir: Path,
    manifest: dict[str, Any],
    documents: list[Document],
    chunks: list[Chunk],
    parts: store.VersionParts,
    built_at: str,
) -> str:
    """Stage and publish a version; a write error (disk full, ...) becomes a `BuildError`."""
    current = store.current_name(index_dir)
    try:
        staging = store.write_version(index_dir, manifest, documents, chunks, parts)
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
        served = store.current_name(index_dir)
        kept = f"; version {served}, built before, is still published" if served else ""
        raise BuildError(
            f"no documents to index; nothing was published{kept} (check --docs and fetch)"
        )
    built_at = datetime.now(UTC).isoformat(timespec="seconds")
    with store.build_lock(index_dir):
        chunks = _chunks(index_dir, documents, settings, progress)
        if not chunks:
            raise BuildError("the documents hold no sentences to index; nothing was published")
        manifest = _manifest(documents, chunks, embedder, settings, built_at)
        current = store.current_name(index_dir)
        if not force and _unchanged(index_dir, manifest):
            store.record_rebuild_error(index_dir, None)  # whatever failed before is behind us
            counts = manifest["counts"]
            return BuildReport(current, False, counts["documents"], len(chunks), 0, len(chunks))
        cache = EmbeddingCache(index_dir / "embeddings.sqlite", embedder.dim)
        encoder = Encoder(embedder, cache, settings.batch_size, settings.block, progress)
        try:
            parts = _parts(documents, chunks, encoder, settings)
            name = _write_and_publish(index_dir, manifest, documents, chunks, parts, built_at)
            store.record_rebuild_error(index_dir, None)
            cache.retain(encoder.keys)
        finally:
            cache.close()
        store.prune(index_dir)
    embedded = encoder.embedded.get("embedding", 0)
    return BuildReport(
        name,
        True,
        len(documents),
        len(chunks),
        embedded,
        len(chunks) - embedded,
        sentences=len(parts.sentences),
        embedded_sentences=encoder.embedded.get("embedding sentences", 0),
        embedded_words=encoder.embedded.get("embedding words", 0),
    )


def _parts(
    documents: list[Document], chunks: list[Chunk], encoder: Encoder, settings: BuildSettings
) -> store.VersionParts:
    """Embed and index everything a version holds besides its documents and chunks."""
    by_id = {d.source_id: d for d in documents}
    texts = [passage_text(by_id[c.source_id], c) for c in chunks]
    late: dict[tuple[str, int], np.ndarray] = {}
    if settings.sentence_vectors == "late":
        vectors, late = _late(texts, chunks, encoder)
    elif settings.sentence_vectors == "separate":
        vectors = encoder.texts(texts, "embedding")
    else:
        raise BuildError(f"unknown sentence_vectors setting {settings.sentence_vectors!r}")
    lexical = Lexical.build(texts)
    table = build_table(documents, chunks, lexical.vocabulary, settings.sentences)
    sentence_texts = [
        by_id[table.doc_ids[d]].text[s:e]
        for d, s, e in zip(table.doc, table.start, table.end, strict=True)
    ]
    counts = source_words(documents).most_common()
    words = [w for w, _ in counts]
    vocabulary = Vocabulary(
        tuple(words),
        np.array([c for _, c in counts], dtype=np.int32),
        encoder.texts(words, "embedding words"),
        shortforms.extract(d.text for d in documents),
    )
    return store.VersionParts(
        vectors=vectors,
        dense=make_dense(vectors, settings),
        lexical=lexical,
        sentences=table,
        sentence_vectors=sentence_vectors(encoder, table, sentence_texts, _rows(table, late)),
        vocabulary=vocabulary,
    )


def _rows(
    table: SentenceTable, by_start: dict[tuple[str, int], np.ndarray]
) -> dict[int, np.ndarray]:
    """Late-chunked vectors keyed by sentence-table row."""
    if not by_start:
        return {}
    keys = zip(table.doc, table.start, strict=True)
    return {
        row: by_start[key]
        for row, (d, s) in enumerate(keys)
        if (key := (table.doc_ids[d], int(s))) in by_start
    }


def _late(
    texts: list[str], chunks: list[Chunk], encoder: Encoder
) -> tuple[np.ndarray, dict[tuple[str, int], np.ndarray]]:
    """Chunk vectors and late-chunked sentence vectors keyed by (document, sentence start)."""
    spans = []
    for text, chunk in zip(texts, chunks, strict=True):
        shift = len(text) - (chunk.end - chunk.start) - chunk.start  # passage offset of doc 0
        spans.append([(s + shift, e + shift) for s, e in chunk.sentences])
    vectors, pooled = encoder.late(texts, spans, "embedding")
    by_start: dict[tuple[str, int], np.ndarray] = {}
    for chunk, row in zip(chunks, pooled, strict=True):
        for (start, _), vector in zip(chunk.sentences, row, strict=True):
            if vector is not None:
                by_start.setdefault((chunk.source_id, start), vector)
    return vectors, by_start
