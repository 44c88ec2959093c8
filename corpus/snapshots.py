"""Fetched snapshots on disk: raw bytes plus HTTP metadata, one folder per source."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class SnapshotMeta:
    """What the server said when the snapshot was fetched."""

    source_id: str
    url: str
    final_url: str
    fetched_at: str
    http_status: int
    content_type: str
    sha256: str
    etag: str | None = None
    last_modified: str | None = None
    route: str | None = None  # page, ctgov-api, europepmc, eutils, frontiers-xml, publisher-html
    pmcid: str | None = None  # an article's PMCID (as given or found by the ID converter)
    doi: str | None = None


class SnapshotStore:
    """`DATA_DIR/snapshots/<source id>/{meta.json,body-<sha>}`.

    The body is written under its own hash before `meta.json` is switched to it, so a crash at
    any point leaves either the old or the new snapshot whole.
    """

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "snapshots"

    def _dir(self, source_id: str) -> Path:
        return self.root / source_id

    def body_path(self, meta: SnapshotMeta) -> Path:
        """Where the body described by `meta` is stored."""
        return self._dir(meta.source_id) / f"body-{meta.sha256[:16]}"

    def read(self, source_id: str) -> tuple[SnapshotMeta, bytes] | None:
        """The stored snapshot, or None when missing or not matching its recorded hash."""
        folder = self._dir(source_id)
        try:
            meta = SnapshotMeta(**json.loads((folder / "meta.json").read_text("utf-8")))
            body = self.body_path(meta).read_bytes()
        except (OSError, ValueError, TypeError):
            return None
        if hashlib.sha256(body).hexdigest() != meta.sha256:
            return None
        return meta, body

    def write(self, meta: SnapshotMeta, body: bytes) -> None:
        """Store body and metadata, then drop the bodies no longer referenced."""
        folder = self._dir(meta.source_id)
        folder.mkdir(parents=True, exist_ok=True)
        keep = self.body_path(meta).name
        _atomic_write(folder / keep, body)
        _atomic_write(folder / "meta.json", json.dumps(asdict(meta), indent=2).encode("utf-8"))
        for old in folder.glob("body-*"):
            if old.name != keep:
                old.unlink(missing_ok=True)

    def touch(self, meta: SnapshotMeta) -> None:
        """Rewrite only the metadata (after a 304 Not Modified)."""
        folder = self._dir(meta.source_id)
        _atomic_write(folder / "meta.json", json.dumps(asdict(meta), indent=2).encode("utf-8"))


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
