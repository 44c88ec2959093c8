"""Fetch manifest sources into snapshots: web pages as they are, trial records from their API,
scholarly articles as full-text XML from their open services. A failure keeps the previous
snapshot; no parsing here beyond checking that an article's XML is full text."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx

from corpus.articles import ArticleIds, Route, article_ids, idconv_url, pmcid_from_idconv, routes
from corpus.ctgov import api_url
from corpus.download import (
    PAGE_TYPES,
    Fetched,
    FetchError,
    FetchSettings,
    Throttle,
    get,
)
from corpus.extract import ExtractError
from corpus.jats import XML_TYPES, check_fulltext
from corpus.snapshots import SnapshotMeta, SnapshotStore
from corpus.sources import Source

__all__ = ["FetchError", "FetchOutcome", "FetchSettings", "fetch_all"]

BLOCKED_ARTICLE = (
    "the publisher blocks scripted access; save the PDF and add it with --docs PATH, "
    "or give its PMCID in the manifest"
)
BLOCKED_PAGE = "the site blocks scripted access; save the page or PDF and add it with --docs PATH"
BLOCKED_WITH_PMCID = (
    "the publisher blocks scripted access and PMC has no open full text; "
    "save the PDF and add it with --docs PATH"
)
NO_OPEN_TEXT = "no open full text; save the PDF and add it with --docs PATH"
JSON_TYPES = ("application/json",)


@dataclass(frozen=True)
class FetchOutcome:
    """One source's result: `fetched`, `not-modified`, `blocked` or `failed` (with the reason);
    `route` names where the text came from."""

    source_id: str
    status: str
    reason: str = ""
    has_snapshot: bool = False
    route: str = ""


@dataclass(frozen=True)
class _Run:
    client: httpx.Client
    store: SnapshotStore
    settings: FetchSettings
    ncbi: Throttle


def _conditional(previous: SnapshotMeta | None, url: str, user_agent: str) -> dict[str, str]:
    headers = {"User-Agent": user_agent}
    if previous and previous.url == url:
        if previous.etag:
            headers["If-None-Match"] = previous.etag
        if previous.last_modified:
            headers["If-Modified-Since"] = previous.last_modified
    return headers


def _save(
    run: _Run,
    source: Source,
    previous: SnapshotMeta | None,
    url: str,
    got: Fetched,
    route: str,
    ids: ArticleIds | None = None,
) -> FetchOutcome:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    if got.status == 304 and previous:
        run.store.touch(replace(previous, fetched_at=now))
        route = previous.route or ""
        return FetchOutcome(source.id, "not-modified", has_snapshot=True, route=route)
    meta = SnapshotMeta(
        source_id=source.id,
        url=url,
        final_url=got.final_url,
        fetched_at=now,
        http_status=got.status,
        content_type=got.headers.get("content-type", ""),
        sha256=hashlib.sha256(got.body).hexdigest(),
        etag=got.headers.get("etag"),
        last_modified=got.headers.get("last-modified"),
        route=route,
        pmcid=ids.pmcid if ids else None,
        doi=ids.doi if ids else None,
    )
    run.store.write(meta, got.body)
    return FetchOutcome(source.id, "fetched", has_snapshot=True, route=route)


def _fetch_page(run: _Run, source: Source, previous: SnapshotMeta | None) -> FetchOutcome:
    api = api_url(source.url)
    url, route = (api, "ctgov-api") if api else (source.url, "page")
    headers = _conditional(previous, url, run.settings.user_agent)
    try:
        got = get(run.client, url, headers, run.settings)
    except FetchError as exc:
        status = "blocked" if exc.blocked else "failed"
        reason = f"{exc}: {BLOCKED_PAGE}" if exc.blocked else str(exc)
        return FetchOutcome(source.id, status, reason, has_snapshot=previous is not None)
    return _save(run, source, previous, url, got, route)


def _find_pmcid(run: _Run, doi: str, previous: SnapshotMeta | None, notes: list[str]) -> str | None:
    if previous and previous.doi == doi and previous.pmcid:
        return previous.pmcid  # a DOI's PMCID never changes: no need to ask again
    headers = {"User-Agent": run.settings.user_agent}
    url = idconv_url(doi, run.settings.services)
    try:
        got = get(run.client, url, headers, run.settings, JSON_TYPES, run.ncbi)
        pmcid = pmcid_from_idconv(got.body)
    except (FetchError, ValueError) as exc:
        notes.append(f"ID converter: {exc}")
        return None
    if pmcid is None:
        notes.append("ID converter: the DOI is not in PMC")
    return pmcid


def _try_route(run: _Run, route: Route, previous: SnapshotMeta | None) -> Fetched:
    headers = _conditional(previous, route.url, run.settings.user_agent)
    accepted = XML_TYPES if route.xml else PAGE_TYPES
    throttle = run.ncbi if route.ncbi else None
    try:
        got = get(run.client, route.url, headers, run.settings, accepted, throttle)
    except FetchError as exc:
        raise FetchError(f"{route.name}: {exc}", exc.retry, exc.blocked, exc.unreachable) from None
    if route.xml and got.status == 200:
        try:
            check_fulltext(got.body, route.name)
        except ExtractError as exc:
            raise FetchError(str(exc)) from None
    return got


def _fetch_article(
    run: _Run, source: Source, ids: ArticleIds, previous: SnapshotMeta | None
) -> FetchOutcome:
    """Try each route in turn; the first full text (or 304) wins, the others are not asked."""
    notes: list[str] = []
    pmcid = ids.pmcid
    if pmcid is None and ids.doi:
        pmcid = _find_pmcid(run, ids.doi, previous, notes)
    found = ArticleIds(pmcid, ids.doi)
    blocked, answered = False, False
    candidates = routes(source.url, ids.doi, pmcid, run.settings.services)
    for route in candidates:
        try:
            got = _try_route(run, route, previous)
        except FetchError as exc:
            notes.append(str(exc))
            blocked, answered = blocked or exc.blocked, answered or not exc.unreachable
            continue
        return _save(run, source, previous, route.url, got, route.name, found)
    if not any(r.name == "publisher-html" for r in candidates):
        notes.append(f"{urlsplit(source.url).hostname} pages are not fetched by script")
    reason = "; ".join(notes)
    if blocked:
        reason += f" — {BLOCKED_ARTICLE if not pmcid else BLOCKED_WITH_PMCID}"
    elif answered:
        reason += f" — {NO_OPEN_TEXT}"
    status = "blocked" if blocked else "failed"
    return FetchOutcome(source.id, status, reason, has_snapshot=previous is not None)


def _fetch_source(run: _Run, source: Source) -> FetchOutcome:
    """Fetch one source (an article by its best route); a failure keeps the previous snapshot."""
    stored = run.store.read(source.id)
    previous = stored[0] if stored else None
    ids = article_ids(source)
    if ids is not None:
        return _fetch_article(run, source, ids, previous)
    return _fetch_page(run, source, previous)


def fetch_all(
    sources: list[Source],
    store: SnapshotStore,
    settings: FetchSettings,
    report: Callable[[int, int, FetchOutcome], None] | None = None,
) -> list[FetchOutcome]:
    """Fetch every source in turn; one failing never stops the others."""
    outcomes: list[FetchOutcome] = []
    timeout = httpx.Timeout(settings.timeout, connect=min(settings.timeout, 10.0))
    ncbi = Throttle(settings.services.ncbi_per_second)
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        run = _Run(client, store, settings, ncbi)
        for number, source in enumerate(sources, start=1):
            outcome = _fetch_source(run, source)
            outcomes.append(outcome)
            if report:
                report(number, len(sources), outcome)
    return outcomes
