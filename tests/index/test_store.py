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


def test_publish_syncs_the_parent_directories_after_each_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    events: list[tuple[str, str]] = []
    real_fsync, real_rename, real_replace = os.fsync, os.rename, os.replace

    def fsync(fd: int) -> None:
        path = os.readlink(f"/proc/self/fd/{fd}")
        if os.path.isdir(path):
            events.append(("fsync-dir", path))
        real_fsync(fd)

    def rename(src: str | Path, dst: str | Path) -> None:
        real_rename(src, dst)
        events.append(("rename", str(dst)))

    def replace(src: str | Path, dst: str | Path) -> None:
        real_replace(src, dst)
        events.append(("rename", str(dst)))

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(os, "replace", replace)
    name = build(fixture_docs(), tmp_path, FakeEmbedder()).version
    monkeypatch.undo()

    index_dir, versions = str(tmp_path.resolve()), str((tmp_path / "versions").resolve())
    moved = events.index(("rename", str(tmp_path / "versions" / str(name))))
    switched = events.index(("rename", str(tmp_path / "CURRENT")))
    after_move, after_switch = events[moved + 1 : switched], events[switched + 1 :]
    assert ("fsync-dir", versions) in after_move  # the version's new name
    assert ("fsync-dir", index_dir) in after_move  # the staging name gone
    assert ("fsync-dir", index_dir) in after_switch  # the new CURRENT
    staged = [path for kind, path in events[:moved] if kind == "fsync-dir"]
    assert any(Path(path).name.startswith(".staging-") for path in staged)


def test_version_lines_json_wrote_are_read_back_even_where_orjson_refuses() -> None:
    assert store._loads('{"text": "Stem cells"}') == {"text": "Stem cells"}
    assert store._loads('"a\\ud800b"') == "a\ud800b"  # a lone surrogate escape
    with pytest.raises(ValueError):
        store._loads('{"text": ')
