"""Fetching against a local HTTP server (never the internet)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from corpus.fetch import FetchSettings, fetch_all
from corpus.snapshots import SnapshotStore
from corpus.sources import Source

PAGE = (
    b"<html><body><article><p>Stem cells were safe in this small trial.</p></article></body></html>"
)


class Handler(BaseHTTPRequestHandler):
    calls: ClassVar[dict[str, int]] = {}

    def log_message(self, *args: object) -> None:
        pass

    def _send(
        self,
        status: int,
        body: bytes = b"",
        ctype: str = "text/html",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        Handler.calls[self.path] = Handler.calls.get(self.path, 0) + 1
        if self.path == "/ok":
            if self.headers.get("If-None-Match") == '"v1"':
                self._send(304)
            else:
                self._send(200, PAGE, headers={"ETag": '"v1"'})
        elif self.path == "/missing":
            self._send(404, b"nope")
        elif self.path == "/slow":
            time.sleep(2)
            self._send(200, PAGE)
        elif self.path == "/huge":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            for _ in range(100):
                self.wfile.write(b"x" * 10_000)
        elif self.path == "/redirect":
            self._send(302, headers={"Location": "/ok"})
        elif self.path == "/loop":
            self._send(302, headers={"Location": "/loop"})
        elif self.path == "/image":
            self._send(200, b"GIF89a", ctype="image/gif")
        elif self.path == "/flaky":
            if Handler.calls[self.path] == 1:
                self._send(503, b"busy")
            else:
                self._send(200, PAGE)


@pytest.fixture
def server() -> Iterator[str]:
    Handler.calls = {}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


SETTINGS = FetchSettings(
    timeout=0.5, retries=1, backoff=0.01, max_bytes=50_000, max_redirects=3, allow_private=True
)


def _fetch(server: str, path: str, store: SnapshotStore, settings: FetchSettings = SETTINGS):
    (outcome,) = fetch_all([Source(id="s", url=server + path, kind="other")], store, settings)
    return outcome


def test_200_stores_snapshot_and_304_keeps_it(server: str, tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    assert _fetch(server, "/ok", store).status == "fetched"
    meta, body = store.read("s")  # type: ignore[misc]
    assert body == PAGE and meta.etag == '"v1"' and meta.http_status == 200
    assert _fetch(server, "/ok", store).status == "not-modified"
    assert store.read("s")[1] == PAGE  # type: ignore[index]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/missing", "HTTP 404"),
        ("/slow", "timed out"),
        ("/huge", "cap"),
        ("/loop", "redirects"),
        ("/image", "unsupported content type"),
    ],
)
def test_failures_are_reported_and_keep_previous_snapshot(
    server: str, tmp_path: Path, path: str, reason: str
) -> None:
    store = SnapshotStore(tmp_path)
    _fetch(server, "/ok", store)
    source = Source(id="s", url=server + path, kind="other")
    began = time.monotonic()
    (outcome,) = fetch_all([source], store, SETTINGS)
    assert time.monotonic() - began < 10  # bounded, not hanging
    assert outcome.status == "failed" and reason in outcome.reason
    assert outcome.has_snapshot and store.read("s")[1] == PAGE  # type: ignore[index]


def test_redirect_is_followed_and_final_url_recorded(server: str, tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    assert _fetch(server, "/redirect", store).status == "fetched"
    assert store.read("s")[0].final_url == server + "/ok"  # type: ignore[index]


def test_transient_503_is_retried(server: str, tmp_path: Path) -> None:
    assert _fetch(server, "/flaky", SnapshotStore(tmp_path)).status == "fetched"
    assert Handler.calls["/flaky"] == 2


def test_one_failing_source_does_not_stop_the_others(server: str, tmp_path: Path) -> None:
    sources = [
        Source(id="a", url=server + "/missing", kind="other"),
        Source(id="b", url=server + "/ok", kind="review"),
    ]
    outcomes = fetch_all(sources, SnapshotStore(tmp_path), SETTINGS)
    assert [o.status for o in outcomes] == ["failed", "fetched"]


def test_loopback_and_non_http_targets_are_refused_by_default(server: str, tmp_path: Path) -> None:
    strict = FetchSettings(timeout=0.5, retries=0)
    assert "non-public address" in _fetch(server, "/ok", SnapshotStore(tmp_path), strict).reason
    (outcome,) = fetch_all(
        [Source(id="f", url="file:///etc/passwd", kind="other")], SnapshotStore(tmp_path), strict
    )
    assert outcome.status == "failed" and "non-http" in outcome.reason
    assert Handler.calls == {}
