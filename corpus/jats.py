"""JATS / NLM-DTD article XML -> `Document`: title, date, abstract and headed body sections.

Kept: the article title, publication date, the abstract and the body's sections (headings
kept) and paragraphs. Dropped: references, figure and table markup, formulas, author lists and
affiliations, footnotes, funding, acknowledgements and competing-interest statements.
The XML is parsed without loading DTDs, resolving entities or touching the network: nothing
the file points to is ever fetched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from html.entities import html5

from lxml import etree

from corpus.document import Document
from corpus.extract import ExtractError, Meta, TextBuilder, make_document

CONTENT_TYPE = "application/xml"
XML_TYPES = ("application/xml", "text/xml", "application/jats+xml")
PMC_PAGE = "https://pmc.ncbi.nlm.nih.gov/articles/{pmcid}/"
DOI_PAGE = "https://doi.org/{doi}"

# Never part of the answerable text (their tails are: the sentence goes on after a figure).
_DROP = frozenset(
    {
        "fig",
        "fig-group",
        "table-wrap",
        "table-wrap-group",
        "table",
        "disp-formula",
        "disp-formula-group",
        "chem-struct-wrap",
        "graphic",
        "inline-graphic",
        "media",
        "supplementary-material",
        "tex-math",
        "fn",
        "fn-group",
        "ref-list",
        "ack",
        "funding-group",
        "funding-statement",
        "contrib-group",
        "aff",
        "author-notes",
        "sec-meta",
        "object-id",
        "label",
        "processing-meta",
    }
)
# Blocks that may sit inside a paragraph and become lines of their own.
_BLOCKS = frozenset({"list", "def-list", "disp-quote", "boxed-text", "statement", "p"})
# Section types and headings that are boilerplate, not findings.
_SKIP_SEC_TYPES = re.compile(
    r"supplementary|coi|conflict|competing|funding|author-contrib|contrib|data-availability|"
    r"ethics|acknowledg|abbreviations|disclosure|publisher",
    re.IGNORECASE,
)
_SKIP_TITLES = re.compile(
    r"^(\d+(\.\d+)*\.?\s*)?(references?|bibliography|acknowledge?ments?|funding( information)?|"
    r"conflicts? of interests?( statement)?|competing interests?( statement)?|declaration of "
    r"(competing )?interests?|disclosures?|author contributions?|data availability( statement)?|"
    r"ethics statement|ethical approval|abbreviations|supplementary (material|data)|"
    r"publisher['’]s note|generative ai statement)\s*:?$",
    re.IGNORECASE,
)
_SKIP_ABSTRACTS = frozenset({"graphical", "teaser", "toc", "precis", "video", "web-summary"})


@dataclass(frozen=True)
class ArticleInfo:
    """What the XML says about itself: identifiers, title, journal and date."""

    title: str | None
    pmcid: str | None
    doi: str | None
    journal: str | None
    published: str | None

    def page_url(self) -> str | None:
        """The article's human page: its PMC page, else its DOI, else None."""
        if self.pmcid:
            return PMC_PAGE.format(pmcid=self.pmcid)
        return DOI_PAGE.format(doi=self.doi) if self.doi else None


def _local(element: etree._Element) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _parse(raw: bytes, what: str) -> etree._Element:
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError as exc:
        raise ExtractError(f"{what}: malformed XML ({exc.msg}, line {exc.lineno})") from None
    if root is None:
        raise ExtractError(f"{what}: empty XML document")
    return root


def find_article(raw: bytes, what: str) -> etree._Element:
    """The `<article>` element (the root, or inside an efetch `<pmc-articleset>`).

    Raises `ExtractError` for malformed XML, a service's error document or other XML.
    """
    root = _parse(raw, what)
    name = _local(root)
    if name == "article":
        return root
    errors = [e for e in root.iter() if _local(e).lower() == "error"]
    if name.lower() in ("error", "efetchresult") or errors:
        message = " ".join(" ".join((errors or [root])[0].itertext()).split())[:160]
        raise ExtractError(f"{what}: the service answered with an error ({message or name})")
    article = next((e for e in root if _local(e) == "article"), None)
    if article is None:
        raise ExtractError(f"{what}: not a JATS/NLM article (root element <{name}>)")
    return article


def check_fulltext(raw: bytes, what: str) -> None:
    """Refuse anything but a full-text article: a metadata-only record has no `<body>` text."""
    article = find_article(raw, what)
    body = _child(article, "body")
    if body is None or not "".join(_inline(body).split()):
        raise ExtractError(
            f"{what}: metadata-only record, no full text (not in the open-access subset)"
        )


def _child(element: etree._Element | None, *path: str) -> etree._Element | None:
    for name in path:
        if element is None:
            return None
        element = next((c for c in element if _local(c) == name), None)
    return element


def _inline(element: etree._Element) -> str:
    """Text of an element and its descendants, without dropped elements (their tails kept)."""
    parts = [element.text or ""]
    for child in element:
        if isinstance(child, etree._Entity):
            parts.append(html5.get(f"{child.name};", ""))  # undeclared &nbsp; and the like
        elif _local(child) not in _DROP:
            parts.append(_inline(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _clean(text: str) -> str:
    return " ".join(text.split())


def _paragraph(builder: TextBuilder, element: etree._Element) -> None:
    """One line per run of inline text; nested lists and quotes become lines of their own."""
    run = [element.text or ""]
    for child in element:
        name = _local(child)
        if name in _BLOCKS:
            builder.line(_clean("".join(run)))
            run = []
            _blocks(builder, child)
        elif isinstance(child, etree._Entity):
            run.append(html5.get(f"{child.name};", ""))
        elif name not in _DROP:
            run.append(_inline(child))
        run.append(child.tail or "")
    builder.line(_clean("".join(run)))


def _blocks(builder: TextBuilder, container: etree._Element) -> None:
    """Paragraphs, lists and sections of a container, in document order."""
    for child in container:
        name = _local(child)
        if name in _DROP or name in ("title", "subtitle", "alt-title") or not name:
            continue
        if name == "sec":
            _section(builder, child)
        elif name == "def-item":
            term, definition = _child(child, "term"), _child(child, "def")
            pair = [_clean(_inline(e)) for e in (term, definition) if e is not None]
            builder.line(": ".join(p for p in pair if p))
        elif name in ("list", "def-list", "disp-quote", "boxed-text", "statement") or (
            name == "list-item" and any(_local(c) in _BLOCKS for c in child)
        ):
            _blocks(builder, child)
        else:
            _paragraph(builder, child)


def _has_own_text(container: etree._Element) -> bool:
    """Whether text comes before the subsections (else a heading would stand alone)."""
    skip = {"title", "subtitle", "alt-title", "sec"}
    return any(
        _local(c) not in skip and _local(c) not in _DROP and _clean(_inline(c))
        for c in container
        if _local(c)
    )


def _section(builder: TextBuilder, sec: etree._Element) -> None:
    title_element = _child(sec, "title")
    title = _clean(_inline(title_element)) if title_element is not None else ""
    if _SKIP_SEC_TYPES.search(sec.get("sec-type", "")) or _SKIP_TITLES.match(title):
        return
    if title and _has_own_text(sec):
        builder.heading(title)
    _blocks(builder, sec)


def _date(meta: etree._Element) -> str | None:
    dates = [d for d in meta if _local(d) == "pub-date"]

    def rank(date: etree._Element) -> int:
        kind = date.get("pub-type") or date.get("date-type") or ""
        electronic = kind == "epub" or date.get("publication-format") == "electronic"
        return 0 if electronic else 1 if kind in ("ppub", "pub") else 2

    for date in sorted(dates, key=rank):
        parts = [_clean(_inline(e)) for e in (_child(date, n) for n in ("year", "month", "day"))]
        numbers = [p for p in (x if x.isdigit() else "" for x in parts) if p]
        if numbers and len(numbers[0]) == 4:
            return "-".join([numbers[0], *(n.zfill(2) for n in numbers[1:])])
    return None


def article_info(article: etree._Element) -> ArticleInfo:
    """Identifiers, title, journal and publication date from `<front>`."""
    meta = _child(article, "front", "article-meta")
    journal = _child(article, "front", "journal-meta")
    ids: dict[str, str] = {}
    for element in meta if meta is not None else ():
        if _local(element) == "article-id":
            ids.setdefault(element.get("pub-id-type", ""), _clean(_inline(element)))
    pmc = ids.get("pmc") or ids.get("pmcid") or ""
    pmcid = f"PMC{pmc.removeprefix('PMC')}" if pmc.removeprefix("PMC").isdigit() else None
    title = _child(meta, "title-group", "article-title")
    journal_title = _child(journal, "journal-title-group", "journal-title")
    if journal_title is None:
        journal_title = _child(journal, "journal-title")  # NLM 2.x
    return ArticleInfo(
        title=_clean(_inline(title)) or None if title is not None else None,
        pmcid=pmcid,
        doi=ids.get("doi") or None,
        journal=_clean(_inline(journal_title)) or None if journal_title is not None else None,
        published=_date(meta) if meta is not None else None,
    )


def extract_jats(raw: bytes, meta: Meta) -> Document:
    """A `Document` from article XML; without a known URL it links to the PMC or DOI page."""
    article = find_article(raw, meta.source_id)
    info = article_info(article)
    builder = TextBuilder()
    article_meta = _child(article, "front", "article-meta")
    for abstract in article_meta if article_meta is not None else ():
        if _local(abstract) != "abstract" or abstract.get("abstract-type") in _SKIP_ABSTRACTS:
            continue
        heading = _child(abstract, "title")
        if _has_own_text(abstract):
            builder.heading(_clean(_inline(heading)) if heading is not None else "Abstract")
        _blocks(builder, abstract)
    body = _child(article, "body")
    if body is not None:
        _blocks(builder, body)
    text, sections = builder.build()
    if not text.strip():
        raise ExtractError(f"{meta.source_id}: the article XML holds no abstract or body text")
    known = replace(
        meta,
        url=meta.url or info.page_url(),
        publisher=meta.publisher or info.journal,
        published=meta.published or info.published,
    )
    return make_document(known, text, sections, meta.title or info.title, CONTENT_TYPE)
