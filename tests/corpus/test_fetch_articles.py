"""Scholarly sources resolved through their open full-text services, against one local HTTP
server standing in for Europe PMC, NCBI E-utilities, the PMC ID converter, Frontiers and a
publisher behind a bot challenge (never the internet)."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from corpus.articles import ArticleServices
from corpus.collect import snapshot_documents
from corpus.fetch import FetchOutcome, FetchSettings, fetch_all
from corpus.snapshots import SnapshotMeta, SnapshotStore
from corpus.sources import Source

FIXTURES = Path(__file__).parent / "fixtures"
JATS = (FIXTURES / "jats-review.xml").read_bytes()
NLM = (FIXTURES / "nlm-efetch.xml").read_bytes()
METADATA_ONLY = NLM.split(b"<body>")[0] + NLM.split(b"</body>")[1]
PAGE = (
    b"<html><body><article><h1>Clinic harms</h1><p>Three patients lost their sight.</p>"
    b"<p>Clinics sold the injections as safe.</p></article></body></html>"
)
CHALLENGE = (
    b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
    b"<noscript>Enable JavaScript and cookies to continue</noscript>"
    b'<script src="/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1"></script></body></html>'
)
XML, HTML, JSON = "application/xml", "text/html", "application/json"
DOI = "10.1155/2099/0000002"
FRONTIERS_DOI = "10.3389/fmed.2099.0000001"
FIX = (
    "the publisher blocks scripted access; save the PDF and add it with --docs PATH, "
    "or give its PMCID in the manifest"
)


@dataclass
class Answer:
    status: int
    ctype: str = XML
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    at: float
    path: str
    query: dict[str, str]
    headers: dict[str, str]

    @property
    def key(self) -> str:
        return _key(self.path, self.query)


def _key(path: str, query: dict[str, str]) -> str:
    for name in ("id", "ids"):
        if name in query:
            return f"{path}?{name}={query[name]}"
    return path


class Services:
    """The stand-in: `answers` maps a path (plus its `id`/`ids` parameter) to an answer;
    anything else is a 404. Every request is recorded with its arrival time."""

    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}
        self.requests: list[Request] = []
        self.base = ""

    def settings(self, **changes: object) -> FetchSettings:
        services = ArticleServices(
            europepmc_url=f"{self.base}/europepmc/webservices/rest",
            eutils_url=f"{self.base}/eutils",
            idconv_url=f"{self.base}/idconv/",
            email="maintainer@example.org",
        )
        values: dict[str, object] = {
            "timeout": 2,
            "retries": 1,
            "backoff": 0.01,
            "allow_private": True,
            "services": services,
            **changes,
        }
        return FetchSettings(**values)  # type: ignore[arg-type]

    def europepmc(self, pmcid: str) -> str:
        return f"/europepmc/webservices/rest/{pmcid}/fullTextXML"

    def eutils(self, pmcid: str) -> str:
        return f"/eutils/efetch.fcgi?id={pmcid.removeprefix('PMC')}"

    def idconv(self, doi: str) -> str:
        return f"/idconv/?ids={doi}"

    def paths(self) -> list[str]:
        return [r.key for r in self.requests]


@pytest.fixture
def services() -> Iterator[Services]:
    stand_in = Services()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            request = Request(time.monotonic(), parts.path, query, dict(self.headers.items()))
            stand_in.requests.append(request)
            answer = stand_in.answers.get(request.key, Answer(404, HTML, b"not found"))
            etag = answer.headers.get("ETag")
            status = 304 if etag and self.headers.get("If-None-Match") == etag else answer.status
            body = b"" if status == 304 else answer.body
            self.send_response(status)
            self.send_header("Content-Type", answer.ctype)
            self.send_header("Content-Length", str(len(body)))
            for key, value in answer.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    stand_in.base = f"http://127.0.0.1:{server.server_address[1]}"
    yield stand_in
    server.shutdown()
    server.server_close()


def _fetch(services: Services, *sources: Source, **settings: object) -> list[FetchOutcome]:
    return fetch_all(list(sources), SnapshotStore(services.store), services.settings(**settings))


@pytest.fixture(autouse=True)
def _store(services: Services, tmp_path: Path) -> None:
    services.store = tmp_path  # type: ignore[attr-defined]


def _snapshot(services: Services, source_id: str) -> tuple[SnapshotMeta, bytes]:
    stored = SnapshotStore(services.store).read(source_id)  # type: ignore[attr-defined]
    assert stored is not None
    return stored


def test_a_pmcid_article_comes_from_europepmc_and_links_to_its_human_page(
    services: Services,
) -> None:
    services.answers[services.europepmc("PMC9999001")] = Answer(200, XML, JATS)
    page = f"{services.base}/articles/PMC9999001/"
    source = Source(id="review", url=page, kind="review", pmcid="PMC9999001")
    (outcome,) = _fetch(services, source)
    assert (outcome.status, outcome.route) == ("fetched", "europepmc")
    assert services.paths() == [services.europepmc("PMC9999001")]  # nothing else was asked
    meta, body = _snapshot(services, "review")
    assert meta.route == "europepmc" and body == JATS
    assert meta.url == services.base + services.europepmc("PMC9999001")
    (doc,) = snapshot_documents([source], SnapshotStore(services.store), print)  # type: ignore[attr-defined]
    assert doc.url == page  # quotes link to the article page, never to the API
    assert "Fever within 24 hours of infusion" in doc.text and "Turner L" not in doc.text


def test_a_europepmc_miss_falls_back_to_eutils_with_tool_and_email(services: Services) -> None:
    services.answers[services.eutils("PMC9999002")] = Answer(200, "text/xml; charset=UTF-8", NLM)
    source = Source(id="sci", url=f"{services.base}/article", kind="review", pmcid="PMC9999002")
    (outcome,) = _fetch(services, source)
    assert (outcome.status, outcome.route) == ("fetched", "eutils")
    assert services.paths() == [services.europepmc("PMC9999002"), services.eutils("PMC9999002")]
    efetch = services.requests[1].query
    assert efetch == {
        "db": "pmc",
        "id": "9999002",
        "retmode": "xml",
        "tool": "stemcell-qa",
        "email": "maintainer@example.org",
    }


def test_a_doi_is_resolved_by_the_id_converter_once_then_fetched_conditionally(
    services: Services,
) -> None:
    services.answers[services.idconv(DOI)] = Answer(
        200,
        JSON,
        b'{"status": "ok", "records": [{"doi": "%s", "pmcid": "PMC9999002"}]}' % DOI.encode(),
    )
    services.answers[services.europepmc("PMC9999002")] = Answer(200, XML, NLM, {"ETag": '"v1"'})
    source = Source(id="sci", url=f"{services.base}/doi/{DOI}", kind="review", doi=DOI)
    (first,) = _fetch(services, source)
    assert (first.status, first.route) == ("fetched", "europepmc")
    assert services.paths() == [services.idconv(DOI), services.europepmc("PMC9999002")]
    assert services.requests[0].query["tool"] == "stemcell-qa"
    assert _snapshot(services, "sci")[0].pmcid == "PMC9999002"
    services.requests.clear()
    (second,) = _fetch(services, source)
    assert (second.status, second.route) == ("not-modified", "europepmc")
    assert services.paths() == [services.europepmc("PMC9999002")]  # the PMCID was remembered
    assert services.requests[0].headers["If-None-Match"] == '"v1"'


def test_a_frontiers_article_outside_pmc_comes_from_its_xml(services: Services) -> None:
    services.answers[services.idconv(FRONTIERS_DOI)] = Answer(
        200, JSON, b'{"records": [{"doi": "x", "status": "error", "errmsg": "invalid article id"}]}'
    )
    article = f"/journals/medicine/articles/{FRONTIERS_DOI}"
    services.answers[f"{article}/xml"] = Answer(200, "text/xml", JATS)
    page = f"{services.base}{article}/full"
    source = Source(id="frontiers", url=page, kind="review", doi=FRONTIERS_DOI)
    (outcome,) = _fetch(services, source)
    assert (outcome.status, outcome.route) == ("fetched", "frontiers-xml")
    assert services.paths() == [services.idconv(FRONTIERS_DOI), f"{article}/xml"]
    (doc,) = snapshot_documents([source], SnapshotStore(services.store), print)  # type: ignore[attr-defined]
    assert doc.url == page


def test_resolution_order_ends_at_the_publisher_page(services: Services) -> None:
    services.answers[services.idconv(DOI)] = Answer(
        200, JSON, b'{"records": [{"pmcid": "PMC9999002"}]}'
    )
    services.answers[services.eutils("PMC9999002")] = Answer(200, XML, METADATA_ONLY)
    services.answers[f"/doi/{DOI}"] = Answer(200, HTML, PAGE)
    source = Source(id="sci", url=f"{services.base}/doi/{DOI}", kind="review", doi=DOI)
    (outcome,) = _fetch(services, source)
    assert (outcome.status, outcome.route) == ("fetched", "publisher-html")
    assert services.paths() == [
        services.idconv(DOI),
        services.europepmc("PMC9999002"),
        services.eutils("PMC9999002"),
        f"/doi/{DOI}",
    ]
    (doc,) = snapshot_documents([source], SnapshotStore(services.store), print)  # type: ignore[attr-defined]
    assert "Three patients lost their sight." in doc.text


def test_a_publisher_challenge_is_reported_with_the_fix_and_never_stored(
    services: Services,
) -> None:
    services.answers[services.idconv(DOI)] = Answer(200, JSON, b'{"records": [{"doi": "x"}]}')
    services.answers[f"/doi/{DOI}"] = Answer(200, HTML, PAGE)
    source = Source(id="wiley", url=f"{services.base}/doi/{DOI}", kind="review", doi=DOI)
    assert _fetch(services, source)[0].route == "publisher-html"
    services.answers[f"/doi/{DOI}"] = Answer(403, HTML, CHALLENGE)
    (outcome,) = _fetch(services, source)
    assert outcome.status == "blocked" and outcome.has_snapshot
    assert "127.0.0.1 answered HTTP 403 with a bot-challenge page" in outcome.reason
    assert outcome.reason.endswith(FIX) and "\n" not in outcome.reason
    assert "ID converter: the DOI is not in PMC" in outcome.reason
    assert _snapshot(services, "wiley")[1] == PAGE  # the challenge page was not stored


def test_a_challenge_on_a_plain_page_is_not_retried(services: Services) -> None:
    services.answers["/news"] = Answer(503, HTML, CHALLENGE, {"cf-mitigated": "challenge"})
    (outcome,) = _fetch(services, Source(id="news", url=f"{services.base}/news", kind="other"))
    assert outcome.status == "blocked" and not outcome.has_snapshot
    assert outcome.reason.endswith("save the page or PDF and add it with --docs PATH")
    assert services.paths() == ["/news"]
    services.answers["/busy"] = Answer(503, HTML, b"<p>Down for maintenance</p>")
    (busy,) = _fetch(services, Source(id="busy", url=f"{services.base}/busy", kind="other"))
    assert busy.status == "failed" and busy.reason == "HTTP 503"
    assert services.paths().count("/busy") == 2  # an outage is retried


BAD = {
    "malformed XML": (Answer(200, XML, JATS[:500]), Answer(200, XML, JATS[:700]), "malformed XML"),
    "an XML error document": (
        Answer(404, HTML, b"not found"),
        Answer(
            200,
            XML,
            b"<eFetchResult><ERROR>UID=9999009: cannot get document summary</ERROR></eFetchResult>",
        ),
        "eutils: the service answered with an error (UID=9999009: cannot get document summary)",
    ),
    "a metadata-only record": (
        Answer(404, HTML, b""),
        Answer(200, XML, METADATA_ONLY),
        "eutils: metadata-only record, no full text (not in the open-access subset)",
    ),
    "a PMCID that does not resolve": (
        Answer(404, HTML, b""),
        Answer(
            200,
            XML,
            b"<pmc-articleset><error>The following PMCID is not available: PMC9999009</error>"
            b"</pmc-articleset>",
        ),
        "europepmc: HTTP 404; eutils: the service answered with an error (The following PMCID",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_answers_get_one_line_keep_the_snapshot_and_others_proceed(
    services: Services, case: str
) -> None:
    europepmc, eutils, reason = BAD[case]
    services.answers[services.europepmc("PMC9999009")] = europepmc
    services.answers[services.eutils("PMC9999009")] = eutils
    services.answers[services.europepmc("PMC9999001")] = Answer(200, XML, JATS)
    old = b"<article><body><p>An earlier good snapshot.</p></body></article>"
    meta = SnapshotMeta("bad", "u", "u", "then", 200, XML, hashlib.sha256(old).hexdigest())
    SnapshotStore(services.store).write(meta, old)  # type: ignore[attr-defined]
    bad = Source(id="bad", url=f"{services.base}/gone", kind="review", pmcid="PMC9999009")
    good = Source(id="good", url=f"{services.base}/ok", kind="review", pmcid="PMC9999001")
    first, second = _fetch(services, bad, good)
    assert first.status == "failed" and first.has_snapshot
    assert reason in first.reason and "\n" not in first.reason
    assert first.reason.endswith("no open full text; save the PDF and add it with --docs PATH")
    assert _snapshot(services, "bad")[1] == old
    assert (second.status, second.route) == ("fetched", "europepmc")


def test_ncbi_sees_no_more_than_three_requests_a_second(services: Services) -> None:
    sources = []
    for number in range(4):
        doi, pmcid = f"10.5555/rate.{number}", f"PMC99990{number}"
        services.answers[services.idconv(doi)] = Answer(
            200, JSON, b'{"records": [{"pmcid": "%s"}]}' % pmcid.encode()
        )
        services.answers[services.eutils(pmcid)] = Answer(200, XML, NLM)
        sources.append(
            Source(id=f"a{number}", url=f"{services.base}/p{number}", kind="review", doi=doi)
        )
    outcomes = _fetch(services, *sources)
    assert [o.route for o in outcomes] == ["eutils"] * 4
    ncbi = [r.at for r in services.requests if r.path.startswith(("/idconv", "/eutils"))]
    assert len(ncbi) == 8
    for earlier, later in zip(ncbi, ncbi[3:], strict=False):
        assert later - earlier >= 1.0  # any four NCBI requests span at least a second
    europepmc = [r.at for r in services.requests if r.path.startswith("/europepmc")]
    assert len(europepmc) == 4  # Europe PMC is not NCBI: not throttled by it


def test_a_304_to_an_unconditional_request_stores_nothing(services: Services) -> None:
    services.answers[services.europepmc("PMC9999001")] = Answer(304, XML, b"")
    source = Source(id="odd", url=f"{services.base}/odd", kind="review", pmcid="PMC9999001")
    (outcome,) = _fetch(services, source)
    assert outcome.status == "failed" and not outcome.has_snapshot
    assert "europepmc: HTTP 304 to a request that was not conditional" in outcome.reason
    assert SnapshotStore(services.store).read("odd") is None  # type: ignore[attr-defined]
