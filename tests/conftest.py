"""Shared fixtures: the real model (loaded once), a seed-article index, a fake embedder."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from corpus.document import Document
from corpus.local import load_local
from index.build import build

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEED = SHARED / "corpus" / "are-stem-cell-products-safe.txt"
MEDQUAD = SHARED / "corpus" / "medquad" / "topical.jsonl"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that read ../shared are skipped with a reason when it is absent."""
    if SHARED.is_dir():
        return
    skip = pytest.mark.skip(reason=f"{SHARED} (the shared corpus) is not beside the project")
    for item in items:
        if "shared" in item.fixturenames:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared() -> Path:
    """The read-only shared folder beside the project."""
    return SHARED


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    """The real bundled MiniLM model, loaded once per test session."""
    from index.embed import MiniLMEmbedder

    return MiniLMEmbedder()


class FakeEmbedder:
    """Deterministic hashed bag-of-words vectors, counting what it encodes (plumbing tests)."""

    model_id = "fake-hash-64"
    dim = 64

    def __init__(self, fail_after: int | None = None) -> None:
        self.encoded: list[str] = []
        self.fail_after = fail_after

    def encode(
        self,
        texts: list[str],
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        if self.fail_after is not None and len(self.encoded) + len(texts) > self.fail_after:
            raise RuntimeError("simulated crash during embedding")
        self.encoded.extend(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> float:
    """Seconds until `condition()` held (polled every 50 ms); fails the test after `timeout`."""
    began = time.monotonic()
    while not condition():
        if time.monotonic() - began > timeout:
            pytest.fail(f"condition not met within {timeout}s")
        time.sleep(0.05)
    return time.monotonic() - began


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    """A fresh fake embedder."""
    return FakeEmbedder()


def seed_documents() -> list[Document]:
    """The seed article as a document."""
    return load_local([SEED], lambda message: None)


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory, embedder, shared: Path) -> Path:  # type: ignore[no-untyped-def]
    """An index directory built from the seed article with the real model."""
    index_dir = tmp_path_factory.mktemp("seed-index")
    build(seed_documents(), index_dir, embedder)
    return index_dir


@pytest.fixture(scope="session")
def seed_version(seed_index: Path, embedder):  # type: ignore[no-untyped-def]
    """The loaded seed index version."""
    from index import store

    return store.load(seed_index, embedder.model_id, embedder.dim)
