"""JATS / NLM-DTD article XML to documents, against hand-written fixtures in the documented tag
names (`fixtures/jats-review.xml`: JATS 1.3 as Europe PMC serves it; `fixtures/nlm-efetch.xml`:
NLM DTD 3.0 inside the `<pmc-articleset>` that E-utilities efetch answers with)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from assistant.links import deep_link
from corpus.chunk import chunk_document
from corpus.extract import ExtractError, Meta
from corpus.jats import check_fulltext, extract_jats
from corpus.local import load_local

FIXTURES = Path(__file__).parent / "fixtures"
JATS = (FIXTURES / "jats-review.xml").read_bytes()
NLM = (FIXTURES / "nlm-efetch.xml").read_bytes()

# The text a reader sees in jats-review.xml, line by line, checked by hand against the file.
JATS_LINES = [
    "Background",
    "Mesenchymal stromal cells are given to patients in many early trials.",
    "Conclusion",
    "Serious adverse events linked to the cells were rare in the trials we reviewed.",
    "Introduction",
    "Stem cell products are sold by some clinics without approval from regulators [1]. "
    "Patients travel abroad for these treatments.",
    "Adverse events",
    "We grouped the events reported in the trials by when they happened.",
    "Infusion reactions",
    "Fever within 24 hours of infusion was the most frequent event (Table 1).",
    "Tumour formation",
    "No tumours were reported in follow-up of up to five years.",
    "Before agreeing to treatment, patients can:",
    "check that the trial is registered;",
    "ask who pays for the treatment.",
]
NLM_LINES = [
    "Abstract",
    "Clinics that sell unproven stem cell treatments have caused blindness and infections.",
    "1. Introduction",
    "Regulators approve very few stem cell treatments\u2014mostly for blood cancers.",
    "2. Methods",
    "We searched news reports and case studies published before 2097.",
    "Case reports were included when a patient was harmed (Figure 1).",
    "3. Results",
    "Three patients lost their sight after injections into both eyes.",
    "The clinic told us the injections were safe.",
    "4. Conclusions",
    "Patients should ask whether a treatment is approved before paying for it.",
]


def _doc(raw: bytes, url: str | None = None):  # type: ignore[no-untyped-def]
    return extract_jats(raw, Meta(source_id="article", url=url))


@pytest.mark.parametrize(("raw", "lines"), [(JATS, JATS_LINES), (NLM, NLM_LINES)])
def test_article_text_is_abstract_and_body_paragraphs_in_order(
    raw: bytes, lines: list[str]
) -> None:
    assert _doc(raw).text.split("\n") == lines


def test_sections_keep_their_headings_and_paragraphs() -> None:
    doc = _doc(JATS)
    titles = [s.title for s in doc.sections]
    assert titles == [
        "Background",
        "Conclusion",
        "Introduction",
        "Adverse events",
        "Infusion reactions",
        "Tumour formation",
    ]
    for section in doc.sections:
        assert doc.text[section.start : section.end].startswith(section.title + "\n")
    tumour = doc.sections[-1]
    assert "check that the trial is registered;" in doc.text[tumour.start : tumour.end]
    assert doc.section_at(doc.text.index("Fever within")).title == "Infusion reactions"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "dropped",
    [
        "Turner L",  # reference list
        "Selling stem cells",
        "Clinics counted per country",  # figure caption
        "fmed-86-0000001-g001",  # graphic link
        "Grade three fever in a table cell",  # table
        "Events by grade",
        "Okafor",  # authors
        "Example University Hospital",  # affiliation
        "a.okafor@example.org",
        "Example Research Council",  # funding
        "without commercial relationships",  # competing interests (body sec-type)
        "competing-interest footnote",
        "AO and SL wrote",  # author contributions
        "We thank the patients",  # acknowledgements
        "A footnote about follow-up",
        "graphical abstract",
        "Creative Commons",  # licence boilerplate
        "Conflict of interest",
    ],
)
def test_references_figures_authors_and_boilerplate_are_dropped(dropped: str) -> None:
    assert dropped not in _doc(JATS).text


def test_nlm_boilerplate_figures_and_supplements_are_dropped() -> None:
    text = _doc(NLM).text
    for dropped in (
        "Haddad",
        "Porto",
        "Harmed patients by year",
        "Supplementary list",
        "No data were used",  # "Data Availability" heading in the body
        "declares no conflicts",
        "Vision loss after intravitreal",
    ):
        assert dropped not in text


def test_metadata_comes_from_the_front_matter() -> None:
    jats, nlm = _doc(JATS), _doc(NLM)
    assert jats.title == "Safety of mesenchymal stromal cell infusions: a narrative review"
    assert jats.published == "2099-03-07"  # the epub date, not the collection year
    assert jats.publisher == "Frontiers in Medicine"
    assert nlm.title == "Unproven stem cell clinics and the harm done to patients"
    assert nlm.published == "2097-11-15"  # epub preferred over the later print date
    assert nlm.publisher == "Stem Cells International"  # NLM 2.x/3.0 journal-title


def test_offsets_round_trip_through_sentences_and_chunks() -> None:
    for raw, lines in ((JATS, JATS_LINES), (NLM, NLM_LINES)):
        doc = _doc(raw)
        chunks = chunk_document(doc)
        sentences = [doc.text[s:e] for chunk in chunks for s, e in chunk.sentences]
        assert "Patients travel abroad for these treatments." in sentences or raw is NLM
        for sentence in sentences:
            assert any(sentence in line for line in lines), sentence
        for chunk in chunks:
            assert doc.text[chunk.start : chunk.end].startswith(
                doc.text[chunk.sentences[0][0] : chunk.sentences[0][1]]
            )


def test_links_go_to_the_human_page_given_or_named_in_the_xml() -> None:
    page = "https://www.frontiersin.org/journals/medicine/articles/10.3389/fmed.2099.0000001/full"
    doc = _doc(JATS, url=page)
    start = doc.text.index("No tumours")
    assert (deep_link(doc, start, start + 20) or "").startswith(page + "#:~:text=")
    assert _doc(JATS).url == "https://pmc.ncbi.nlm.nih.gov/articles/PMC9999001/"
    assert _doc(NLM).url == "https://pmc.ncbi.nlm.nih.gov/articles/PMC9999002/"  # numeric id
    doi_only = JATS.replace(b'<article-id pub-id-type="pmc">PMC9999001</article-id>', b"")
    assert _doc(doi_only).url == "https://doi.org/10.3389/fmed.2099.0000001"
    no_ids = doi_only.replace(b'<article-id pub-id-type="doi">10.3389/fmed.2099.0000001', b"<x>")
    assert _doc(no_ids.replace(b"</article-id>", b"</x>", 1)).url is None


def test_local_xml_files_are_read_with_docs(tmp_path: Path) -> None:
    (tmp_path / "review.xml").write_bytes(JATS)
    (tmp_path / "efetch.nxml").write_bytes(NLM)
    (tmp_path / "feed.xml").write_bytes(b"<rss><channel><title>News</title></channel></rss>")
    (tmp_path / "broken.xml").write_bytes(b"<article><body><p>cut off")
    warnings: list[str] = []
    docs = {d.source_id: d for d in load_local([tmp_path], warnings.append)}
    assert set(docs) == {"review", "efetch"}
    assert docs["review"].url == "https://pmc.ncbi.nlm.nih.gov/articles/PMC9999001/"
    assert sorted(w.split(": ", 1)[0] for w in warnings) == [
        str(tmp_path / "broken.xml"),
        str(tmp_path / "feed.xml"),
    ]
    assert any("malformed XML" in w for w in warnings)
    assert any("not a JATS/NLM article" in w for w in warnings)


ERROR_DOCUMENTS = {
    "malformed": (b"<article><front><article-meta>", "malformed XML"),
    "efetch error": (
        b"<eFetchResult><ERROR>UID=99999999999: cannot get document summary</ERROR></eFetchResult>",
        "the service answered with an error (UID=99999999999: cannot get document summary)",
    ),
    "articleset error": (
        b'<?xml version="1.0"?><pmc-articleset><error>The following PMCID is not available: '
        b"PMC0</error></pmc-articleset>",
        "The following PMCID is not available",
    ),
    "metadata only": (
        NLM.split(b"<body>")[0] + NLM.split(b"</body>")[1],
        "metadata-only record, no full text (not in the open-access subset)",
    ),
    "not an article": (b"<html><body><p>Hello</p></body></html>", "not a JATS/NLM article"),
}


@pytest.mark.parametrize("name", ERROR_DOCUMENTS)
def test_anything_but_full_text_is_refused_with_a_reason(name: str) -> None:
    raw, reason = ERROR_DOCUMENTS[name]
    with pytest.raises(ExtractError, match=r"^eutils: ") as error:
        check_fulltext(raw, "eutils")
    assert reason in str(error.value) and "\n" not in str(error.value)
    check_fulltext(JATS, "europepmc")  # the real thing passes


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """A local server that records any request: the XML must never make one."""
    requested: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            requested.append(self.path)
            body = b'<!ENTITY secret "leaked">'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requested
    server.shutdown()
    server.server_close()


def test_no_link_out_of_the_xml_is_followed(listener: tuple[str, list[str]]) -> None:
    base, requested = listener
    hostile = (
        f'<?xml version="1.0"?><!DOCTYPE article SYSTEM "{base}/article.dtd" ['
        f'<!ENTITY % remote SYSTEM "{base}/remote.ent"> %remote;'
        f'<!ENTITY file SYSTEM "file:///etc/hostname">'
        f'<!ENTITY web SYSTEM "{base}/web.ent">]>'
        f'<article xmlns:xlink="http://www.w3.org/1999/xlink"><body><p>Cells&file;&web;.'
        f'<ext-link xlink:href="{base}/linked">More</ext-link></p></body></article>'
    ).encode()
    doc = _doc(hostile)
    assert doc.text == "Cells.More"
    assert requested == []
