"""Article identifiers from the manifest and URLs, and the order of routes to the full text."""

from __future__ import annotations

import pytest

from corpus.articles import (
    ArticleIds,
    ArticleServices,
    article_ids,
    idconv_url,
    pmcid_from_idconv,
    routes,
)
from corpus.sources import Source, default_manifest, load_manifest

SERVICES = ArticleServices(email="maintainer@example.org")


def _source(url: str, **ids: str) -> Source:
    return Source(id="s", url=url, kind="review", **ids)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://pmc.ncbi.nlm.nih.gov/articles/PMC12733355/", ArticleIds("PMC12733355", None)),
        ("https://www.ncbi.nlm.nih.gov/pmc/articles/PMC123/", ArticleIds("PMC123", None)),
        (
            "https://www.frontiersin.org/journals/medicine/articles/10.3389/fmed.2025.1674720/full",
            ArticleIds(None, "10.3389/fmed.2025.1674720"),
        ),
        (
            "https://onlinelibrary.wiley.com/doi/10.1155/sci/3734659",
            ArticleIds(None, "10.1155/sci/3734659"),
        ),
        (
            "https://onlinelibrary.wiley.com/doi/full/10.1155/sci/3734659",
            ArticleIds(None, "10.1155/sci/3734659"),
        ),
        ("https://doi.org/10.1155/sci/3734659", ArticleIds(None, "10.1155/sci/3734659")),
        ("https://clinicaltrials.gov/study/NCT07297576", None),
        ("https://www.ucihealth.org/about-us/news/2025/12/huntingtons-clinical-trial-grant", None),
    ],
)
def test_article_ids_are_read_from_urls(url: str, expected: ArticleIds | None) -> None:
    assert article_ids(_source(url)) == expected


def test_manifest_ids_win_over_the_url() -> None:
    source = _source("https://example.org/page", pmcid="PMC42", doi="10.1000/xyz")
    assert article_ids(source) == ArticleIds("PMC42", "10.1000/xyz")


def test_the_packaged_manifest_names_the_three_articles() -> None:
    ids = {s.id: article_ids(s) for s in load_manifest(default_manifest())}
    assert ids["pmc12733355"] == ArticleIds("PMC12733355", None)
    assert ids["frontiers-fmed-2025-1674720"] == ArticleIds(None, "10.3389/fmed.2025.1674720")
    assert ids["stem-cells-intl-3734659"] == ArticleIds(None, "10.1155/sci/3734659")
    assert sum(v is not None for v in ids.values()) == 3  # pages and the trial record stay pages


def test_routes_prefer_europepmc_then_eutils_then_frontiers_xml_then_the_page() -> None:
    page = "https://www.frontiersin.org/journals/medicine/articles/10.3389/fmed.2025.1674720/full"
    found = routes(page, "10.3389/fmed.2025.1674720", "PMC99", SERVICES)
    assert [r.name for r in found] == ["europepmc", "eutils", "frontiers-xml", "publisher-html"]
    assert found[0].url == "https://www.ebi.ac.uk/europepmc/webservices/rest/PMC99/fullTextXML"
    assert found[1].url == (
        "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/efetch.fcgi?db=pmc&id=99&retmode=xml"
        "&tool=stemcell-qa&email=maintainer%40example.org"
    )
    assert [r.ncbi for r in found] == [False, True, False, False]
    assert found[2].url == page.removesuffix("/full") + "/xml"
    assert found[3].url == page


def test_a_pmc_page_is_never_scraped() -> None:
    found = routes("https://pmc.ncbi.nlm.nih.gov/articles/PMC99/", None, "PMC99", SERVICES)
    assert [r.name for r in found] == ["europepmc", "eutils"]


def test_id_converter_query_and_answers() -> None:
    assert idconv_url("10.1155/sci/3734659", SERVICES) == (
        "https://pmc.ncbi.nlm.nih.gov/tools/idconv/api/v1/articles/?ids=10.1155%2Fsci%2F3734659"
        "&format=json&tool=stemcell-qa&email=maintainer%40example.org"
    )
    found = b'{"status": "ok", "records": [{"doi": "10.1/x", "pmcid": "PMC77", "pmid": "5"}]}'
    assert pmcid_from_idconv(found) == "PMC77"
    missing = b'{"records": [{"doi": "10.1/x", "status": "error", "errmsg": "invalid article id"}]}'
    assert pmcid_from_idconv(missing) is None
    with pytest.raises(ValueError, match="not JSON"):
        pmcid_from_idconv(b"<html>")
    with pytest.raises(ValueError, match="without records"):
        pmcid_from_idconv(b'{"status": "error", "message": "bad request"}')
