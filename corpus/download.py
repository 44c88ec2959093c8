"""One bounded HTTP GET: address checks on every hop, manual redirects, size and time caps,
retries, bot-challenge pages recognised, and a request spacing for services that ask for one."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from corpus.articles import ArticleServices

PAGE_TYPES = (
    "text/html",
    "application/xhtml+xml",
    "text/plain",
    "text/markdown",
    "application/pdf",
    "application/json",
)
_RETRY_STATUS = {429, 500, 502, 503, 504}
_CHALLENGE_STATUS = {403, 429, 503}
_CHALLENGE_PEEK = 64 * 1024  # a challenge page is small; read no more of a refusal than this


@dataclass(frozen=True)
class FetchSettings:
    """Limits for one fetch run, and where the scholarly full-text services live."""

    timeout: float = 20.0
    retries: int = 2
    backoff: float = 0.5
    max_bytes: int = 20 * 1024 * 1024
    max_redirects: int = 5
    allow_private: bool = False
    user_agent: str = "stemcell-qa/0.1 (+source fetcher; manifest URLs only)"
    services: ArticleServices = field(default_factory=ArticleServices)
    # Text of the bot-challenge pages of Cloudflare, Akamai, Imperva and PMC's "Preparing to
    # download" step (GjjvdBurg/paper2remarkable#160, MaterialEyes/exsclaim#24), lower case.
    challenge_markers: tuple[str, ...] = (
        "just a moment",
        "cf-chl",
        "challenge-platform",
        "checking your browser",
        "checking if the site connection is secure",
        "enable javascript and cookies to continue",
        "verify you are human",
        "captcha",
        "preparing to download",
        "attention required",
        "are you a robot",
        "pardon our interruption",
        "incapsula",
        "access denied",
    )


class FetchError(Exception):
    """A fetch that cannot succeed; `retry` says whether trying again may help, `blocked`
    that the site refused scripted access with a bot challenge, `unreachable` that no answer
    came at all (offline, timeout)."""

    def __init__(
        self, reason: str, retry: bool = False, blocked: bool = False, unreachable: bool = False
    ) -> None:
        super().__init__(reason)
        self.retry = retry
        self.blocked = blocked
        self.unreachable = unreachable


@dataclass(frozen=True)
class Fetched:
    """A 200 (body and headers) or a 304 (no body) answer, and the URL it came from."""

    status: int
    headers: httpx.Headers
    body: bytes
    final_url: str


class Throttle:
    """Spaces requests at least `1 / per_second` apart, across threads."""

    # 5% slack: a server that timestamps arrivals (with network jitter) still counts no more
    # than `per_second` requests in any one second.
    SLACK = 1.05

    def __init__(self, per_second: float, sleep: Callable[[float], None] = time.sleep) -> None:
        self._gap = self.SLACK / per_second
        self._next = 0.0
        self._sleep = sleep
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until the next request may go out."""
        with self._lock:
            now = time.monotonic()
            if now < self._next:
                self._sleep(self._next - now)
                now = self._next
            self._next = now + self._gap


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
        reason = f"cannot resolve {parts.hostname} (offline?): {exc.strerror}"
        raise FetchError(reason, unreachable=True) from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise FetchError(f"refused {parts.hostname}: resolves to non-public address {address}")


def is_challenge(response: httpx.Response, body: bytes, markers: tuple[str, ...]) -> bool:
    """Whether a refusal (403/429/503) is a bot-challenge page rather than an outage."""
    if response.headers.get("cf-mitigated", "").lower() == "challenge":
        return True
    text = body[:_CHALLENGE_PEEK].decode("utf-8", errors="replace").lower()
    return any(marker in text for marker in markers)


def _refusal(response: httpx.Response, url: str, settings: FetchSettings) -> FetchError:
    peek = bytearray()
    for piece in response.iter_bytes():
        peek.extend(piece)
        if len(peek) >= _CHALLENGE_PEEK:
            break
    status = response.status_code
    if is_challenge(response, bytes(peek), settings.challenge_markers):
        host = urlsplit(url).hostname
        return FetchError(f"{host} answered HTTP {status} with a bot-challenge page", blocked=True)
    return FetchError(f"HTTP {status}", retry=status in _RETRY_STATUS)


def download(
    client: httpx.Client,
    url: str,
    headers: dict[str, str],
    settings: FetchSettings,
    accepted: tuple[str, ...] = PAGE_TYPES,
) -> Fetched:
    """GET with manual redirects so every hop is checked; a 304 comes back without a body."""
    deadline = time.monotonic() + settings.timeout * 3  # a slow drip must end too
    for _ in range(settings.max_redirects + 1):
        check_address(url, settings.allow_private)
        with client.stream("GET", url, headers=headers) as response:
            if response.status_code == 304:
                if not {"If-None-Match", "If-Modified-Since"} & set(headers):
                    raise FetchError("HTTP 304 to a request that was not conditional")
                return Fetched(304, response.headers, b"", url)
            if response.status_code in (301, 302, 303, 307, 308):
                location = response.headers.get("location")
                if not location:
                    raise FetchError(f"HTTP {response.status_code} without a Location")
                url = urljoin(url, location)
                continue
            if response.status_code in _CHALLENGE_STATUS:
                raise _refusal(response, url, settings)
            if response.status_code in _RETRY_STATUS:
                raise FetchError(f"HTTP {response.status_code}", retry=True)
            if response.status_code != 200:
                raise FetchError(f"HTTP {response.status_code}")
            content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type not in accepted:
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
                    reason = f"download took over {settings.timeout * 3:g}s"
                    raise FetchError(reason, retry=True, unreachable=True)
            return Fetched(200, response.headers, bytes(body), url)
    raise FetchError(f"more than {settings.max_redirects} redirects")


def get(
    client: httpx.Client,
    url: str,
    headers: dict[str, str],
    settings: FetchSettings,
    accepted: tuple[str, ...] = PAGE_TYPES,
    throttle: Throttle | None = None,
) -> Fetched:
    """`download` with retries and backoff; raises `FetchError` with the last reason."""
    for attempt in range(settings.retries + 1):
        if throttle is not None:
            throttle.wait()
        try:
            return download(client, url, headers, settings, accepted)
        except FetchError as exc:
            error = exc
        except httpx.TimeoutException:
            error = FetchError(f"timed out after {settings.timeout:g}s", True, unreachable=True)
        except httpx.InvalidURL as exc:  # e.g. a redirect to `javascript:...`; not an HTTPError
            error = FetchError(f"invalid URL ({exc})")
        except httpx.HTTPError as exc:
            reason = f"connection failed ({type(exc).__name__})"
            error = FetchError(reason, retry=True, unreachable=True)
        if not error.retry or attempt == settings.retries:
            break
        time.sleep(settings.backoff * 2**attempt)
    raise error
