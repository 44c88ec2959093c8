"""Fetching from sources that misbehave, and what the fetcher refuses to fetch at all.

Every fault is bounded in time and size, reported with a reason, and leaves the other sources
fetched; nothing outside the manifest, non-http(s) or (by default) private is ever requested.
"""

from __future__ import annotations

import contextlib
import os
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from corpus.collect import snapshot_documents
from corpus.fetch import FetchOutcome, FetchSettings, fetch_all
from corpus.snapshots import SnapshotStore
from corpus.sources import Source

PAGE = (
    b"<html><body><article><p>Stem cells were safe in this small trial.</p></article></body></html>"
)
GARBAGE = os.urandom(30_000)
FIVE_GB = 5 * 1024**3
LIMITS = FetchSettings(
    timeout=0.3, retries=1, backoff=0.01, max_bytes=100_000, max_redirects=3, allow_private=True
)


class Misbehaving(socketserver.BaseRequestHandler):
    """Raw-socket HTTP server whose paths misbehave in different ways."""

    stop: threading.Event
    requested: list[str]

    def _headers(self, status: str, extra: str = "", ctype: str = "text/html") -> None:
        head = f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n{extra}\r\n"
        self.request.sendall(head.encode())

    def _reset(self) -> None:
        # SO_LINGER 0: close() sends a TCP RST instead of a FIN
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.request.close()

    def handle(self) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            piece = self.request.recv(4096)
            if not piece:
                return
            data += piece
        path = data.split(b" ")[1].decode()
        self.requested.append(path)
        with contextlib.suppress(OSError):  # the client gave up (that is the point)
            self.respond(path)

    def respond(self, path: str) -> None:
        if path == "/ok":
            self._headers("200 OK", f"Content-Length: {len(PAGE)}\r\n")
            self.request.sendall(PAGE)
        elif path == "/hang":  # accepts, reads the request, never answers
            self.stop.wait(30)
        elif path == "/stall":  # headers and a little body, then nothing
            self._headers("200 OK", "Content-Length: 50000\r\n")
            self.request.sendall(b"<html><body>" + b"x" * 100)
            self.stop.wait(30)
        elif path == "/drip":  # one byte at a time, never finishing: no read timeout fires
            self._headers("200 OK", "Content-Length: 50000\r\n")
            while not self.stop.wait(0.05):
                self.request.sendall(b"x")
        elif path == "/reset":
            self._reset()
        elif path == "/reset-mid-body":
            self._headers("200 OK", "Content-Length: 50000\r\n")
            self.request.sendall(b"<html><body>" + b"x" * 1000)
            self._reset()
        elif path == "/not-http":
            self.request.sendall(b"\x00\xff\xfeSSH-2.0-OpenSSH\r\n\r\n" + GARBAGE[:200])
        elif path == "/garbage":
            self._headers("200 OK", f"Content-Length: {len(GARBAGE)}\r\n")
            self.request.sendall(GARBAGE)
        elif path == "/5gb":  # declares 5 GB and starts sending it
            self._headers("200 OK", f"Content-Length: {FIVE_GB}\r\n")
            while not self.stop.is_set():
                self.request.sendall(b"\0" * 65536)
        elif path == "/endless":  # no length at all, streams until the client hangs up
            self._headers("200 OK", "Connection: close\r\n")
            while not self.stop.is_set():
                self.request.sendall(b"<p>stem cells</p>" * 4096)


@pytest.fixture
def site() -> Iterator[tuple[str, list[str]]]:
    stop, requested = threading.Event(), []
    handler = type("Handler", (Misbehaving,), {"stop": stop, "requested": requested})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requested
    stop.set()
    server.shutdown()
    server.server_close()


FAULTS = {
    "hang": "timed out",
    "stall": "timed out",
    "drip": "download took over",
    "reset": "connection failed",
    "reset-mid-body": "connection failed",
    "not-http": "connection failed",
    "5gb": f"body of {FIVE_GB} bytes is over the 100000 cap",
    "endless": "over the 100000-byte cap",
}


def test_misbehaving_sources_are_bounded_reported_and_do_not_stop_the_others(
    site: tuple[str, list[str]], tmp_path: Path
) -> None:
    base, requested = site
    sources = [Source(id="first-ok", url=f"{base}/ok", kind="review")]
    for name in FAULTS:
        sources += [
            Source(id=name, url=f"{base}/{name}", kind="other"),
            Source(id=f"after-{name}", url=f"{base}/ok", kind="other"),
        ]
    sources.append(Source(id="garbage", url=f"{base}/garbage", kind="other"))
    store = SnapshotStore(tmp_path)
    took: dict[str, float] = {}
    began = [time.monotonic()]

    def report(number: int, total: int, outcome: FetchOutcome) -> None:
        took[outcome.source_id] = time.monotonic() - began[0]
        began[0] = time.monotonic()

    start = time.monotonic()
    outcomes = {o.source_id: o for o in fetch_all(sources, store, LIMITS, report)}
    assert time.monotonic() - start < 30
    for name, reason in FAULTS.items():
        outcome = outcomes[name]
        assert outcome.status == "failed" and reason in outcome.reason, (name, outcome)
        assert not outcome.has_snapshot and store.read(name) is None
        # two attempts, each bounded by the read timeout or the 3x-timeout download deadline
        assert took[name] < 2 * (3 * LIMITS.timeout + 1.5), (name, took[name])
        assert outcomes[f"after-{name}"].status == "fetched"
        assert store.read(f"after-{name}")[1] == PAGE  # type: ignore[index]
    assert outcomes["first-ok"].status == "fetched"
    # garbage with an HTML content type is stored as fetched, then reported at extraction
    assert outcomes["garbage"].status == "fetched"
    warnings: list[str] = []
    documents = snapshot_documents(sources, store, warnings.append)
    assert "garbage" not in {d.source_id for d in documents}
    assert any(w.startswith("garbage: skipped") for w in warnings)
    assert len(documents) == 1 + len(FAULTS)
    # only manifest URLs were requested
    assert set(requested) <= {s.url.removeprefix(base) for s in sources}


def test_a_failed_refetch_keeps_the_previous_snapshot(
    site: tuple[str, list[str]], tmp_path: Path
) -> None:
    base, _ = site
    store = SnapshotStore(tmp_path)
    fetch_all([Source(id="s", url=f"{base}/ok", kind="other")], store, LIMITS)
    for name in ("reset", "5gb", "drip"):
        (outcome,) = fetch_all([Source(id="s", url=f"{base}/{name}", kind="other")], store, LIMITS)
        assert outcome.status == "failed" and outcome.has_snapshot
        assert store.read("s")[1] == PAGE  # type: ignore[index]


# --- fetch safety: schemes, private addresses behind redirects, redirect caps ---------------

PUBLIC_HOST = "public.example"
PUBLIC_ADDRESS = "93.184.215.14"
PRIVATE_TARGETS = [
    "http://127.0.0.1/admin",
    "http://localhost:8080/",
    "http://[::1]/",
    "http://0.0.0.0/",
    "http://2130706433/",  # 127.0.0.1 written as one decimal number
    "http://0x7f.1/",  # ... and in hex shorthand
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped IPv6 loopback
    "http://10.1.2.3/",
    "http://172.16.0.1/",
    "http://192.168.1.1/router",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata endpoint
    "http://100.64.0.1/",  # carrier-grade NAT
]


@pytest.fixture
def internet(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A fake public web (no sockets): `public.example` resolves to a public address and its
    pages redirect wherever the path says; every URL the fetcher requests is recorded."""
    seen: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host == PUBLIC_HOST:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_ADDRESS, port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.host == PUBLIC_HOST and request.url.path == "/to":
            return httpx.Response(302, headers={"Location": request.url.params["target"]})
        if request.url.host == PUBLIC_HOST and request.url.path.startswith("/hop/"):
            number = int(request.url.path.split("/")[-1])
            return httpx.Response(302, headers={"Location": f"/hop/{number + 1}"})
        return httpx.Response(200, content=PAGE, headers={"Content-Type": "text/html"})

    real_client = httpx.Client

    def client(**kwargs):  # type: ignore[no-untyped-def]
        return real_client(transport=httpx.MockTransport(handler), **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(httpx, "Client", client)
    return seen


STRICT = FetchSettings(timeout=1, retries=0, max_redirects=3)


def _one(url: str, tmp_path: Path, settings: FetchSettings = STRICT) -> FetchOutcome:
    (outcome,) = fetch_all(
        [Source(id="s", url=url, kind="other")], SnapshotStore(tmp_path), settings
    )
    return outcome


def test_public_source_is_fetched(internet: list[str], tmp_path: Path) -> None:
    assert _one(f"http://{PUBLIC_HOST}/page", tmp_path).status == "fetched"
    assert internet == [f"http://{PUBLIC_HOST}/page"]


@pytest.mark.parametrize("target", PRIVATE_TARGETS)
def test_redirect_to_a_private_or_loopback_address_is_refused(
    internet: list[str], tmp_path: Path, target: str
) -> None:
    outcome = _one(f"http://{PUBLIC_HOST}/to?target={target}", tmp_path)
    assert outcome.status == "failed" and "non-public address" in outcome.reason
    assert len(internet) == 1  # the private address was never requested
    allowed = _one(
        f"http://{PUBLIC_HOST}/to?target={target}", tmp_path, FetchSettings(allow_private=True)
    )
    assert allowed.status == "fetched" and internet[-1].startswith(target.rstrip("/"))


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://public.example/file.txt",
        "gopher://public.example/",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "http:///no-host",
        "//public.example/scheme-relative",
    ],
)
def test_non_http_urls_are_refused_directly_and_behind_redirects(
    internet: list[str], tmp_path: Path, url: str
) -> None:
    direct = _one(url, tmp_path)
    assert direct.status == "failed" and "non-http(s)" in direct.reason
    assert internet == []
    if url.startswith(("http:", "//")):
        return  # as a redirect target these resolve against the public page (legitimately)
    redirected = _one(f"http://{PUBLIC_HOST}/to?target={url}", tmp_path)
    assert redirected.status == "failed"
    assert any(r in redirected.reason for r in ("non-http(s)", "non-public", "invalid URL"))
    assert len(internet) == 1


def test_redirect_chains_are_capped(internet: list[str], tmp_path: Path) -> None:
    outcome = _one(f"http://{PUBLIC_HOST}/hop/0", tmp_path)
    assert outcome.status == "failed" and "more than 3 redirects" in outcome.reason
    assert len(internet) == 4  # the first request plus three redirects, no more
