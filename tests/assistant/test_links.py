from urllib.parse import unquote

from assistant.links import deep_link, encode_fragment_text, text_fragment
from corpus.document import Document


def test_fragment_text_escapes_dash_comma_and_ampersand() -> None:
    assert encode_fragment_text("follow-up, safety & risk") == (
        "follow%2Dup%2C%20safety%20%26%20risk"
    )


def test_short_sentence_links_whole_text_and_long_uses_start_and_end() -> None:
    assert text_fragment("Stem cells often prove safe.") == (
        "#:~:text=Stem%20cells%20often%20prove%20safe."
    )
    long = (
        "Across 26 studies with follow-up times from six months to five years, side effects "
        "were mostly mild, like headaches or short fevers."
    )
    fragment = text_fragment(long)
    start, end = fragment.removeprefix("#:~:text=").split(",")
    assert unquote(start) == "Across 26 studies with"
    assert unquote(end) == "headaches or short fevers."


def test_deep_link_depends_on_url_and_pages() -> None:
    text = "First page text. Second page sentence here."
    web = Document(source_id="w", text=text, title="T", url="https://x.org/a#old")
    assert deep_link(web, 17, len(text)) == (
        "https://x.org/a#:~:text=Second%20page%20sentence%20here."
    )
    pdf = Document(source_id="p", text=text, title="T", url="https://x.org/a.pdf", pages=(0, 17))
    assert deep_link(pdf, 17, len(text)) == "https://x.org/a.pdf#page=2"
    assert deep_link(Document(source_id="n", text=text, title="T"), 0, 5) is None
