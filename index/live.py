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
    """

    def __init__(self, index_dir: Path, model_id: str, dim: int) -> None:
        self.index_dir = index_dir
        self._model = (model_id, dim)
        self._current: store.IndexVersion | None = None
        self.last_error: str | None = None
        self._failed: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def current(self) -> store.IndexVersion | None:
        """The version to answer from (None before any version loaded)."""
        return self._current

    def refresh(self) -> bool:
        """Load the published version if it changed; keep the old one if the new one is bad.

        Raises `IndexLoadError` only when there is no good version at all to serve.
        """
        with self._lock:
            name = store.current_name(self.index_dir)
            loaded = self._current.name if self._current else None
            if name is None or name == loaded or name == self._failed:
                if name is None and loaded is None:
                    raise store.IndexLoadError(
                        f"index directory {self.index_dir} has no published version; "
                        f"run `stemcell-qa build --index {self.index_dir} --docs PATH` first"
                    )
                return False
            try:
                version = store.load(self.index_dir, *self._model, name=name)
            except store.IndexLoadError as exc:
                self.last_error, self._failed = str(exc), name
                if self._current is None:
                    raise
                log.error("keeping index version %s: %s", loaded, exc)
                return False
            self._current, self.last_error, self._failed = version, None, None
            log.info("serving index version %s (%d chunks)", name, len(version.chunks))
            return True

    def start(self, interval: float) -> None:
        """Poll for newly published versions every `interval` seconds in a daemon thread."""

        def run() -> None:
            while not self._stop.wait(interval):
                try:
                    self.refresh()
                except store.IndexLoadError as exc:
                    self.last_error = str(exc)

        self._thread = threading.Thread(target=run, name="index-reload", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
