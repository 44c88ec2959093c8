"""Shared fixtures: the real model (loaded once), a seed-article index, a fake embedder.

Locally, tests that need `../shared` or Chromium are skipped with their reason when these are
absent. With `CI` set (as `.ci/run` runs), nothing may be missing or skipped: the run stops at
once with one line naming what is missing, and a run that skipped any test fails.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from corpus.document import Document
from corpus.local import load_local
from index.build import build

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEED_PARTS = ("corpus", "are-stem-cell-products-safe.txt")
NO_SHARED = f"{SHARED} (the shared corpus) is not beside the project"
CHROMIUM = "/usr/bin/chromium"  # Debian's package; Playwright drives it, never a downloaded build


def in_ci() -> bool:
    """True when running under CI (the `CI` variable set, as CI services and `.ci/run` do)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing_for_ci() -> list[str]:
    """What the full suite needs that this machine lacks."""
    missing = []
    if not (SHARED / "corpus").is_dir() or not (SHARED / "eval").is_dir():
        missing.append(f"{SHARED} (the shared test material) is not beside the project")
    if not Path(CHROMIUM).exists():
        missing.append(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    if importlib.util.find_spec("playwright") is None:
        missing.append("Playwright is not installed (make install)")
    return missing


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under CI, stop before collecting anything when the suite could not run in full (pytest
    prints a usage error as the one line `ERROR: ...` and exits with code 4)."""
    # builds run in-process here would lower the test run's own priority for good (nice);
    # tests/assistant/test_cli.py checks that `build` asks for it
    os.environ["STEMCELL_QA_BUILD_NICE"] = "0"
    if in_ci() and (missing := missing_for_ci()):
        raise pytest.UsageError("CI cannot run every test: " + "; ".join(missing))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that read ../shared are skipped with a reason when it is absent (locally)."""
    if SHARED.is_dir():
        return
    skip = pytest.mark.skip(reason=NO_SHARED)
    for item in items:
        if "shared" in item.fixturenames:
            item.add_marker(skip)


def _skipped(config: pytest.Config) -> int:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    return len(reporter.stats.get("skipped", [])) if reporter else 0


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI a skipped test is a failure: the browser or a shared file went untested."""
    if in_ci() and exitstatus == pytest.ExitCode.OK and _skipped(session.config):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    """Say why a CI run with skips failed."""
    if in_ci() and (skipped := _skipped(config)):
        terminalreporter.write_line(f"CI: {skipped} test(s) skipped; under CI every test must run")


def shared_file(*parts: str) -> Path:
    """A file under ../shared for code that is not a test function (helpers, fixtures); the
    calling test is skipped, like the users of the `shared` fixture, when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(NO_SHARED)
    return path


@pytest.fixture(scope="session")
def shared() -> Path:
    """The read-only shared folder beside the project."""
    return SHARED


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    """The real bundled MiniLM model, loaded once per test session."""
    from index.embed import MiniLMEmbedder

    return MiniLMEmbedder()


class Watched:
    """A real embedder whose every `encode` call is first shown to `watch` (its texts)."""

    def __init__(self, inner: Any, watch: Callable[[list[str]], None]) -> None:
        self.inner, self.watch = inner, watch
        self.model_id, self.dim = inner.model_id, inner.dim

    def encode(self, texts: list[str], *args: Any, **kwargs: Any) -> np.ndarray:
        self.watch(list(texts))
        return np.asarray(self.inner.encode(texts, *args, **kwargs))


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
        self._count(texts)
        return self._vectors(texts)

    def encode_spans(
        self, texts: list[str], spans: list[list[tuple[int, int]]], batch_size: int = 32
    ) -> tuple[np.ndarray, list[list[np.ndarray | None]]]:
        """One "pass" per text (counted like `encode`); spans pooled from its words."""
        self._count(texts)
        pooled = [
            list(self._vectors([t[s:e] for s, e in sp])) for t, sp in zip(texts, spans, strict=True)
        ]
        return self._vectors(texts), pooled  # type: ignore[return-value]

    def _count(self, texts: list[str]) -> None:
        if self.fail_after is not None and len(self.encoded) + len(texts) > self.fail_after:
            raise RuntimeError("simulated crash during embedding")
        self.encoded.extend(texts)

    def _vectors(self, texts: list[str]) -> np.ndarray:
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
    """The seed article as a document (the calling test is skipped when ../shared is absent)."""
    return load_local([shared_file(*SEED_PARTS)], lambda message: None)


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
