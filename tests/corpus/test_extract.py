import io
from pathlib import Path

import pytest

from corpus.extract import ExtractError, Meta, extract_bytes, extract_html, extract_plain
from corpus.local import load_local

BOILERPLATE_HTML = """<!doctype html><html><head>
<title>Stem cells and lungs | Breathing Charity</title>
<meta property="article:published_time" content="2025-03-04"></head><body>
<div id="cookie-banner" class="cookie-consent">We use cookies to improve your experience.
 <button>Accept all cookies</button></div>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/news">Latest research news</a></li>
<li><a href="/donate">Donate</a></li></ul></nav></header>
<main><article>
<h1>Stem cells and pulmonary fibrosis</h1>
<p>Researchers infused mesenchymal stem cells into the lungs of eight patients with idiopathic
pulmonary fibrosis. The treatment was called safe and feasible by the trial team.</p>
<h2>What happened to the patients</h2>
<p>Patients were followed for two years, and none developed serious side effects related to the
cells. Lung function declined at the rate expected for the disease.</p>
<h2>References</h2>
<ol><li>Chambers DC, et al. A phase 1b study of placenta-derived mesenchymal stromal cells.
Respirology. 2014;19:1013-1018.</li></ol>
</article></main>
<footer><p>Registered charity number 1234567. Privacy policy. Terms and conditions.</p></footer>
</body></html>"""


def test_html_extraction_keeps_article_and_drops_boilerplate() -> None:
    doc = extract_html(BOILERPLATE_HTML.encode(), Meta(source_id="lung", url="https://x.org/a"))
    assert "infused mesenchymal stem cells" in doc.text
    assert "none developed serious side effects" in doc.text
    for junk in (
        "cookies",
        "Donate",
        "Registered charity",
        "Privacy policy",
        "Respirology",
        "Latest research news",
    ):
        assert junk not in doc.text
    assert doc.title == "Stem cells and pulmonary fibrosis"
    titles = [s.title for s in doc.sections]
    assert "What happened to the patients" in titles
    section = next(s for s in doc.sections if s.title == "What happened to the patients")
    assert "followed for two years" in doc.text[section.start : section.end]
    assert doc.text[section.start : section.end].startswith("What happened to the patients")
    assert doc.published == "2025-03-04"


def test_a_copyright_year_is_not_a_publication_date() -> None:
    undated = BOILERPLATE_HTML.replace(
        '<meta property="article:published_time" content="2025-03-04">', ""
    ).replace("Terms and conditions.", "Copyright 2024 Breathing Charity. Terms and conditions.")
    doc = extract_html(undated.encode(), Meta(source_id="lung", url="https://x.org/a"))
    assert "infused mesenchymal stem cells" in doc.text and doc.published is None


def test_plain_text_keeps_curly_quotes_and_drops_the_sources_list(shared: Path) -> None:
    (doc,) = load_local([shared / "corpus" / "are-stem-cell-products-safe.txt"], print)
    assert doc.title == "Are Stem Cell Products Safe?"
    assert "Huntington’s disease" in doc.text
    assert "livhospital" not in doc.text
    assert doc.text.rstrip().endswith("Patients should pick approved studies and learn all risks.")


def test_markdown_headings_become_sections() -> None:
    raw = b"# Guide\nIntro line.\n\n## Risks\nTumours are a worry.\nMore text here.\n"
    doc = extract_plain(raw, Meta(source_id="md"), markdown=True)
    risks = next(s for s in doc.sections if s.title == "Risks")
    assert "Tumours are a worry." in doc.text[risks.start : risks.end]


@pytest.mark.parametrize(
    ("name", "raw", "reason"),
    [
        ("empty.txt", b"", "no text"),
        ("binary.txt", b"\x00\x01\x02\x89PNG\x00" * 10, "binary"),
        ("latin.txt", b"caf\xe9 \xff\xfe", "not UTF-8"),
    ],
)
def test_unusable_files_are_skipped_with_a_warning(
    tmp_path: Path, name: str, raw: bytes, reason: str
) -> None:
    (tmp_path / name).write_bytes(raw)
    (tmp_path / "good.txt").write_text("A real sentence about stem cells.\n")
    warnings: list[str] = []
    docs = load_local([tmp_path], warnings.append)
    assert [d.source_id for d in docs] == ["good"]
    assert len(warnings) == 1 and name in warnings[0] and reason in warnings[0]


def test_pdf_without_text_is_refused_clearly() -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(ExtractError, match="no extractable text"):
        extract_bytes(buffer.getvalue(), "application/pdf", Meta(source_id="scan"))


def test_unknown_content_type_is_refused() -> None:
    with pytest.raises(ExtractError, match="unsupported content type"):
        extract_bytes(b"GIF89a", "image/gif", Meta(source_id="img"))
