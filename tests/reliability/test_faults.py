"""Faults during builds and publishing: kill -9, disk full, a corrupted new version.

After each fault the previous version must still load and serve, and the next build must succeed.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.settings import Settings
from index import store
from index.build import BuildError, BuildReport, BuildSettings, build
from tests.conftest import ROOT, FakeEmbedder
from tests.index.test_build import fixture_docs
from web.app import create_app

EXTRA = {
    f"extra-{i}": f"Extra bulletin {i}. Stem cell injections were audited in clinic {i}."
    for i in range(8)
}
QUESTION = "Were stem cells infused into the lungs of patients with fibrosis?"

# A build in a child process that stops at a chosen point (writes `signal_file`, then sleeps)
# so the test can SIGKILL it exactly there.
CHILD = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from index import store
    from index.build import BuildSettings, build
    from tests.conftest import FakeEmbedder
    from tests.index.test_build import fixture_docs
    from tests.reliability.test_faults import EXTRA

    index_dir, point, signal_file = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])

    def hold():
        signal_file.write_text(point)
        time.sleep(300)

    class Embedder(FakeEmbedder):
        def encode(self, texts, batch_size=32, progress=None):
            if point == "embedding" and len(self.encoded) >= 4:
                hold()  # two blocks of two were embedded and committed to the cache
            return super().encode(texts, batch_size, progress)

        def encode_spans(self, texts, spans, batch_size=32):  # chunks in late-chunking builds
            if point == "embedding" and len(self.encoded) >= 4:
                hold()
            return super().encode_spans(texts, spans, batch_size)

    if point == "write":  # staging half written: documents, chunks and dense.faiss only
        write_index = store.faiss.write_index
        def stalled_write(*args):
            write_index(*args)
            hold()
        store.faiss.write_index = stalled_write
    if point == "publish":  # staging complete, nothing published yet
        def stalled_publish(*args):
            hold()
        store.publish = stalled_publish
    if point == "switch":  # version folder renamed into versions/, CURRENT not yet switched
        real_replace = os.replace
        def stalled_replace(src, dst, *args, **kwargs):
            if Path(dst).name == "CURRENT":
                hold()
            return real_replace(src, dst, *args, **kwargs)
        store.os.replace = stalled_replace
    build(fixture_docs(**EXTRA), index_dir, Embedder(), BuildSettings(block=2))
    print("finished without being killed")
    """
)


def _serves(index_dir: Path, expected: str) -> None:
    """An app over `index_dir` starts and answers from version `expected`."""
    with TestClient(
        create_app(Settings(index_dir=index_dir, rate_limit=0), embedder=FakeEmbedder())
    ) as client:
        assert client.get("/readyz").json()["index_version"] == expected
        body = client.post("/ask", json={"question": QUESTION}).json()
        assert body["index_version"] == expected
        assert any(s["source_id"] == "lung-charity" for s in body["answer"])


def _next_build_succeeds(index_dir: Path, old: str) -> BuildReport:
    embedder = FakeEmbedder()
    report = build(fixture_docs(**EXTRA), index_dir, embedder, BuildSettings(block=2))
    assert report.published and report.version != old
    assert store.current_name(index_dir) == report.version
    version = store.load(index_dir, embedder.model_id, embedder.dim)
    assert set(EXTRA) <= set(version.documents)
    assert not list(index_dir.glob(".staging-*"))  # leftovers of the killed build are gone
    _serves(index_dir, str(report.version))
    return report


@pytest.mark.parametrize("point", ["embedding", "write", "publish", "switch"])
def test_kill_9_during_a_build_keeps_the_old_version_and_the_next_build_succeeds(
    tmp_path: Path, point: str
) -> None:
    index_dir = tmp_path / "index"
    old = build(fixture_docs(), index_dir, FakeEmbedder()).version
    assert old is not None
    signal_file = tmp_path / "reached"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(index_dir), point, str(signal_file)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while not signal_file.exists():
            assert child.poll() is None, child.stdout.read().decode()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, f"build never reached {point}"
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()  # type: ignore[union-attr]

    if point == "write":
        staged = list(index_dir.glob(".staging-*"))
        assert staged and not (staged[0] / "manifest.json").exists()  # killed mid-write
    if point == "switch":
        assert len(list((index_dir / "versions").iterdir())) == 2  # orphan, never published
    assert store.current_name(index_dir) == old
    assert store.load(index_dir, FakeEmbedder.model_id, FakeEmbedder.dim).name == old
    _serves(index_dir, old)

    report = _next_build_succeeds(index_dir, old)
    new_chunks = len(EXTRA)
    if point == "embedding":
        assert report.embedded == new_chunks - 4  # the committed blocks were reused
    else:
        assert report.embedded == 0  # everything was embedded and cached before the kill


def _disk_full(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _fill_after(limit: int, only: str | None = None) -> Callable[..., object]:
    """A `Path.open` replacement: files written (named `only`) take `limit` chars, then ENOSPC."""
    real_open = Path.open

    def opened(self: Path, mode: str = "r", *args: object, **kwargs: object) -> object:
        handle = real_open(self, mode, *args, **kwargs)  # type: ignore[arg-type]
        if "w" not in mode or (only is not None and self.name != only):
            return handle
        write = handle.write
        written = [0]

        def limited(data):  # type: ignore[no-untyped-def]
            if written[0] + len(data) > limit:
                write(data[: max(0, limit - written[0])])
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            written[0] += len(data)
            return write(data)

        handle.write = limited
        return handle

    return opened


@pytest.mark.parametrize(
    ("target", "replacement"),
    [
        ("index.store.np.save", _disk_full),  # vectors of the staged version
        ("pathlib.Path.open", _fill_after(200)),  # documents.jsonl fills the disk part-way
        ("pathlib.Path.open", _fill_after(0, only=".CURRENT.tmp")),  # the new CURRENT pointer
    ],
    ids=["vectors", "documents-part-way", "current-pointer"],
)
def test_disk_full_fails_clearly_and_keeps_the_old_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str, replacement: object
) -> None:
    old = build(fixture_docs(), tmp_path, FakeEmbedder()).version
    with monkeypatch.context() as patched:
        patched.setattr(target, replacement)
        with pytest.raises(BuildError) as caught:
            build(fixture_docs(**EXTRA), tmp_path, FakeEmbedder())
    message = str(caught.value)
    assert "No space left on device" in message and str(old) in message
    assert not list(tmp_path.glob(".staging-*"))  # the half-written version is removed
    assert store.current_name(tmp_path) == old
    assert store.load(tmp_path, FakeEmbedder.model_id, FakeEmbedder.dim).name == old
    _serves(tmp_path, str(old))
    assert build(fixture_docs(**EXTRA), tmp_path, FakeEmbedder()).published


def test_disk_full_is_one_clear_line_from_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from assistant import cli

    docs = tmp_path / "docs.jsonl"
    docs.write_text('{"id": "a", "title": "A", "text": "Stem cells were tested. It went well."}\n')
    index_dir = tmp_path / "index"
    monkeypatch.setattr(cli, "_embedder", FakeEmbedder)
    assert cli.main(["build", "--no-sources", "--docs", str(docs), "--index", str(index_dir)]) == 0
    old = store.current_name(index_dir)
    docs.write_text('{"id": "a", "title": "A", "text": "Stem cells were tested twice. Fine."}\n')
    capsys.readouterr()
    monkeypatch.setattr("index.store.np.save", _disk_full)
    code = cli.main(["build", "--no-sources", "--docs", str(docs), "--index", str(index_dir)])
    err = capsys.readouterr().err
    assert code == 2
    assert "error:" in err and "No space left on device" in err and "Traceback" not in err
    assert store.current_name(index_dir) == old


def _publish_damaged(index_dir: Path, tmp_path: Path, damage: Callable[[Path], None]) -> str:
    """Build a new version beside the served one, damage a file, then publish it atomically."""
    shadow = tmp_path / "shadow"
    shutil.copytree(index_dir, shadow)
    changed = {"clinic-ad": "A changed clinic page. Injections for knees."}
    name = str(build(fixture_docs(**changed), shadow, FakeEmbedder()).version)
    damage(shadow / "versions" / name)
    shutil.copytree(shadow / "versions" / name, index_dir / "versions" / name)
    (index_dir / ".CURRENT.tmp").write_text(name + "\n")
    os.replace(index_dir / ".CURRENT.tmp", index_dir / "CURRENT")
    return name


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda v: _truncate(v / "chunks.jsonl"), "chunks.jsonl is truncated"),
        (lambda v: _flip(v / "dense.faiss"), "dense.faiss is corrupted (checksum)"),
        (lambda v: (v / "vectors.npy").unlink(), "vectors.npy is missing"),
        (lambda v: _truncate(v / "manifest.json"), "manifest.json is corrupted"),
    ],
    ids=["truncated", "flipped-byte", "missing-file", "truncated-manifest"],
)
def test_server_keeps_serving_the_old_version_when_the_new_one_is_damaged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: Callable[[Path], None], why: str
) -> None:
    index_dir = tmp_path / "index"
    old = str(build(fixture_docs(), index_dir, FakeEmbedder()).version)
    settings = Settings(index_dir=index_dir, rate_limit=0, reload_interval=0.05)
    with (
        TestClient(create_app(settings, embedder=FakeEmbedder())) as client,
        caplog.at_level(logging.INFO, logger="stemcell_qa.index"),
    ):
        bad = _publish_damaged(index_dir, tmp_path, damage)
        deadline = time.monotonic() + 10
        while "keeping index version" not in caplog.text:
            assert time.monotonic() < deadline, "the bad version was never noticed"
            time.sleep(0.05)
        assert f"keeping index version {old}" in caplog.text and why in caplog.text
        assert bad in caplog.text
        assert client.get("/readyz").json()["index_version"] == old
        body = client.post("/ask", json={"question": QUESTION})
        assert body.status_code == 200 and body.json()["index_version"] == old
        # a good version published afterwards is picked up
        good = str(
            build(fixture_docs(**{"clinic-ad": "Fixed page."}), index_dir, FakeEmbedder()).version
        )
        while client.get("/readyz").json()["index_version"] != good:
            assert time.monotonic() < deadline + 10, "the good version was never picked up"
            time.sleep(0.05)
