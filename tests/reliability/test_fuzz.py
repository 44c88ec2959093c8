"""Property-based fuzzing of the JSON API from its own OpenAPI schema (schemathesis).

Whatever is sent: never a 5xx, every 4xx carries a non-empty `detail`, and every response matches
the schema. The default run is small and uses the fake embedder; the slow run uses the real model.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from assistant.settings import Settings
from index.build import build
from tests.conftest import FakeEmbedder
from tests.index.test_build import fixture_docs
from web.app import create_app

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _detail_on_4xx(response: schemathesis.Response) -> None:
    assert response.status_code < 500, response.text
    if 400 <= response.status_code < 500:
        detail = response.json().get("detail")
        assert detail, f"{response.status_code} without a detail: {response.text}"
        if isinstance(detail, list):
            assert all(item.get("msg") and item.get("loc") for item in detail)


@pytest.fixture(scope="module")
def fake_api(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    index_dir = tmp_path_factory.mktemp("fuzz-index")
    build(fixture_docs(), index_dir, FakeEmbedder())
    app = create_app(Settings(index_dir=index_dir, rate_limit=0), embedder=FakeEmbedder())
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(scope="module")
def real_api(seed_index: Path, embedder):  # type: ignore[no-untyped-def]
    app = create_app(Settings(index_dir=seed_index, rate_limit=0), embedder=embedder)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def _fuzz(strategy, examples: int) -> int:  # type: ignore[no-untyped-def]
    """Run up to `examples` generated cases through the checks; returns how many ran."""
    ran = 0

    @given(case=strategy)
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        phases=[Phase.generate],
    )
    def run(case: schemathesis.Case) -> None:
        nonlocal ran
        ran += 1
        response = case.call()
        _detail_on_4xx(response)
        case.validate_response(response, checks=CHECKS)

    run()
    print(f"fuzz cases run: {ran}")
    return ran


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
@pytest.mark.parametrize("method", ["POST", "GET"])
def test_fuzz_ask(fake_api, method: str, mode: GenerationMode) -> None:  # type: ignore[no-untyped-def]
    # each test checks its own count, so none depends on another having run first
    assert _fuzz(fake_api["/ask"][method].as_strategy(mode), 40) >= 25


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
def test_fuzz_every_operation_with_the_real_model(real_api, mode: GenerationMode) -> None:  # type: ignore[no-untyped-def]
    assert _fuzz(real_api.as_strategy(mode), 400) >= 250
