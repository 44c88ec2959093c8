"""Gather the corpus to index: manifest snapshots plus local documents."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from corpus.ctgov import render_study
from corpus.document import Document, Origin
from corpus.extract import ExtractError, Meta, extract_bytes
from corpus.jats import XML_TYPES, extract_jats
from corpus.local import Warn, load_local
from corpus.snapshots import SnapshotStore
from corpus.sources import Source


def snapshot_documents(sources: list[Source], store: SnapshotStore, warn: Warn) -> list[Document]:
    """Extract each source's stored snapshot; sources never fetched are reported and skipped."""
    documents: list[Document] = []
    for source in sources:
        stored = store.read(source.id)
        if stored is None:
            warn(f"{source.id}: no snapshot yet (run `stemcell-qa fetch` with network access)")
            continue
        meta, body = stored
        info = Meta(
            source_id=source.id,
            url=source.url,
            kind=source.kind,
            title=source.title,
            publisher=source.publisher,
            retrieved_at=meta.fetched_at,
        )
        origin = Origin(str(store.body_path(meta).resolve()), meta.sha256)
        kind = meta.content_type.split(";")[0].strip().lower()
        try:
            if kind == "application/json":
                doc = render_study(body, info)
            elif kind in XML_TYPES:  # article full text; links go to the manifest URL
                doc = extract_jats(body, info)
            else:
                doc = extract_bytes(body, meta.content_type, info)
        except ExtractError as exc:
            warn(f"{source.id}: skipped ({exc})")
            continue
        documents.append(replace(doc, origin=origin))
    return documents


def collect(
    sources: list[Source], store: SnapshotStore | None, docs: list[Path], warn: Warn
) -> list[Document]:
    """Snapshots of `sources` (when a store is given) followed by documents under `docs`."""
    fetched = snapshot_documents(sources, store, warn) if store else []
    manifest = {source.id: source for source in sources}
    loaded = load_local(docs, warn) if docs else []
    local = [_labelled(doc, manifest.get(doc.source_id)) for doc in loaded]
    local_ids = {doc.source_id for doc in local}
    for doc in fetched:
        if doc.source_id in local_ids:
            warn(f"{doc.source_id}: local document replaces the fetched source with the same id")
    return [d for d in fetched if d.source_id not in local_ids] + local


def _labelled(doc: Document, source: Source | None) -> Document:
    """A local copy of a manifest source (the saved PDF of a blocked article, say) keeps the
    manifest's credibility label and publisher."""
    if source is None:
        return doc
    return replace(
        doc,
        kind=source.kind,
        publisher=source.publisher or doc.publisher,
        title=source.title or doc.title,
    )
