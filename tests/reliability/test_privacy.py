"""Privacy of a real `stemcell-qa serve` process: questions stay out of its output unless
opted in (`STEMCELL_QA_LOG_QUESTIONS=1`), and nothing sets a cookie."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.load import Server, serve

SECRET = "zebrafish-private-question-8472"


@pytest.fixture(scope="module")
def server(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server over the seed index with default settings."""
    log = tmp_path_factory.mktemp("server-logs") / "default.log"
    with serve(seed_index, log) as running:
        yield running


def _ask_every_way(url: str) -> list[httpx.Response]:
    with httpx.Client(base_url=url, timeout=60) as client:
        return [
            client.get("/ask", params={"q": f"{SECRET} are stem cells safe?"}),
            client.post("/ask", json={"question": f"{SECRET} safe?", "history": [SECRET]}),
            client.post("/", data={"question": f"{SECRET} tumors?", "history": [SECRET]}),
            client.post("/turn", data={"question": f"{SECRET} GMP?"}),
            client.get("/ask", params={"q": SECRET * 200}),  # refused: over 2,000 characters
            client.get(f"/ask?q={SECRET}&history={SECRET}", headers={"accept": "text/html"}),
            client.get("/"),
            client.get("/static/chat.js"),
            client.get("/sources"),
            client.get("/missing", params={"q": SECRET}),
        ]


def _output_after_requests(server: Server) -> str:
    time.sleep(0.5)  # let the server flush its log lines
    return server.output()


def test_questions_are_not_logged_by_default(server: Server) -> None:
    responses = _ask_every_way(server.url)
    assert [r.status_code for r in responses[:5]] == [200, 200, 200, 200, 422]
    output = _output_after_requests(server)
    assert "GET /ask" in output and "POST /turn" in output  # requests are logged ...
    assert SECRET not in output and "zebrafish" not in output  # ... without their questions


@pytest.mark.slow
def test_opt_in_setting_logs_questions(seed_index: Path, tmp_path: Path) -> None:
    env = {"STEMCELL_QA_LOG_QUESTIONS": "1"}
    with serve(seed_index, tmp_path / "opt-in.log", env) as opted_in:
        _ask_every_way(opted_in.url)
        output = _output_after_requests(opted_in)
    assert f"question: '{SECRET} safe?' (history 1)" in output
    assert f"question: '{SECRET} are stem cells safe?' (history 0)" in output


def test_no_cookies_are_set(server: Server) -> None:
    responses = _ask_every_way(server.url)
    assert {r.status_code for r in responses} >= {200, 404, 422}
    for response in responses:
        assert "set-cookie" not in response.headers, response.request.url
        assert response.headers["referrer-policy"] == "no-referrer"
