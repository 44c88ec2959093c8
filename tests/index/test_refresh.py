"""Background rebuilds: scheduled re-fetches with conditional requests, rebuilds on local file
changes, failures that keep the served version (fake embedder: plumbing only)."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from corpus.fetch import FetchSettings
from corpus.sources import ManifestError, Source
from index import store
from index.refresh import Refresher, RefreshPlan, rebuild
from tests.conftest import FakeEmbedder, wait_for

PAGE = "<html><body><article><h1>Trial news</h1><p>{}</p></article></body></html>"


class Site:
    """A local news page with an ETag; `conditional` counts requests answered 304."""

    def __init__(self) -> None:
        self.text = "The first patients were treated safely."
        self.requests = 0
        self.conditional = 0
        self.url = ""

    @property
    def etag(self) -> str:
        return f'"{abs(hash(self.text))}"'


@pytest.fixture
def site() -> Iterator[Site]:
    page = Site()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            page.requests += 1
            if self.headers.get("If-None-Match") == page.etag:
                page.conditional += 1
                self.send_response(304)
                self.end_headers()
                return
            body = PAGE.format(page.text).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("ETag", page.etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    page.url = f"http://127.0.0.1:{server.server_address[1]}/news"
    yield page
    server.shutdown()
    server.server_close()


def _versions(index_dir: Path) -> list[str]:
    return sorted(p.name for p in (index_dir / "versions").iterdir())


@pytest.fixture
def refreshers() -> Iterator[list[Refresher]]:
    started: list[Refresher] = []
    yield started
    for refresher in started:
        refresher.stop()


def _news_plan(site: Site, tmp_path: Path, every: float) -> RefreshPlan:
    """Re-fetch the local news page every `every` seconds."""
    return RefreshPlan(
        index_dir=tmp_path / "index",
        sources=(Source(id="news", url=site.url, kind="institution-news"),),
        data_dir=tmp_path / "data",
        every=every,
        fetch=FetchSettings(timeout=2, retries=0, allow_private=True),
    )


def test_scheduled_refresh_publishes_only_when_a_source_changed(
    site: Site, tmp_path: Path, refreshers: list[Refresher]
) -> None:
    plan = _news_plan(site, tmp_path, every=0.3)
    embedder = FakeEmbedder()
    first = rebuild(plan, embedder, fetch=True)
    assert first.published and site.requests == 1
    encoded = list(embedder.encoded)
    refresher = Refresher(plan, embedder)
    refreshers.append(refresher)
    refresher.start()
    wait_for(lambda: refresher.runs >= 3)  # the start-up build and two scheduled refreshes
    assert site.conditional >= 2  # unchanged: the page answered 304 Not Modified
    assert store.current_name(plan.index_dir) == first.version
    assert _versions(plan.index_dir) == [first.version]  # nothing was published
    assert embedder.encoded == encoded  # and nothing was embedded again

    site.text = "The trial was paused after a serious side effect."
    wait_for(lambda: store.current_name(plan.index_dir) != first.version)
    version = store.load(plan.index_dir, embedder.model_id, embedder.dim)
    assert "paused after a serious side effect" in version.documents["news"].text
    assert refresher.last_error is None


def test_a_fresh_install_fetches_its_sources_at_start(
    site: Site, tmp_path: Path, refreshers: list[Refresher]
) -> None:
    # it built from snapshots it did not have ("no documents to index") and would fetch only
    # at the first scheduled refresh; the failure could not even be recorded for /readyz
    plan = _news_plan(site, tmp_path, every=3600)
    refresher = Refresher(plan, FakeEmbedder())
    refreshers.append(refresher)
    refresher.start()
    wait_for(lambda: refresher.runs >= 1)
    assert refresher.last_error is None and site.requests == 1
    assert store.current_name(plan.index_dir) is not None
    # once fetched, a restart builds from the snapshot without asking again
    again = Refresher(plan, FakeEmbedder())
    refreshers.append(again)
    again.start()
    wait_for(lambda: again.runs >= 1)
    assert site.requests == 1


def test_a_first_build_that_fails_is_recorded_for_readyz(tmp_path: Path) -> None:
    plan = RefreshPlan(index_dir=tmp_path / "new" / "index", docs=(tmp_path / "missing",))
    refresher = Refresher(plan, FakeEmbedder())
    assert refresher.run_once(fetch=False, why="test") is None
    assert "no such file or folder" in str(store.rebuild_error(plan.index_dir))


def test_each_rebuild_reads_the_manifest_again(site: Site, tmp_path: Path) -> None:
    # a server read it once at start: a kind fixed by hand while it ran (and published by a
    # manual refresh) was put back by the next scheduled refresh
    manifest = tmp_path / "sources.toml"
    entry = '[[source]]\nid = "news"\nurl = "{}"\nkind = "{}"\n'
    manifest.write_text(entry.format(site.url, "charity"), encoding="utf-8")
    plan = RefreshPlan(
        index_dir=tmp_path / "index",
        manifest=manifest,
        data_dir=tmp_path / "data",
        fetch=FetchSettings(timeout=2, retries=0, allow_private=True),
    )
    embedder = FakeEmbedder()
    rebuild(plan, embedder, fetch=True)
    manifest.write_text(entry.format(site.url, "clinic-marketing"), encoding="utf-8")
    assert rebuild(plan, embedder, fetch=True).published
    version = store.load(plan.index_dir, embedder.model_id, embedder.dim)
    assert version.documents["news"].kind == "clinic-marketing"
    # a manifest broken meanwhile fails the rebuild and names the file
    manifest.write_text("[[source]\n", encoding="utf-8")
    with pytest.raises(ManifestError, match=r"sources\.toml"):
        rebuild(plan, embedder, fetch=True)


def test_a_changed_local_file_is_rebuilt_without_a_person(
    tmp_path: Path, refreshers: list[Refresher]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "note.md").write_text("# Clinic note\nThe clinic offers knee injections.\n")
    plan = RefreshPlan(index_dir=tmp_path / "index", docs=(docs,), watch=True, debounce=0.1)
    embedder = FakeEmbedder()
    refresher = Refresher(plan, embedder)
    refreshers.append(refresher)
    refresher.start()
    wait_for(lambda: store.current_name(plan.index_dir) is not None)
    first = store.current_name(plan.index_dir)
    time.sleep(0.3)  # let the watcher settle on the folder
    (docs / "note.md").write_text("# Clinic note\nA patient developed a tumour after injections.\n")
    took = wait_for(lambda: store.current_name(plan.index_dir) != first)
    assert took < 5
    version = store.load(plan.index_dir, embedder.model_id, embedder.dim)
    assert "developed a tumour" in version.documents["note"].text
    time.sleep(0.6)  # any trailing event of that save has been handled
    runs = refresher.runs
    (docs / "ignored.tmp").write_text("not a document type")
    time.sleep(0.6)
    assert refresher.runs == runs  # files that are not documents do not trigger a rebuild


def test_a_failed_rebuild_keeps_the_served_version_and_the_job_alive(
    tmp_path: Path, refreshers: list[Refresher], caplog: pytest.LogCaptureFixture
) -> None:
    first = '{"id": "a", "text": "Stem cells were safe in mice."}\n'
    docs, plan, refresher = _watching_a_note(tmp_path, refreshers, "a.jsonl", first)
    served = store.current_name(plan.index_dir)
    assert served is not None
    time.sleep(0.3)
    (docs / "a.jsonl").write_text('{"id": "a", "text": \n')  # a malformed line
    wait_for(lambda: refresher.runs >= 2)
    assert refresher.last_error is not None and "a.jsonl:1: not valid JSON" in refresher.last_error
    assert store.current_name(plan.index_dir) == served
    # beside CURRENT, for /readyz in every server process
    assert "not valid JSON" in str(store.rebuild_error(plan.index_dir))
    assert any(
        "failed" in r.message and f"still serving version {served}" in r.message
        for r in caplog.records
    )
    (docs / "a.jsonl").write_text('{"id": "a", "text": "Stem cells were safe in rats."}\n')
    wait_for(  # the job lives on
        lambda: refresher.last_error is None and store.current_name(plan.index_dir) != served
    )
    wait_for(lambda: store.rebuild_error(plan.index_dir) is None)


def test_a_change_made_while_another_build_runs_is_rebuilt_when_it_ends(
    tmp_path: Path, refreshers: list[Refresher]
) -> None:
    # "another build is running" dropped the rebuild: the edit was never served
    docs, plan, refresher = _watching_a_note(tmp_path, refreshers)
    first = store.current_name(plan.index_dir)
    with store.build_lock(plan.index_dir):  # a person's build
        time.sleep(0.3)
        (docs / "note.md").write_text("# Note\nThe trial was paused after a side effect.\n")
        wait_for(lambda: refresher.runs >= 2)
        assert store.current_name(plan.index_dir) == first and refresher.last_error is None
    wait_for(lambda: store.current_name(plan.index_dir) != first)
    assert "paused after a side effect" in _served_note(plan)


def test_a_watched_folder_removed_and_made_again_is_watched_again(
    tmp_path: Path, refreshers: list[Refresher]
) -> None:
    # the watch of the removed folder heard nothing more: later edits were never served
    docs, plan, refresher = _watching_a_note(tmp_path, refreshers)
    first = store.current_name(plan.index_dir)
    time.sleep(0.3)
    shutil.rmtree(docs)
    wait_for(lambda: refresher.last_error is not None)  # nothing to build from: old one stays
    assert store.current_name(plan.index_dir) == first
    docs.mkdir()
    (docs / "note.md").write_text("# Note\nRestored from a backup.\n")
    wait_for(lambda: store.current_name(plan.index_dir) != first)
    time.sleep(0.3)
    second = store.current_name(plan.index_dir)
    (docs / "note.md").write_text("# Note\nEdited after the restore.\n")
    wait_for(lambda: store.current_name(plan.index_dir) != second)
    assert "Edited after the restore" in _served_note(plan)
    assert refresher.last_error is None


def _watching_a_note(
    tmp_path: Path,
    refreshers: list[Refresher],
    name: str = "note.md",
    text: str = "# Note\nThe first patients were treated safely.\n",
) -> tuple[Path, RefreshPlan, Refresher]:
    """A docs folder with one document, watched by a started refresher that built once."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / name).write_text(text)
    plan = RefreshPlan(index_dir=tmp_path / "index", docs=(docs,), watch=True, debounce=0.1)
    refresher = Refresher(plan, FakeEmbedder())
    refreshers.append(refresher)
    refresher.start()
    wait_for(lambda: refresher.runs >= 1)
    return docs, plan, refresher


def _served_note(plan: RefreshPlan) -> str:
    version = store.load(plan.index_dir, FakeEmbedder.model_id, FakeEmbedder().dim)
    return version.documents["note"].text


def test_an_embedder_crash_is_logged_not_raised(tmp_path: Path) -> None:
    docs = tmp_path / "note.txt"
    docs.write_text("Stem cells were safe in this small trial.\n")
    plan = RefreshPlan(index_dir=tmp_path / "index", docs=(docs,))
    refresher = Refresher(plan, FakeEmbedder(fail_after=0))
    assert refresher.run_once(fetch=False, why="test") is None
    assert refresher.last_error == "RuntimeError: simulated crash during embedding"
    assert store.current_name(plan.index_dir) is None


def test_a_server_that_builds_its_own_index_also_makes_the_query_encoder(
    tmp_path: Path,
) -> None:
    from index.onnx import KINDS, encoder_path

    docs = tmp_path / "note.txt"
    docs.write_text("Clinic note\nStem cells were safe in mice over two years.")
    plan = RefreshPlan(index_dir=tmp_path / "index", docs=(docs,))
    exported: list[Path] = []

    def export(index_dir: Path) -> Path:  # stands in for index.onnx.export
        exported.append(index_dir)
        for kind in KINDS:
            encoder_path(index_dir, kind).parent.mkdir(parents=True, exist_ok=True)
            encoder_path(index_dir, kind).write_bytes(b"model")
        return encoder_path(index_dir)

    refresher = Refresher(plan, FakeEmbedder(), export)
    assert refresher.run_once(fetch=False, why="start") is not None
    assert exported == [plan.index_dir]  # as `stemcell-qa build` does after its first build
    docs.write_text("Clinic note\nStem cells were safe in rats over two years.")
    assert refresher.run_once(fetch=False, why="local files changed") is not None
    assert exported == [plan.index_dir]  # made once
    failing = Refresher(plan, FakeEmbedder(), lambda _: 1 / 0)  # an export that fails
    for kind in KINDS:
        encoder_path(plan.index_dir, kind).unlink()
    docs.write_text("Clinic note\nStem cells were safe in dogs over two years.")
    assert failing.run_once(fetch=False, why="local files changed") is not None  # logged only
