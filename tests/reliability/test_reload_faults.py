"""Faults met by the server's reload thread: each is logged and shown on /readyz, the old version
keeps serving, and polling goes on, so a good version published afterwards is served."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.settings import Settings
from index import store
from index.build import build
from index.live import LiveIndex
from tests.conftest import FakeEmbedder
from tests.index.test_build import fixture_docs
from tests.reliability.test_faults import QUESTION, _publish_damaged
from web.app import create_app


def _symlink_loop(index_dir: Path, tmp_path: Path) -> None:
    # even root cannot read it (ELOOP), unlike a file without read permission
    (index_dir / "CURRENT").unlink()
    (index_dir / "CURRENT").symlink_to("CURRENT")


def _directory(index_dir: Path, tmp_path: Path) -> None:
    (index_dir / "CURRENT").unlink()
    (index_dir / "CURRENT").mkdir()


def _garbage_bytes(index_dir: Path, tmp_path: Path) -> None:
    (index_dir / "CURRENT").write_bytes(b"\xff\xfe\x00\x9cgarbage\x80")


def _not_a_name(index_dir: Path, tmp_path: Path) -> None:
    (index_dir / "CURRENT").write_text("../../../etc\n")


def _manifest_not_an_object(index_dir: Path, tmp_path: Path) -> None:
    _publish_damaged(index_dir, tmp_path, lambda v: (v / "manifest.json").write_text("[]"))


FAULTS: dict[str, tuple[Callable[[Path, Path], None], str]] = {
    "unreadable": (_symlink_loop, "CURRENT cannot be read"),
    "directory": (_directory, "CURRENT cannot be read (Is a directory)"),
    "garbage-bytes": (_garbage_bytes, "CURRENT cannot be read ('utf-8' codec"),
    "not-a-version-name": (_not_a_name, "CURRENT does not hold a version name"),
    "manifest-not-an-object": (_manifest_not_an_object, "manifest.json is not an index manifest"),
}


def _wait(client: TestClient, done: Callable[[dict[str, object]], bool], what: str) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + 15
    while True:
        ready = client.get("/readyz").json()
        if done(ready):
            return ready  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, f"{what}; last /readyz: {ready}"
        time.sleep(0.05)


def _serving_then_recovering(
    index_dir: Path, old: str, client: TestClient, caplog: pytest.LogCaptureFixture, why: str
) -> None:
    """While the fault lasts: the old version answers and /readyz names the fault; then a good
    version published by a normal build is picked up and the error clears."""
    ready = _wait(client, lambda r: why in str(r["last_reload_error"]), "fault never reported")
    assert ready["index_version"] == old
    assert f"keeping index version {old}" in caplog.text and why in caplog.text
    time.sleep(0.3)  # several more polls meet the same fault ...
    assert caplog.text.count(why) == 1  # ... and it is logged once, not on every poll
    body = client.post("/ask", json={"question": QUESTION})
    assert body.status_code == 200 and body.json()["index_version"] == old
    if (index_dir / "CURRENT").is_dir():
        (index_dir / "CURRENT").rmdir()  # the operator's fix; a build cannot replace a folder
    good = str(
        build(fixture_docs(**{"clinic-ad": "Fixed page."}), index_dir, FakeEmbedder()).version
    )
    ready = _wait(client, lambda r: r["index_version"] == good, "good version never served")
    assert ready["last_reload_error"] is None


@pytest.mark.parametrize("fault", list(FAULTS))
def test_reload_fault_keeps_serving_and_polling(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, fault: str
) -> None:
    damage, why = FAULTS[fault]
    index_dir = tmp_path / "index"
    old = str(build(fixture_docs(), index_dir, FakeEmbedder()).version)
    settings = Settings(index_dir=index_dir, rate_limit=0, reload_interval=0.05)
    with (
        TestClient(create_app(settings, embedder=FakeEmbedder())) as client,
        caplog.at_level(logging.INFO, logger="stemcell_qa.index"),
    ):
        assert client.get("/readyz").json()["last_reload_error"] is None
        damage(index_dir, tmp_path)
        _serving_then_recovering(index_dir, old, client, caplog, why)


def test_unexpected_exception_while_loading_a_version_is_survived(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    index_dir = tmp_path / "index"
    old = str(build(fixture_docs(), index_dir, FakeEmbedder()).version)
    checked_manifest = store._checked_manifest

    def exploding(path: Path, model_id: str, dim: int) -> dict[str, object]:
        if path.name != old:
            raise RuntimeError("simulated bug while reading a manifest")
        return checked_manifest(path, model_id, dim)

    settings = Settings(index_dir=index_dir, rate_limit=0, reload_interval=0.05)
    with (
        TestClient(create_app(settings, embedder=FakeEmbedder())) as client,
        caplog.at_level(logging.INFO, logger="stemcell_qa.index"),
    ):
        monkeypatch.setattr(store, "_checked_manifest", exploding)
        bad = str(
            build(fixture_docs(**{"clinic-ad": "Bad page."}), index_dir, FakeEmbedder()).version
        )
        why = f"index version {bad}: RuntimeError: simulated bug while reading a manifest"
        ready = _wait(client, lambda r: r["last_reload_error"] == why, "fault never reported")
        assert ready["index_version"] == old
        assert "Traceback" in caplog.text  # an unexpected error is logged with where it came from
        monkeypatch.undo()
        _serving_then_recovering(index_dir, old, client, caplog, why)


def test_a_recovered_version_is_never_shown_beside_the_old_error(tmp_path: Path) -> None:
    # /readyz takes the version first and the error second, from a thread other than the poller:
    # the poller must clear the error before it publishes the version (CI met the other order).
    index_dir = tmp_path / "index"
    build(fixture_docs(), index_dir, FakeEmbedder())
    seen: list[str | None] = []

    class Watched(LiveIndex):
        def __setattr__(self, name: str, value: object) -> None:
            if name == "_current" and value is not None:
                seen.append(self.last_error)
            super().__setattr__(name, value)

    live = Watched(index_dir, FakeEmbedder().model_id, FakeEmbedder().dim)
    live.refresh()
    _directory(index_dir, tmp_path)
    live.refresh()
    assert live.last_error and "Is a directory" in live.last_error
    (index_dir / "CURRENT").rmdir()
    build(fixture_docs(**{"clinic-ad": "Fixed page."}), index_dir, FakeEmbedder())
    assert live.refresh()
    assert seen == [None, None]
