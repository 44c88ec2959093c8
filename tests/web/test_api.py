"""The JSON API over the seed-article index."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.settings import Settings
from corpus.verbatim import is_verbatim
from index.batching import arrived
from tests.conftest import Watched
from tests.web.conftest import make_client

LIMITS = Settings()  # the configured limits (the lead may change the defaults; tests follow)

ANSWER_FIELDS = {"text", "source_id", "chunk_id", "start", "end", "link", "score"}
PASSAGE_FIELDS = {"chunk_id", "source_id", "text", "highlights", "score", "link", "section"}
SOURCE_FIELDS = {"id", "title", "url", "publisher", "kind", "published", "retrieved_at"}


def test_ask_returns_the_answer_object_with_verbatim_sentences(
    client: TestClient,
    seed_version,  # type: ignore[no-untyped-def]
) -> None:
    response = client.post("/ask", json={"question": "What is stem cell tourism?"})
    assert response.status_code == 200
    body = response.json()
    assert {"question", "status", "answer", "passages", "sources", "index_version"} <= set(body)
    assert body["status"] == "answered" and body["index_version"] == seed_version.name
    for sentence in body["answer"]:
        assert set(sentence) >= ANSWER_FIELDS
        doc = seed_version.documents[sentence["source_id"]]
        assert is_verbatim(doc, sentence["text"], sentence["start"], sentence["end"])
    assert set(body["passages"][0]) >= PASSAGE_FIELDS
    assert all(set(s) >= SOURCE_FIELDS for s in body["sources"].values())


def test_post_and_get_give_the_same_answer(client: TestClient) -> None:
    question = "Can stem cells cause tumors?"
    posted = client.post("/ask", json={"question": question}).json()
    got = client.get("/ask", params={"q": question}).json()
    assert [s["text"] for s in posted["answer"]] == [s["text"] for s in got["answer"]]


def test_history_is_used_for_follow_ups(client: TestClient) -> None:
    body = client.post(
        "/ask",
        json={
            "question": "When does it start?",
            "history": ["Is there a trial of stem cells for Huntington's disease?"],
        },
    ).json()
    assert body["used_history"] and "2026" in body["answer"][0]["text"]


def test_out_of_scope_question_is_declined(client: TestClient) -> None:
    body = client.post("/ask", json={"question": "Which football team won the World Cup?"}).json()
    assert body["status"] == "no_answer" and body["answer"] == []


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"question": ""}, "at least 1 character"),
        ({"question": "   "}, "empty"),
        (
            {"question": "x" * (LIMITS.max_question_chars + 1)},
            f"longer than {LIMITS.max_question_chars}",
        ),
        ({"question": 42}, "valid string"),
        ({"question": "ok?", "history": "not a list"}, "valid list"),
        (
            {"question": "ok?", "history": ["q"] * (LIMITS.max_history + 1)},
            f"more than {LIMITS.max_history}",
        ),
        ({}, "Field required"),
        ({"question": "ok?", "extra": 1}, "Extra inputs"),
    ],
)
def test_invalid_requests_get_422_with_a_detail(
    client: TestClient, payload: object, fragment: str
) -> None:
    response = client.post("/ask", json=payload)
    assert response.status_code == 422
    assert fragment in str(response.json()["detail"])


def test_invalid_json_and_oversized_body_are_4xx(client: TestClient) -> None:
    bad = client.post(
        "/ask", content=b'{"question": ', headers={"content-type": "application/json"}
    )
    assert bad.status_code == 422 and "json" in str(bad.json()["detail"]).lower()
    big = client.post(
        "/ask",
        content=b'{"question": "' + b"a" * 300_000 + b'"}',
        headers={"content-type": "application/json"},
    )
    assert big.status_code == 413 and "bytes" in big.json()["detail"]


def test_the_longest_request_the_limits_allow_is_not_too_large(client: TestClient) -> None:
    # a 2,000-character question and ten 2,000-character turns, as a client's JSON library
    # escapes them (json.dumps: 12 bytes an emoji); a fixed 16 KiB body limit refused it
    body = json.dumps({"question": "\U0001f600" * 2000, "history": ["\U0001f600" * 2000] * 10})
    assert len(body) > 260_000
    response = client.post("/ask", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "no_answer"


@pytest.mark.parametrize(
    ("body", "kind"),
    [(b'{"question": "Is it safe?"}', "text/plain"), (b"question=Is+it+safe", None)],
)
def test_a_body_that_is_not_sent_as_json_is_told_so(
    client: TestClient, body: bytes, kind: str | None
) -> None:
    headers = {"content-type": kind} if kind else {}
    response = client.post("/ask", content=body, headers=headers)
    assert response.status_code == 415 and "application/json" in response.json()["detail"]
    sent = client.post(
        "/ask", content=body, headers={"content-type": "application/json; charset=utf-8"}
    )
    assert sent.status_code in (200, 422)  # JSON: answered, or refused for what it holds


def test_markup_in_question_is_echoed_as_json_text_only(client: TestClient) -> None:
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    response = client.post("/ask", json={"question": payload})
    assert response.headers["content-type"] == "application/json"
    assert response.json()["question"] == payload


def test_security_headers_are_set(client: TestClient) -> None:
    headers = client.get("/").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert "set-cookie" not in headers


def test_unknown_route_is_a_json_404(client: TestClient) -> None:
    response = client.get("/nothing-here")
    assert response.status_code == 404 and response.json() == {"detail": "Not Found"}


def test_health_ready_and_sources(client: TestClient, seed_version) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["index_version"] == seed_version.name and ready["chunks"] == len(
        seed_version.chunks
    )
    sources = client.get("/sources").json()["sources"]
    assert sources[0]["title"] == "Are Stem Cell Products Safe?"


def test_readyz_says_why_the_latest_background_rebuild_failed(  # type: ignore[no-untyped-def]
    seed_index: Path, embedder, tmp_path: Path
) -> None:
    import shutil

    from index.build import build
    from index.store import record_rebuild_error
    from tests.conftest import seed_documents

    index = tmp_path / "index"
    shutil.copytree(seed_index, index)
    with make_client(index, embedder) as served:
        assert served.get("/readyz").json()["last_rebuild_error"] is None
        record_rebuild_error(index, "BuildError: no documents to index; nothing was published")
        ready = served.get("/readyz").json()
        assert ready["status"] == "ready" and "no documents" in ready["last_rebuild_error"]
        record_rebuild_error(index, None)
        assert served.get("/readyz").json()["last_rebuild_error"] is None
    # a build that goes well, by hand or in the background, ends the failure it follows
    record_rebuild_error(index, "BuildError: no documents to index")
    build(seed_documents(), index, embedder)
    with make_client(index, embedder) as restarted:
        assert restarted.get("/readyz").json()["last_rebuild_error"] is None


def test_openapi_schema_describes_ask(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    ask = schema["paths"]["/ask"]["post"]
    assert "AskRequest" in str(ask["requestBody"]) and "AnswerOut" in str(ask["responses"])


def test_openapi_schema_states_the_configured_limits(seed_index: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    with make_client(seed_index, embedder, max_history=3, max_question_chars=300) as small:
        fields = small.get("/openapi.json").json()["components"]["schemas"]["AskRequest"]
        question, history = fields["properties"]["question"], fields["properties"]["history"]
        assert (question["maxLength"], history["maxItems"]) == (300, 3)
        assert history["items"]["maxLength"] == 300
        get = small.get("/openapi.json").json()["paths"]["/ask"]["get"]["parameters"]
        assert next(p for p in get if p["name"] == "q")["schema"]["maxLength"] == 300
        # the limits the schema states are the ones the server keeps
        at_limit = {"question": "Is it safe?", "history": ["What is GMP?"] * 3}
        assert small.post("/ask", json=at_limit).status_code == 200
        over = {"question": "Is it safe?", "history": ["What is GMP?"] * 4}
        assert small.post("/ask", json=over).status_code == 422
        assert small.post("/ask", json={"question": "x" * 301}).status_code == 422


def test_rate_limit_answers_429_with_retry_after(seed_index: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    with make_client(seed_index, embedder, rate_limit=3) as limited:
        assert all(limited.get("/").status_code == 200 for _ in range(5))  # reading is free
        codes = [limited.get("/ask", params={"q": "GMP?"}).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        refused = limited.post("/ask", json={"question": "GMP?"})
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
        assert "too many" in refused.json()["detail"]
        assert limited.get("/healthz").status_code == 200


def test_forwarded_for_only_trusted_from_a_named_proxy(seed_index: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    with make_client(seed_index, embedder, rate_limit=1) as direct:
        first = direct.get("/ask", params={"q": "GMP?"}, headers={"x-forwarded-for": "1.1.1.1"})
        spoof = direct.get("/ask", params={"q": "GMP?"}, headers={"x-forwarded-for": "2.2.2.2"})
        assert (first.status_code, spoof.status_code) == (200, 429)
    with make_client(seed_index, embedder, rate_limit=1, trusted_proxies=["testclient"]) as proxied:
        a = proxied.get("/ask", params={"q": "GMP?"}, headers={"x-forwarded-for": "1.1.1.1"})
        b = proxied.get("/ask", params={"q": "GMP?"}, headers={"x-forwarded-for": "2.2.2.2"})
        assert (a.status_code, b.status_code) == (200, 200)


def test_without_an_index_the_server_refuses_or_waits(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    from assistant.settings import Settings
    from index.store import IndexLoadError
    from web.app import create_app

    with (
        pytest.raises(IndexLoadError, match="no published version"),
        TestClient(create_app(Settings(index_dir=tmp_path), embedder=embedder)),
    ):
        pass
    with TestClient(
        create_app(Settings(index_dir=tmp_path), embedder=embedder, allow_empty=True)
    ) as waiting:
        response = waiting.post("/ask", json={"question": "Is it safe?"})
        assert response.status_code == 503 and "stemcell-qa build" in response.json()["detail"]
        assert f"--index {tmp_path}" in response.json()["detail"]  # the folder this server reads
        assert "No sources are loaded yet" in waiting.get("/").text


def _server_log(caplog: pytest.LogCaptureFixture) -> str:
    # the test client's own HTTP library logs the URL it requests; that is not the server
    return "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))


def test_questions_are_logged_only_when_opted_in(
    client: TestClient,
    caplog: pytest.LogCaptureFixture,
    seed_index: Path,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    secret = "my private question about zebrafish 12345"
    with caplog.at_level("DEBUG"):
        client.get("/ask", params={"q": secret})
        client.post("/ask", json={"question": secret})
        client.post("/", data={"question": secret})
    assert "GET /ask 200" in _server_log(caplog)
    assert "zebrafish" not in _server_log(caplog)
    caplog.clear()
    with (
        make_client(seed_index, embedder, log_questions=True) as logging_client,
        caplog.at_level("INFO"),
    ):
        logging_client.post("/ask", json={"question": secret})
    assert secret in _server_log(caplog)


def test_model_calls_know_when_their_request_came_in(seed_index: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    seen: list[float | None] = []
    # what the model-call queue orders by, at each call
    marking = Watched(embedder, lambda texts: seen.append(arrived.get()))

    with make_client(seed_index, marking) as client:
        seen.clear()  # start-up's warm-up call is no request's
        began = time.monotonic()
        client.post("/ask", json={"question": "Can stem cells cause tumors?"})
        ended = time.monotonic()
    assert seen and all(mark is not None and began <= mark <= ended for mark in seen)
    assert arrived.get() is None  # the mark is the request's, not left behind
