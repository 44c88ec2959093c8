"""Hostile input: broken Unicode, and markup or script links in questions and in source text.

Source documents carrying `<script>`, `onerror=` and `javascript:` links, and JSONL records whose
`url` is `javascript:` or `data:`, must come out inert: escaped in the page, plain data in JSON,
and never rendered as a link.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.settings import Settings
from corpus.local import load_local
from index.build import build
from tests.conftest import FakeEmbedder
from web.app import create_app

SCRIPT = "<script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=1">'
JS_LINK = '<a href="javascript:window.__pwned=1">click here</a>'
PAYLOAD_TEXT = (
    f"The payload clinic page printed {SCRIPT} above its prices. "
    f"The payload clinic banner showed {IMG} beside the offer. "
    f"The payload clinic footer had {JS_LINK} for bookings."
)
QUESTIONS = {  # payload -> a question whose answer quotes the sentence holding it
    SCRIPT: "What did the payload clinic page print above its prices?",
    IMG: "What did the payload clinic banner show beside the offer?",
    JS_LINK: "What did the payload clinic footer have for bookings?",
}
SCHEME_QUESTION = "What do scheme test pages say?"
HOSTILE_URLS = {
    "js-url": "javascript:window.__pwned=1",
    "js-url-mixed-case": " JaVaScRiPt:window.__pwned=1",
    "js-url-tab": "java\tscript:window.__pwned=1",
    "data-url": "data:text/html,<script>window.__pwned=1</script>",
    "vbscript-url": "vbscript:msgbox(1)",
    "file-url": "file:///etc/passwd",
}
UNSAFE_SCHEMES = ("javascript:", "data:", "vbscript:", "file:")
# payloads tried, for the closing note
PAYLOADS = [SCRIPT, IMG, JS_LINK, *HOSTILE_URLS.values()]


def hostile_records() -> list[dict[str, str]]:
    """JSONL records: markup in text, title and publisher; unsafe URL schemes."""
    records = [
        {
            "id": "payload-clinic",
            "title": f"Payload clinic {SCRIPT}",
            "publisher": f"Clinic {IMG}",
            "url": 'https://example.org/page?a="><script>window.__pwned=1</script>',
            "kind": "clinic-marketing",
            "text": PAYLOAD_TEXT,
        }
    ]
    for source_id, url in HOSTILE_URLS.items():
        records.append(
            {
                "id": source_id,
                "title": f"Scheme test {source_id}",
                "url": url,
                "kind": "other",
                "text": f"The scheme test {source_id} page says stem cell payload clinics "
                f"advertise online. Scheme test pages are hostile on purpose.",
            }
        )
    return records


@pytest.fixture(scope="module")
def hostile_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    jsonl = folder / "hostile.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in hostile_records()), encoding="utf-8")
    warnings: list[str] = []
    documents = load_local([jsonl], warnings.append)
    assert len(warnings) == len(HOSTILE_URLS)  # each unsafe URL was reported
    assert all("is not http(s); shown without a link" in w for w in warnings)
    build(documents, folder / "index", FakeEmbedder())
    return folder / "index"


@pytest.fixture(scope="module")
def client(hostile_index: Path) -> Iterator[TestClient]:
    app = create_app(Settings(index_dir=hostile_index, rate_limit=0), embedder=FakeEmbedder())
    with TestClient(app) as test_client:
        yield test_client


def test_unsafe_url_schemes_are_dropped_from_sources(client: TestClient) -> None:
    sources = {s["id"]: s for s in client.get("/sources").json()["sources"]}
    for source_id in HOSTILE_URLS:
        assert sources[source_id]["url"] is None
    assert sources["payload-clinic"]["url"].startswith("https://example.org/")


def test_json_carries_markup_as_plain_data_and_no_unsafe_links(client: TestClient) -> None:
    for payload, question in QUESTIONS.items():
        response = client.post("/ask", json={"question": question})
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.headers["x-content-type-options"] == "nosniff"
        body = response.json()
        # verbatim: a JSON consumer gets the exact source text, as data, to insert as text
        assert any(payload in s["text"] for s in body["answer"])
        assert json.loads(response.content)["answer"] == body["answer"]
        for item in [*body["answer"], *body["passages"]]:
            assert item["link"] is None or item["link"].startswith("https://"), item["link"]
        for source in body["sources"].values():
            assert source["url"] is None or source["url"].startswith("https://")
    scheme_body = client.post("/ask", json={"question": SCHEME_QUESTION}).json()
    assert {s["source_id"] for s in scheme_body["answer"]} & set(HOSTILE_URLS)
    assert all(s["link"] is None for s in scheme_body["answer"])


class _Tags(HTMLParser):
    """Every element and attribute as a browser's parser would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def _inert(html: str) -> None:
    """No payload survives as markup: no injected scripts, images, handlers or unsafe links."""
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag not in ("img", "iframe", "object", "embed"), (tag, attrs)
        assert tag != "script" or attrs == {"src": "/static/chat.js", "defer": ""}, attrs
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        for name in ("href", "src", "action", "cite", "formaction"):
            value = re.sub(r"[\x00-\x20]", "", attrs.get(name, "")).lower()
            assert not value.startswith(UNSAFE_SCHEMES), (tag, attrs)
    assert "<script>window" not in html


@pytest.mark.parametrize("path", ["/", "/turn"])
def test_page_escapes_markup_from_sources_and_questions(client: TestClient, path: str) -> None:
    escaped = {
        SCRIPT: "&lt;script&gt;window.__pwned=1&lt;/script&gt;",
        IMG: "&lt;img src=x onerror=&#34;window.__pwned=1&#34;&gt;",
        JS_LINK: "&lt;a href=&#34;javascript:window.__pwned=1&#34;&gt;click here&lt;/a&gt;",
    }
    for payload, question in QUESTIONS.items():
        response = client.post(path, data={"question": question, "history": [JS_LINK]})
        assert response.status_code == 200
        assert response.text.count('data-status="answered"') == 1
        _inert(response.text)
        assert escaped[payload] in response.text  # shown, as text
        assert "Open the source at this passage" in response.text  # the https source is linked
    for question in [SCHEME_QUESTION, f"{SCHEME_QUESTION} {SCRIPT} {IMG} {JS_LINK}"]:
        response = client.post(path, data={"question": question})
        assert response.status_code == 200 and 'data-status="answered"' in response.text
        _inert(response.text)
        assert "Open the source at this passage" not in response.text  # unsafe URLs: no link


@pytest.mark.parametrize(
    "body",
    [
        b'{"question": "\\ud800 stem cells"}',
        b'{"question": "are they safe?", "history": ["\\udfff"]}',
        b'{"question": "are they safe?", "history": ["ok", "\\ud83d alone"]}',
        b'{"question": "\\u0000\\u202e\\ufeff stem cells?"}',
        b'{"question": "\xff\xfe not utf-8"}',
        b'{"question": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"question": "a", "history": null}',
    ],
    ids=[
        "surrogate-question",
        "surrogate-history",
        "half-pair-history",
        "controls",
        "invalid-utf8",
        "deep-nesting",
        "null-history",
    ],
)
def test_broken_unicode_and_odd_json_never_crash(client: TestClient, body: bytes) -> None:
    response = client.post("/ask", content=body, headers={"content-type": "application/json"})
    assert response.status_code in (200, 400, 413, 422), response.text
    if response.status_code != 200:
        assert response.json()["detail"]


def test_error_page_escapes_what_it_echoes(client: TestClient) -> None:
    long_question = SCRIPT * 200  # over the 2,000-character limit: refused in the page
    assert len(long_question) > 2000
    response = client.post("/", data={"question": long_question})
    assert response.status_code == 422 and "longer than 2000" in response.text
    _inert(response.text)
    missing = client.get(f"/{SCRIPT}", headers={"accept": "text/html"})
    assert missing.status_code == 404
    _inert(missing.text)
