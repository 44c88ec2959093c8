"""Embedding cache keyed by (model id, sha256 of the embedded text), in SQLite."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import numpy as np


def text_key(model_id: str, text: str) -> str:
    """Cache key of one embedded text."""
    return hashlib.sha256(f"{model_id}\x00{text}".encode()).hexdigest()


class EmbeddingCache:
    """Vectors already computed by earlier builds; safe against crashes (SQLite transactions)."""

    def __init__(self, path: Path, dim: int) -> None:
        self.dim = dim
        self._db = sqlite3.connect(path)
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB)")

    def get_many(self, keys: list[str]) -> dict[str, np.ndarray]:
        """Cached vectors for whichever of `keys` are present."""
        found: dict[str, np.ndarray] = {}
        for begin in range(0, len(keys), 500):
            batch = keys[begin : begin + 500]
            marks = ",".join("?" * len(batch))
            rows = self._db.execute(f"SELECT key, vec FROM vectors WHERE key IN ({marks})", batch)
            for key, blob in rows:
                vector = np.frombuffer(blob, dtype=np.float32)
                if vector.shape == (self.dim,):
                    found[key] = vector
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        """Store vectors (committed at once, so a later crash keeps them)."""
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors (key, vec) VALUES (?, ?)",
                [
                    (k, np.ascontiguousarray(v, dtype=np.float32).tobytes())
                    for k, v in items.items()
                ],
            )

    def retain(self, keys: set[str]) -> int:
        """Drop vectors not in `keys` (texts no longer indexed); returns how many were dropped."""
        stored = [row[0] for row in self._db.execute("SELECT key FROM vectors")]
        stale = [k for k in stored if k not in keys]
        with self._db:
            self._db.executemany("DELETE FROM vectors WHERE key = ?", [(k,) for k in stale])
        return len(stale)

    def close(self) -> None:
        """Close the database."""
        self._db.close()
