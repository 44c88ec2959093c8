"""Fetch manifest URLs into snapshots: bounded in time, size and redirects; no parsing here."""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import httpx

from corpus.ctgov import api_url
from corpus.snapshots import SnapshotMeta, SnapshotStore
from corpus.sources import Source

ACCEPTED_TYPES = (
    "text/html",
    "application/xhtml+xml",
    "text/plain",
    "text/markdown",
    "application/pdf",
    "application/json",
)
_RETRY_STATUS = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class FetchSettings:
    """Limits for one fetch run."""

    timeout: float = 20.0
    retries: int = 2
    backoff: float = 0.5
    max_bytes: int = 20 * 1024 * 1024
    max_redirects: int = 5
    allow_private: bool = False
    user_agent: str = "stemcell-qa/0.1 (+source fetcher; manifest URLs only)"


@dataclass(frozen=True)
class FetchOutcome:
    """One source's result: `fetched`, `not-modified` or `failed` (with the reason)."""

    source_id: str
    status: str
    reason: str = ""
    has_snapshot: bool = False


class FetchError(Exception):
    """A fetch that cannot succeed; `retry` says whether trying again may help."""

    def __init__(self, reason: str, retry: bool = False) -> None:
        super().__init__(reason)
        self.retry = retry


def check_address(url: str, allow_private: bool) -> None:
    """Refuse non-http(s) URLs and hosts resolving to private, loopback or link-local addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"refused non-http(s) URL {url!r}")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise FetchError(f"cannot resolve {parts.hostname} (offline?): {exc.strerror}") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise FetchError(f"refused {parts.hostname}: resolves to non-public address {address}")


def _download(
    client: httpx.Client, url: str, headers: dict[str, str], settings: FetchSettings
) -> tuple[httpx.Response, bytes, str]:
    """GET with manual redirects so every hop is checked; returns (response, body, final url)."""
    deadline = time.monotonic() + settings.timeout * 3  # a slow drip must end too
    for _ in range(settings.max_redirects + 1):
        check_address(url, settings.allow_private)
        with client.stream("GET", url, headers=headers) as response:
            if response.status_code == 304:
                return response, b"", url
            if response.status_code in (301, 302, 303, 307, 308):
                location = response.headers.get("location")
                if not location:
                    raise FetchError(f"HTTP {response.status_code} without a Location")
                url = urljoin(url, location)
                continue
            if response.status_code in _RETRY_STATUS:
                raise FetchError(f"HTTP {response.status_code}", retry=True)
            if response.status_code != 200:
                raise FetchError(f"HTTP {response.status_code}")
            content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type not in ACCEPTED_TYPES:
                raise FetchError(f"unsupported content type {content_type or 'none'!r}")
            declared = int(response.headers.get("content-length") or 0)
            if declared > settings.max_bytes:
                raise FetchError(f"body of {declared} bytes is over the {settings.max_bytes} cap")
            body = bytearray()
            for piece in response.iter_bytes():
                body.extend(piece)
                if len(body) > settings.max_bytes:
                    raise FetchError(f"body is over the {settings.max_bytes}-byte cap")
                if time.monotonic() > deadline:
                    raise FetchError(f"download took over {settings.timeout * 3:g}s", retry=True)
            return response, bytes(body), url
    raise FetchError(f"more than {settings.max_redirects} redirects")


def fetch_one(
    client: httpx.Client, source: Source, store: SnapshotStore, settings: FetchSettings
) -> FetchOutcome:
    """Fetch one source with retries; a failure keeps the previous snapshot."""
    previous = store.read(source.id)
    url = api_url(source.url) or source.url
    headers = {"User-Agent": settings.user_agent}
    if previous and previous[0].url == url:
        if previous[0].etag:
            headers["If-None-Match"] = previous[0].etag
        if previous[0].last_modified:
            headers["If-Modified-Since"] = previous[0].last_modified
    reason = ""
    for attempt in range(settings.retries + 1):
        try:
            response, body, final_url = _download(client, url, headers, settings)
        except FetchError as exc:
            reason, retry = str(exc), exc.retry
        except httpx.TimeoutException:
            reason, retry = f"timed out after {settings.timeout:g}s", True
        except httpx.InvalidURL as exc:  # e.g. a redirect to `javascript:...`; not an HTTPError
            reason, retry = f"invalid URL ({exc})", False
        except httpx.HTTPError as exc:
            reason, retry = f"connection failed ({type(exc).__name__})", True
        else:
            now = datetime.now(UTC).isoformat(timespec="seconds")
            if response.status_code == 304 and previous:
                store.touch(replace(previous[0], fetched_at=now))
                return FetchOutcome(source.id, "not-modified", has_snapshot=True)
            meta = SnapshotMeta(
                source_id=source.id,
                url=url,
                final_url=final_url,
                fetched_at=now,
                http_status=response.status_code,
                content_type=response.headers.get("content-type", ""),
                sha256=hashlib.sha256(body).hexdigest(),
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
            )
            store.write(meta, body)
            return FetchOutcome(source.id, "fetched", has_snapshot=True)
        if not retry or attempt == settings.retries:
            break
        time.sleep(settings.backoff * 2**attempt)
    return FetchOutcome(source.id, "failed", reason, has_snapshot=previous is not None)


def fetch_all(
    sources: list[Source],
    store: SnapshotStore,
    settings: FetchSettings,
    report: Callable[[int, int, FetchOutcome], None] | None = None,
) -> list[FetchOutcome]:
    """Fetch every source in turn; one failing never stops the others."""
    outcomes: list[FetchOutcome] = []
    timeout = httpx.Timeout(settings.timeout, connect=min(settings.timeout, 10.0))
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        for number, source in enumerate(sources, start=1):
            outcome = fetch_one(client, source, store, settings)
            outcomes.append(outcome)
            if report:
                report(number, len(sources), outcome)
    return outcomes
