"""The published index version a server answers from, swapped in when a new one appears."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from index import store

log = logging.getLogger("stemcell_qa.index")


class LiveIndex:
    """Holds the current `IndexVersion`; a request takes one reference and keeps it throughout,
    so no response mixes versions and requests in flight finish on the version they started on.

    `last_error` is the problem met by the latest reload check (None when it went well).
    """

    def __init__(self, index_dir: Path, model_id: str, dim: int) -> None:
        self.index_dir = index_dir
        self._model = (model_id, dim)
        self._current: store.IndexVersion | None = None
        self.last_error: str | None = None
        self._failed: tuple[str, str] | None = None  # a version that would not load, and why
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def current(self) -> store.IndexVersion | None:
        """The version to answer from (None before any version loaded)."""
        return self._current

    def refresh(self) -> bool:
        """Load the published version if it changed; keep the old one if the new one is bad.

        Any failure (an unreadable `CURRENT`, a damaged version, an unexpected exception while
        loading) is recorded in `last_error` and logged once; a version that failed to load is
        not retried until `CURRENT` names another. Raises `IndexLoadError` only when there is
        no good version at all to serve.
        """
        with self._lock:
            loaded = self._current.name if self._current else None
            pointer = self.index_dir / "CURRENT"
            try:
                name = store.read_pointer(self.index_dir)
            except Exception as exc:
                return self._keep(loaded, _describe(exc, str(pointer)), exc)
            if name is None:
                if loaded is None:
                    raise store.IndexLoadError(
                        f"index directory {self.index_dir} has no published version; "
                        f"run `stemcell-qa build --index {self.index_dir} --docs PATH` first"
                    )
                return self._keep(loaded, f"{pointer} is missing or empty", None)
            if self._failed and name == self._failed[0]:
                return self._keep(loaded, self._failed[1], None)
            if name == loaded:
                self._recovered(f"{pointer} names version {name} again; serving it")
                return False
            try:
                version = store.load(self.index_dir, *self._model, name=name)
            except Exception as exc:
                message = _describe(exc, f"index version {name}")
                self._failed = (name, message)
                return self._keep(loaded, message, exc)
            # Clear the error before publishing the version: a reader (/readyz) takes the version
            # first and the error second, so it never pairs the new version with the old error.
            self._failed = None
            self._recovered(None)
            self._current = version
            log.info("serving index version %s (%d chunks)", name, len(version.chunks))
            return True

    def _keep(self, loaded: str | None, message: str, exc: Exception | None) -> bool:
        """Record a failed check; keep serving `loaded`, or raise when there is nothing to serve."""
        if message != self.last_error:  # each new problem once, not on every poll
            unexpected = exc is not None and not isinstance(exc, store.IndexLoadError)
            log.error("keeping index version %s: %s", loaded, message, exc_info=unexpected)
        self.last_error = message
        if loaded is None:
            raise store.IndexLoadError(message) from None
        return False

    def _recovered(self, note: str | None) -> None:
        if self.last_error is not None and note:
            log.info("%s", note)
        self.last_error = None

    def start(self, interval: float) -> None:
        """Poll for newly published versions every `interval` seconds in a daemon thread that
        survives any failure of a single check."""

        def run() -> None:
            while not self._stop.wait(interval):
                try:
                    self.refresh()
                except store.IndexLoadError:
                    pass  # nothing to serve yet; refresh recorded why
                except Exception:  # the thread must outlive any single bad check
                    log.exception("index reload check failed")

        self._thread = threading.Thread(target=run, name="index-reload", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)


def _describe(exc: Exception, what: str) -> str:
    """One line for the log and /readyz; unexpected exceptions are named by their type."""
    if isinstance(exc, store.IndexLoadError):
        return str(exc)
    return f"{what}: {type(exc).__name__}: {exc}"
