"""Building, rebuilding and publishing index versions (fake embedder: plumbing only)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from corpus.document import Document
from corpus.extract import Meta, extract_plain
from index import store
from index.build import BuildError, BuildSettings, build
from index.search import retrieve
from tests.conftest import FakeEmbedder, seed_documents

FIXTURES = {
    "trial-news": "Trial news\nA hospital announced a new trial of neural stem cells. "
    "The first patients will be treated next year. Doctors will watch for side effects.",
    "clinic-ad": "Clinic offer\nOur clinic offers stem cell injections for knee pain. "
    "Book now for a discount. Results are guaranteed by our experts.",
    "lung-charity": "Lung charity update\nStem cells were infused into the lungs of patients "
    "with fibrosis. The team called the treatment safe. Larger trials are needed.",
}


def fixture_docs(**changes: str) -> list[Document]:
    texts = {**FIXTURES, **changes}
    return seed_documents() + [
        extract_plain(t.encode(), Meta(source_id=k)) for k, t in texts.items() if t
    ]


def load(index_dir: Path, embedder: FakeEmbedder) -> store.IndexVersion:
    return store.load(index_dir, embedder.model_id, embedder.dim)


def test_first_build_publishes_a_loadable_version(tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    report = build(fixture_docs(), tmp_path, embedder)
    version = load(tmp_path, embedder)
    assert report.published and report.version == version.name
    assert report.embedded == report.chunks == len(version.chunks) and report.reused == 0
    assert set(version.documents) == {"are-stem-cell-products-safe", *FIXTURES}
    manifest = version.manifest
    assert manifest["model_id"] == embedder.model_id and manifest["dim"] == embedder.dim
    assert manifest["counts"]["chunks"] == len(version.chunks)
    assert set(manifest["sources"]) == set(version.documents)
    for chunk in version.chunks:
        text = version.chunk_text(chunk)
        assert text.startswith(
            version.documents[chunk.source_id].text[chunk.sentences[0][0] : chunk.sentences[0][1]]
        )


@pytest.mark.parametrize("mode", ["late", "separate"])
def test_rebuild_embeds_only_the_changed_documents_changed_chunks(
    tmp_path: Path, mode: str
) -> None:
    settings = BuildSettings(sentence_vectors=mode)
    build(fixture_docs(), tmp_path, FakeEmbedder(), settings)
    embedder = FakeEmbedder()
    edited = FIXTURES["clinic-ad"].replace("knee pain", "back pain")
    report = build(fixture_docs(**{"clinic-ad": edited}), tmp_path, embedder, settings)
    assert report.published
    assert report.embedded == 1 and report.reused == report.chunks - 1
    # the changed chunk and the one new word; encoded alone, also the one changed sentence
    # (late chunking pools it from the chunk's own pass)
    changed = (
        ["Our clinic offers stem cell injections for back pain."] if mode == "separate" else []
    )
    assert report.embedded_sentences == len(changed) and report.embedded_words == 1
    assert sorted(embedder.encoded) == sorted(["Clinic offer\n" + edited, "back", *changed])


def test_unchanged_corpus_publishes_nothing(tmp_path: Path) -> None:
    first = build(fixture_docs(), tmp_path, FakeEmbedder())
    embedder = FakeEmbedder()
    again = build(fixture_docs(), tmp_path, embedder)
    assert not again.published and again.version == first.version
    assert embedder.encoded == []
    forced = build(fixture_docs(), tmp_path, embedder, force=True)
    assert forced.published and forced.version != first.version and forced.embedded == 0


def test_a_damaged_published_version_is_built_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # "up to date" kept a truncated vectors.npy published: no server could load it
    first = build(fixture_docs(), tmp_path, FakeEmbedder())
    vectors = tmp_path / "versions" / first.version / "vectors.npy"
    vectors.write_bytes(vectors.read_bytes()[:100])
    embedder = FakeEmbedder()
    again = build(fixture_docs(), tmp_path, embedder)
    assert again.published and again.version != first.version
    assert embedder.encoded == []  # from the embedding cache
    assert "vectors.npy" in caplog.text and "damaged" in caplog.text
    load(tmp_path, embedder)  # whole again


def test_the_short_forms_the_sources_define_are_kept_with_the_version(tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    defined = "Lung news\nIdiopathic pulmonary fibrosis (IPF) scars the lungs. IPF is rare."
    build(fixture_docs(**{"lung-charity": defined}), tmp_path, embedder)
    vocabulary = load(tmp_path, embedder).vocabulary
    assert vocabulary.abbreviations == {"IPF": "idiopathic pulmonary fibrosis"}
    assert vocabulary.expand("is IPF genetic?") == "is IPF (idiopathic pulmonary fibrosis) genetic?"


def test_a_version_of_an_older_format_is_rebuilt_not_kept(tmp_path: Path) -> None:
    first = build(fixture_docs(), tmp_path, FakeEmbedder())
    manifest_path = tmp_path / "versions" / first.version / "manifest.json"
    manifest = json.loads(manifest_path.read_text("utf-8"))
    manifest_path.write_text(json.dumps({**manifest, "format": store.FORMAT - 1}), "utf-8")
    with pytest.raises(store.IndexLoadError, match="rebuild the index"):
        load(tmp_path, FakeEmbedder())
    embedder = FakeEmbedder()
    again = build(fixture_docs(), tmp_path, embedder)
    # republished in this format from the embedding cache: nothing embedded again
    assert again.published and again.embedded == 0 and embedder.encoded == []
    assert load(tmp_path, embedder).manifest["format"] == store.FORMAT


def test_moved_source_file_republishes_its_new_origin_without_re_embedding(
    tmp_path: Path,
) -> None:
    from corpus.local import load_local

    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    (first / "note.txt").write_text("Clinic note\nStem cell injections were audited.\n")
    index_dir = tmp_path / "index"
    build(load_local([first], print), index_dir, FakeEmbedder())
    assert not build(load_local([first], print), index_dir, FakeEmbedder()).published
    first.rename(second)
    embedder = FakeEmbedder()
    report = build(load_local([second], print), index_dir, embedder)
    assert report.published and report.embedded == 0
    origin = load(index_dir, embedder).documents["note"].origin
    assert origin is not None and origin.path == str((second / "note.txt").resolve())


def test_removed_document_disappears_from_search(tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    build(fixture_docs(), tmp_path, embedder)
    query = "clinic injections knee discount"
    vector = embedder.encode([query])[0]
    before = load(tmp_path, embedder)
    hits = retrieve(before, vector, query)
    assert before.chunks[hits[0].chunk].source_id == "clinic-ad"
    build(fixture_docs(**{"clinic-ad": ""}), tmp_path, embedder)
    after = load(tmp_path, embedder)
    assert "clinic-ad" not in after.documents
    assert all(
        after.chunks[h.chunk].source_id != "clinic-ad" for h in retrieve(after, vector, query)
    )


def test_crash_mid_build_keeps_previous_version_and_next_build_reuses_work(
    tmp_path: Path,
) -> None:
    good = build(fixture_docs(), tmp_path, FakeEmbedder())
    new_docs = fixture_docs(
        **{
            f"extra-{i}": f"Extra document {i} about stem cell risk number {i}. It has words."
            for i in range(6)
        }
    )
    crashing = FakeEmbedder(fail_after=3)
    with pytest.raises(RuntimeError, match="simulated crash"):
        build(new_docs, tmp_path, crashing, BuildSettings(block=2))
    assert store.current_name(tmp_path) == good.version
    assert load(tmp_path, FakeEmbedder()).name == good.version
    resumed = build(new_docs, tmp_path, FakeEmbedder(), BuildSettings(block=2))
    assert resumed.published and resumed.embedded == 6 - 2  # two were committed before the crash
    assert not list(tmp_path.glob(".staging-*"))


def test_empty_corpus_is_refused_and_previous_version_kept(tmp_path: Path) -> None:
    good = build(fixture_docs(), tmp_path, FakeEmbedder())
    with pytest.raises(BuildError, match=f"no documents.*version {good.version}.* still published"):
        build([], tmp_path, FakeEmbedder())
    assert store.current_name(tmp_path) == good.version


def test_second_build_on_the_same_index_fails_clearly(tmp_path: Path) -> None:
    docs = fixture_docs()
    with store.build_lock(tmp_path):
        outcome: list[BaseException] = []

        def other() -> None:
            try:
                build(docs, tmp_path, FakeEmbedder())
            except BaseException as exc:
                outcome.append(exc)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert isinstance(outcome[0], store.BuildLockedError)
    assert "another build is running" in str(outcome[0])
    assert store.current_name(tmp_path) is None


def test_old_versions_are_pruned(tmp_path: Path) -> None:
    for i in range(5):
        build(
            fixture_docs(**{"clinic-ad": f"Clinic offer number {i}. Injections."}),
            tmp_path,
            FakeEmbedder(),
        )
    versions = sorted(p.name for p in (tmp_path / "versions").iterdir())
    assert len(versions) == store.KEEP_VERSIONS
    assert versions[-1] == store.current_name(tmp_path)


def test_hnsw_index_is_chosen_explicitly_and_finds_the_same_top_hit(tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    build(fixture_docs(), tmp_path / "flat", embedder)
    build(fixture_docs(), tmp_path / "hnsw", embedder, BuildSettings(ann="hnsw"))
    flat, hnsw = load(tmp_path / "flat", embedder), load(tmp_path / "hnsw", embedder)
    assert hnsw.manifest["ann"]["kind"] == "hnsw" and "HNSW" in type(hnsw.dense).__name__
    query = embedder.encode(["lungs fibrosis infused"])[0]
    assert retrieve(flat, query, "")[0].chunk == retrieve(hnsw, query, "")[0].chunk
    assert np.allclose(flat.vectors, hnsw.vectors)


def test_auto_is_exact_for_small_corpora_and_hnsw_from_the_size_set(tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    build(fixture_docs(), tmp_path / "small", embedder)  # the default: auto
    small = load(tmp_path / "small", embedder)
    assert small.manifest["ann"]["kind"] == "flat" and "Flat" in type(small.dense).__name__
    chunks = len(small.chunks)
    big = BuildSettings(ann="auto", hnsw_from=chunks)  # as if this corpus were large
    build(fixture_docs(), tmp_path / "big", embedder, big)
    large = load(tmp_path / "big", embedder)
    assert large.manifest["ann"]["kind"] == "hnsw" and "HNSW" in type(large.dense).__name__
    # the recorded kind is what a rebuild compares: the same input publishes nothing
    assert not build(fixture_docs(), tmp_path / "big", embedder, big).published
    with pytest.raises(BuildError, match="unknown ann"):
        build(fixture_docs(), tmp_path / "bad", embedder, BuildSettings(ann="ivf"))


def test_rebuild_splits_only_changed_documents_into_sentences(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import index.build as build_module

    build(fixture_docs(), tmp_path, FakeEmbedder())
    split: list[str] = []
    real = build_module.chunk_document

    def counting(doc: Document, settings: object = None) -> list:  # type: ignore[type-arg]
        split.append(doc.source_id)
        return real(doc, settings)  # type: ignore[arg-type]

    monkeypatch.setattr(build_module, "chunk_document", counting)
    build(
        fixture_docs(**{"clinic-ad": "A new clinic page. Injections here."}),
        tmp_path,
        FakeEmbedder(),
    )
    assert split == ["clinic-ad"]
    version = load(tmp_path, FakeEmbedder())
    assert {c.source_id for c in version.chunks} == set(version.documents)


def test_hnsw_search_depth_survives_save_and_load(tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    build(fixture_docs(), tmp_path, embedder, BuildSettings(ann="hnsw", hnsw_ef_search=48))
    assert load(tmp_path, embedder).dense.hnsw.efSearch == 48
