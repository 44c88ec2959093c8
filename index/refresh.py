"""Rebuilds without a person: beside a running server, re-fetch the sources on a schedule and
rebuild when local documents change. A rebuild publishes only when something changed (the
server's `LiveIndex` then swaps the new version in); a failure is logged and the served
version stays. Nothing here ever raises into the server."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from corpus.collect import collect
from corpus.fetch import FetchOutcome, FetchSettings, fetch_all
from corpus.local import SUFFIXES
from corpus.snapshots import SnapshotStore
from corpus.sources import ManifestError, Source, load_manifest
from index import store
from index.build import BuildReport, BuildSettings, build
from index.embed import Embedder
from index.threads import lower_priority

log = logging.getLogger("stemcell_qa.refresh")
_WATCH_TICK_MS = 250  # the watcher wakes this often when idle (to tell it is live, to stop)
_WATCH_START = 10.0  # seconds the start-up build waits for the watcher at most
_SETTLE_MAX = 10.0  # seconds a stream of changes may postpone a rebuild at most
# seconds between tries while another build (a person's `build` or `refresh`) holds the lock:
# a rebuild it kept from running is run when it ends, not dropped. Chosen, not fitted.
_LOCKED_RETRY = 2.0


@dataclass(frozen=True)
class RefreshPlan:
    """What the background job builds (manifest snapshots and local files) and when."""

    index_dir: Path
    sources: tuple[Source, ...] = ()
    data_dir: Path | None = None  # snapshot folder; None: the manifest is not used
    # the manifest file, read again before every rebuild (a fix made while the server runs
    # holds, and a broken one fails the rebuild, not the served version); None: `sources`
    manifest: Path | None = None
    docs: tuple[Path, ...] = ()
    every: float | None = None  # seconds between re-fetch + rebuild; None: never
    watch: bool = False  # rebuild when a file under `docs` changes
    fetch: FetchSettings = field(default_factory=FetchSettings)
    build: BuildSettings = field(default_factory=BuildSettings)
    # an editor saves in bursts (temp file, rename, metadata): wait for this much quiet
    debounce: float = 0.4
    nice: int = 0  # CPU priority drop of the rebuild thread (and the threads it starts)


def _report_fetch(number: int, total: int, outcome: FetchOutcome) -> None:
    if outcome.status in ("fetched", "not-modified"):
        via = f" via {outcome.route}" if outcome.route else ""
        log.info("refresh: [%d/%d] %s: %s%s", number, total, outcome.source_id, outcome.status, via)
    else:
        kept = "previous snapshot kept" if outcome.has_snapshot else "no snapshot"
        log.warning(
            "refresh: [%d/%d] %s: %s (%s; %s)",
            number,
            total,
            outcome.source_id,
            outcome.status,
            outcome.reason,
            kept,
        )


def _log_report(why: str, report: BuildReport, took: float) -> None:
    if not report.published:
        log.info("refresh (%s): nothing changed; serving version %s", why, report.version)
        return
    log.info(
        "refresh (%s): published version %s in %.1fs (%d documents, %d chunks: "
        "%d embedded, %d reused)",
        *(why, report.version, took, report.documents, report.chunks),
        *(report.embedded, report.reused),
    )


def _names(paths: list[Path]) -> str:
    return ", ".join(map(str, paths))


def _sources(plan: RefreshPlan) -> list[Source]:
    """The plan's sources: its manifest as it reads now, else the ones it was given."""
    return list(plan.sources) if plan.manifest is None else load_manifest(plan.manifest)


def _unfetched(plan: RefreshPlan) -> bool:
    """Does a source of the manifest have no snapshot yet?"""
    if plan.data_dir is None:
        return False
    try:
        sources = _sources(plan)
    except ManifestError:
        return False  # the rebuild reports it
    snapshots = SnapshotStore(plan.data_dir)
    return any(snapshots.read(source.id) is None for source in sources)


def rebuild(plan: RefreshPlan, embedder: Embedder, fetch: bool) -> BuildReport:
    """Read the manifest again, fetch the sources (when asked), gather every document and
    build; publishes only when something changed. Raises what `load_manifest`, `collect` and
    `build` raise."""
    sources = _sources(plan)
    snapshots = SnapshotStore(plan.data_dir) if plan.data_dir is not None else None
    if fetch and snapshots is not None and sources:
        log.info("refresh: fetching %d sources", len(sources))
        fetch_all(sources, snapshots, plan.fetch, _report_fetch)
    documents = collect(sources, snapshots, list(plan.docs), log.warning)
    return build(documents, plan.index_dir, embedder, plan.build)


class Refresher:
    """Runs `rebuild` in a background thread: once at start, every `plan.every` seconds (with
    a fetch) and after local files change (`plan.watch`). One rebuild at a time."""

    def __init__(
        self,
        plan: RefreshPlan,
        embedder: Embedder,
        export: Callable[[Path], object] | None = None,
    ) -> None:
        self.plan = plan
        self.embedder = embedder
        # makes the ONNX query encoders (index/onnx.py) after a build when there are none, as
        # `stemcell-qa build` does: servers started later answer with them, not torch
        self.export = export
        self.runs = 0  # completed rebuild attempts, failed ones included
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._changed = threading.Event()
        self._locked_out: bool = False  # the last rebuild found another build running
        self._watching = threading.Event()
        self._threads: list[threading.Thread] = []

    def run_once(self, fetch: bool, why: str) -> BuildReport | None:
        """One rebuild; logs the outcome and returns the report, or None when it failed."""
        began = time.monotonic()
        log.info("refresh (%s): %s", why, "fetching and rebuilding" if fetch else "rebuilding")
        report: BuildReport | None = None
        self._locked_out = False
        try:
            report = rebuild(self.plan, self.embedder, fetch)
        except store.BuildLockedError as exc:
            # a person's build or refresh is running: try again when it ends (`_work`)
            self._locked_out = True
            log.info("refresh (%s): %s; trying again when it ends", why, exc)
        except Exception as exc:  # the server must outlive any failure here
            served = store.current_name(self.plan.index_dir) or "(none)"
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.error("refresh (%s) failed: %s; still serving version %s", why, exc, served)
            try:  # for /readyz; the next build that succeeds removes it (index/build.py)
                store.record_rebuild_error(self.plan.index_dir, self.last_error)
            except OSError as record:
                log.warning("refresh: could not record the failure for /readyz: %s", record)
        else:
            self.last_error = None
            _log_report(why, report, time.monotonic() - began)
            self._export()
        self.runs += 1
        return report

    def _export(self) -> None:
        from index.onnx import KINDS, encoder_path

        index_dir = self.plan.index_dir
        if self.export is None or all(encoder_path(index_dir, k).exists() for k in KINDS):
            return
        try:
            made = self.export(index_dir)
        except Exception:  # a server outlives a failed export: it keeps answering with torch
            log.exception("refresh: exporting the ONNX query encoder failed")
            return
        if made:
            log.info(
                "refresh: exported the ONNX query encoder to %s; this server keeps its "
                "encoder, a restarted one answers with the export",
                index_dir / "encoders",
            )

    def _work(self) -> None:
        lower_priority(self.plan.nice, thread_only=True)  # requests come first
        if self.plan.watch:  # build after the watcher is live, so no edit falls in between
            self._watching.wait(_WATCH_START)
        # a source never fetched (a fresh install) is fetched now, not at the first scheduled
        # refresh a day later: until then there was nothing to serve
        self.run_once(fetch=_unfetched(self.plan), why="start")
        every = self.plan.every
        next_fetch = time.monotonic() + every if every else None
        while not self._stop.is_set():
            timeout = None if next_fetch is None else max(0.0, next_fetch - time.monotonic())
            if self._locked_out:
                timeout = _LOCKED_RETRY if timeout is None else min(timeout, _LOCKED_RETRY)
            self._changed.wait(timeout)
            if self._stop.is_set():
                break
            if self._changed.is_set():
                self._settle()
                self.run_once(fetch=False, why="local files changed")
            elif self._locked_out:
                self.run_once(fetch=False, why="after another build")
            if every and next_fetch is not None and time.monotonic() >= next_fetch:
                self.run_once(fetch=True, why="scheduled")
                next_fetch = time.monotonic() + every

    def _settle(self) -> None:
        """Wait until the files have been quiet for `plan.debounce` (a save is several events),
        but not forever when something keeps writing."""
        deadline = time.monotonic() + _SETTLE_MAX
        while self._changed.is_set() and not self._stop.is_set() and time.monotonic() < deadline:
            self._changed.clear()
            self._changed.wait(self.plan.debounce)

    def _relevant(self, change: object, path: str) -> bool:
        changed = Path(path)
        if changed.suffix.lower() not in SUFFIXES:
            return False
        for skip in (self.plan.index_dir, self.plan.data_dir):
            if skip is not None and changed.is_relative_to(skip.resolve()):
                return False
        return any(changed == d or changed.is_relative_to(d) for d in self._watched())

    def _watched(self) -> list[Path]:
        return [d.resolve() for d in self.plan.docs]

    def _watch(self) -> None:
        """Watch the --docs folders (a file through its folder: editors replace files by
        renaming over them). A folder removed and made again (a checkout, a restore from
        backup) is watched again once it is back, and rebuilt: the watch of the old folder
        heard nothing more, and later edits were never served."""
        roots = sorted({d if d.is_dir() else d.parent for d in self._watched()})
        while not self._stop.is_set():
            if all(root.is_dir() for root in roots):
                self._watch_until_replaced(roots)
            self._watching.set()  # the start-up build does not wait for a missing folder
            if self._stop.wait(_WATCH_TICK_MS / 1000):  # (a failing watch does not spin)
                break
            if not all(root.is_dir() for root in roots):
                log.warning("refresh: %s removed; watching again once it is back", _names(roots))
                while not self._stop.is_set() and not all(root.is_dir() for root in roots):
                    self._stop.wait(_WATCH_TICK_MS / 1000)
            if not self._stop.is_set():
                log.info("refresh: watching %s again", _names(roots))
                self._changed.set()  # what it holds now may differ from what was built

    def _watch_until_replaced(self, roots: list[Path]) -> None:
        from watchfiles import watch

        def inodes() -> list[int | None]:
            return [root.stat().st_ino if root.is_dir() else None for root in roots]

        watched = inodes()
        try:
            for changes in watch(
                *roots,
                watch_filter=self._relevant,
                debounce=int(self.plan.debounce * 1000),
                stop_event=self._stop,
                raise_interrupt=False,
                yield_on_timeout=True,  # the first (empty) yield says the watch is live
                rust_timeout=_WATCH_TICK_MS,
            ):
                self._watching.set()
                if changes:
                    path = min(changes)[1]
                    log.info("refresh: %d local file change(s), e.g. %s", len(changes), path)
                    self._changed.set()
                if inodes() != watched:
                    self._changed.set()  # the removal itself, when the watch missed it
                    return
        except Exception as exc:  # e.g. a folder removed under the watch: keep serving
            log.error("refresh: stopped watching %s: %s", _names(roots), exc)
            self._changed.set()

    def start(self) -> None:
        """Start the background threads (daemons: they never keep the process alive)."""
        self._threads = [threading.Thread(target=self._work, name="refresh", daemon=True)]
        if self.plan.watch and self.plan.docs:
            self._threads.append(threading.Thread(target=self._watch, name="watch", daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop; a rebuild in progress is left to finish or be abandoned (it publishes whole
        or not at all)."""
        self._stop.set()
        self._changed.set()
        for thread in self._threads:
            thread.join(timeout)
