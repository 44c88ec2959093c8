"""Scholarly articles: their identifiers (from the manifest or the URL) and the routes to
their open full text, best first. Pure logic: the HTTP is in `corpus.fetch`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlencode, urlsplit

from corpus.sources import DOI, PMCID, Source

_PMCID_IN_PATH = re.compile(r"(?:^|/)(PMC\d{1,10})(?=/|$)", re.IGNORECASE)
_DOI_IN_PATH = re.compile(r"(10\.\d{4,9}/[^?#\s]+)")
_PAGE_SUFFIX = re.compile(r"/(full|abstract|pdf|epdf|xml|html|fulltext|references)/?$")
FRONTIERS_DOI_PREFIX = "10.3389/"


@dataclass(frozen=True)
class ArticleServices:
    """Where the open full-text services live; settings, so tests can point them elsewhere."""

    europepmc_url: str = "https://www.ebi.ac.uk/europepmc/webservices/rest"
    eutils_url: str = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils"
    idconv_url: str = "https://pmc.ncbi.nlm.nih.gov/tools/idconv/api/v1/articles/"
    tool: str = "stemcell-qa"
    email: str | None = None
    # NCBI's published limit for clients without an API key
    ncbi_per_second: float = 3.0


@dataclass(frozen=True)
class ArticleIds:
    """What identifies an article: a PMCID, a DOI, or both."""

    pmcid: str | None = None
    doi: str | None = None


@dataclass(frozen=True)
class Route:
    """One way to the article's text: `xml` routes must answer with full-text article XML."""

    name: str
    url: str
    xml: bool
    ncbi: bool = False


def _doi_from_url(url: str) -> str | None:
    parts = urlsplit(url)
    path = unquote(parts.path)
    if (parts.hostname or "").endswith("doi.org"):
        candidate = path.strip("/")
    else:
        match = _DOI_IN_PATH.search(path)
        candidate = match.group(1) if match else ""
    while _PAGE_SUFFIX.search(candidate):
        candidate = _PAGE_SUFFIX.sub("", candidate)
    candidate = candidate.rstrip("/")
    return candidate if DOI.match(candidate) else None


def article_ids(source: Source) -> ArticleIds | None:
    """The article identifiers of a source (manifest first, then its URL), or None for a
    source that is not a scholarly article."""
    path = urlsplit(source.url).path
    match = _PMCID_IN_PATH.search(path)
    pmcid = source.pmcid or (match.group(1).upper() if match else None)
    doi = source.doi or _doi_from_url(source.url)
    return ArticleIds(pmcid, doi) if pmcid or doi else None


def is_pmc_page(url: str) -> bool:
    """Whether `url` is a PMC or Europe PMC article page (scripted access only through the
    services: PMC's terms)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host == "pmc.ncbi.nlm.nih.gov" or host.endswith("europepmc.org"):
        return True
    return host.endswith("ncbi.nlm.nih.gov") and "/pmc/" in parts.path.lower()


def _ncbi_params(services: ArticleServices) -> dict[str, str]:
    params = {"tool": services.tool}
    if services.email:
        params["email"] = services.email
    return params


def idconv_url(doi: str, services: ArticleServices) -> str:
    """The PMC ID converter query that finds the PMCID of a DOI."""
    query = urlencode({"ids": doi, "format": "json", **_ncbi_params(services)})
    return f"{services.idconv_url}?{query}"


def pmcid_from_idconv(body: bytes) -> str | None:
    """The PMCID in an ID converter answer, or None when the article is not in PMC.

    Raises `ValueError` when the answer is not the converter's JSON.
    """
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError("the ID converter's answer is not JSON") from None
    records = data.get("records") if isinstance(data, dict) else None
    if not isinstance(records, list):
        message = data.get("message") if isinstance(data, dict) else None
        raise ValueError(f"the ID converter answered without records ({message or 'no reason'})")
    for record in records:
        pmcid = record.get("pmcid") if isinstance(record, dict) else None
        if isinstance(pmcid, str) and PMCID.match(pmcid):
            return pmcid
    return None


def _frontiers_xml(url: str, doi: str | None) -> str | None:
    if not doi or not doi.startswith(FRONTIERS_DOI_PREFIX):
        return None
    parts = urlsplit(url)
    if (parts.hostname or "").endswith("doi.org") or doi not in unquote(parts.path):
        return None  # only the article page itself publishes /xml
    page = url.split("#", 1)[0].split("?", 1)[0].rstrip("/")
    return _PAGE_SUFFIX.sub("", page) + "/xml"


def routes(url: str, doi: str | None, pmcid: str | None, services: ArticleServices) -> list[Route]:
    """Where to look for the article's text, best first: Europe PMC, E-utilities, the
    Frontiers XML, then the publisher's page (never a PMC page: PMC's terms)."""
    found: list[Route] = []
    if pmcid:
        found.append(
            Route("europepmc", f"{services.europepmc_url.rstrip('/')}/{pmcid}/fullTextXML", True)
        )
        query = urlencode(
            {
                "db": "pmc",
                "id": pmcid.removeprefix("PMC"),
                "retmode": "xml",
                **_ncbi_params(services),
            }
        )
        eutils = f"{services.eutils_url.rstrip('/')}/efetch.fcgi?{query}"
        found.append(Route("eutils", eutils, xml=True, ncbi=True))
    frontiers = _frontiers_xml(url, doi)
    if frontiers:
        found.append(Route("frontiers-xml", frontiers, xml=True))
    if not is_pmc_page(url):
        found.append(Route("publisher-html", url, xml=False))
    return found
