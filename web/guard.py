"""Request guards: security headers, body size cap, per-client rate limit, privacy-safe log."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("stemcell_qa.access")

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "permissions-policy": "interest-cohort=()",
}


# Builds the response for a refused request: (scope, status, detail, headers) -> an ASGI app.
Refusal = Callable[[Scope, int, str, dict[str, str]], ASGIApp]


def json_refusal(scope: Scope, status: int, detail: str, headers: dict[str, str]) -> ASGIApp:
    """The API's error shape, `{"detail": ...}`."""
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


class GuardMiddleware:
    """Adds security headers, refuses oversized bodies and over-eager clients, logs requests
    without their query strings or bodies (questions stay out of logs)."""

    def __init__(
        self,
        app: ASGIApp,
        max_body: int,
        limiter: RateLimiter | None,
        trusted_proxies: list[str],
        refuse: Refusal = json_refusal,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.limiter = limiter
        self.trusted = set(trusted_proxies)
        self.refuse = refuse  # the app renders refusals: a page for the form, JSON for the API

    def client(self, scope: Scope) -> str:
        """The client address; X-Forwarded-For only counts when sent by a trusted proxy."""
        peer = scope.get("client")
        address = peer[0] if peer else "unknown"
        if address in self.trusted:
            for name, value in scope.get("headers", []):
                if name == b"x-forwarded-for":
                    hops = [h.strip() for h in value.decode("latin-1").split(",") if h.strip()]
                    for hop in reversed(hops):
                        if hop not in self.trusted:
                            return hop
        return address

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status_seen = {"status": 0}
        headers = SECURITY_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_seen["status"] = message["status"]
                existing = {k.lower() for k, _ in message.get("headers", [])}
                extra = [
                    (k.encode(), v.encode())
                    for k, v in headers.items()
                    if k.encode() not in existing
                ]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        try:
            await self._guarded(scope, receive, send_with_headers, status_seen)
        finally:
            log.info(
                "%s %s %s %.1fms",
                scope["method"],
                scope["path"],
                status_seen["status"],
                (time.perf_counter() - began) * 1000,
            )

    async def _guarded(
        self, scope: Scope, receive: Receive, send: Send, status_seen: dict[str, int]
    ) -> None:
        declared = dict(scope.get("headers", [])).get(b"content-length")
        too_large = f"request body is over {self.max_body} bytes"
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await self.refuse(scope, 413, too_large, {})(scope, receive, send)
            return
        asks = scope["path"] in ("/ask", "/turn") or (
            scope["path"] == "/" and scope["method"] == "POST"
        )
        if self.limiter and asks:  # only asking costs quota; reading the page does not
            wait = self.limiter.hit(self.client(scope))
            if wait > 0:
                retry = {"retry-after": str(math.ceil(wait))}
                refusal = self.refuse(scope, 429, "too many requests; try again shortly", retry)
                await refusal(scope, receive, send)
                return
        received = 0

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, capped_receive, send)
        except _BodyTooLarge:
            if not status_seen["status"]:
                await self.refuse(scope, 413, too_large, {})(scope, receive, send)


class _BodyTooLarge(Exception):
    """A streamed body went over the cap."""


class RateLimiter:
    """Sliding one-minute window of request times per client address (per process)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, client: str) -> float:
        """Record a request; seconds to wait when over the limit (the request is then refused)."""
        now = time.monotonic()
        with self._lock:
            window = self._hits.setdefault(client, deque())
            while window and window[0] <= now - 60:
                window.popleft()
            if len(window) >= self.per_minute:
                return max(window[0] + 60 - now, 0.001)
            window.append(now)
            if len(self._hits) > 10000:  # forget idle clients so memory stays bounded
                for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - 60]:
                    del self._hits[key]
            return 0.0
