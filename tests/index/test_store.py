"""Loading validates the published version and names what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from index import store
from index.build import build
from index.live import LiveIndex
from tests.conftest import FakeEmbedder
from tests.index.test_build import fixture_docs


@pytest.fixture
def built(tmp_path: Path) -> Path:
    build(fixture_docs(), tmp_path, FakeEmbedder())
    return tmp_path


def _current(index_dir: Path) -> Path:
    return index_dir / "versions" / str(store.current_name(index_dir))


def _load(index_dir: Path) -> store.IndexVersion:
    return store.load(index_dir, FakeEmbedder.model_id, FakeEmbedder.dim)


def test_missing_or_empty_index_dir_says_to_build(tmp_path: Path) -> None:
    with pytest.raises(store.IndexLoadError, match=r"does not exist.*stemcell-qa build"):
        _load(tmp_path / "nowhere")
    with pytest.raises(store.IndexLoadError, match="no published version"):
        _load(tmp_path)


def test_index_from_another_model_is_refused(built: Path) -> None:
    with pytest.raises(store.IndexLoadError, match="built with model fake-hash-64"):
        store.load(built, "other-model", 384)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.joinpath("chunks.jsonl").write_text("{}"), "truncated or changed"),
        (lambda p: p.joinpath("dense.faiss").unlink(), "dense.faiss is missing"),
        (lambda p: p.joinpath("manifest.json").write_text("{not json"), "corrupted"),
    ],
)
def test_damaged_version_is_detected_on_load(built: Path, damage, message: str) -> None:  # type: ignore[no-untyped-def]
    damage(_current(built))
    with pytest.raises(store.IndexLoadError, match=message):
        _load(built)


def test_flipped_byte_is_caught_by_checksum(built: Path) -> None:
    path = _current(built) / "documents.jsonl"
    data = bytearray(path.read_bytes())
    data[10] = ord("X") if data[10] != ord("X") else ord("Y")
    path.write_bytes(bytes(data))
    with pytest.raises(store.IndexLoadError, match=r"documents\.jsonl is corrupted"):
        _load(built)


def test_live_index_switches_to_new_version_and_keeps_old_on_a_bad_one(built: Path) -> None:
    live = LiveIndex(built, FakeEmbedder.model_id, FakeEmbedder.dim)
    assert live.refresh()
    first = live.current()
    assert first is not None
    build(
        fixture_docs(**{"clinic-ad": "A changed clinic page. Injections."}), built, FakeEmbedder()
    )
    assert live.refresh()
    second = live.current()
    assert second is not None and second.name != first.name
    assert (
        "clinic-ad" in second.documents and "changed clinic" in second.documents["clinic-ad"].text
    )
    build(fixture_docs(**{"clinic-ad": "Third version. Injections."}), built, FakeEmbedder())
    (_current(built) / "vectors.npy").write_bytes(b"broken")
    assert not live.refresh()
    assert live.current() is second and "vectors.npy" in str(live.last_error)
