"""Property-based fuzzing of the JSON API from its own OpenAPI schema (schemathesis).

Whatever is sent: never a 5xx, every 4xx carries a non-empty `detail`, and every response matches
the schema. The default run is small and uses the fake embedder; the slow run uses the real model.
"""

from __future__ import annotations

from collections import Counter
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

CASES: Counter[str] = Counter()
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _detail_on_4xx(response: schemathesis.Response, label: str) -> None:
    CASES[label] += 1
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


def _fuzz(strategy, examples: int, label: str) -> None:  # type: ignore[no-untyped-def]
    @given(case=strategy)
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        phases=[Phase.generate],
    )
    def run(case: schemathesis.Case) -> None:
        response = case.call()
        _detail_on_4xx(response, label)
        case.validate_response(response, checks=CHECKS)

    run()
    print(f"fuzz cases run ({label}): {CASES[label]}")


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
@pytest.mark.parametrize("method", ["POST", "GET"])
def test_fuzz_ask(fake_api, method: str, mode: GenerationMode) -> None:  # type: ignore[no-untyped-def]
    _fuzz(fake_api["/ask"][method].as_strategy(mode), 40, "default")


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
def test_fuzz_every_operation_with_the_real_model(real_api, mode: GenerationMode) -> None:  # type: ignore[no-untyped-def]
    _fuzz(real_api.as_strategy(mode), 400, "slow")


def test_fuzz_ran() -> None:
    """Runs after the default fuzz tests in this module: they did run examples."""
    if not CASES["default"]:
        pytest.skip("fuzz tests deselected")
    print(f"fuzz cases run: {dict(CASES)}")
    assert CASES["default"] >= 100
