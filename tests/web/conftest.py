"""An app over the seed-article index, sharing the session's loaded model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.settings import Settings
from web.app import create_app


def make_client(index_dir: Path, embedder, **settings: object) -> TestClient:  # type: ignore[no-untyped-def]
    values = {"index_dir": index_dir, "rate_limit": 0, "reload_interval": 0.2, **settings}
    return TestClient(create_app(Settings(**values), embedder=embedder))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def client(seed_index: Path, embedder) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with make_client(seed_index, embedder) as test_client:
        yield test_client
