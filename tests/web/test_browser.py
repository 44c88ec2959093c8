"""The chat page in a real browser: Debian's Chromium driven by Playwright."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from assistant.settings import Settings
from corpus.local import load_local
from index.build import build
from tests.browser import MARKS, ask, browser, serve
from tests.conftest import SEED_PARTS
from web.app import create_app

pytestmark = MARKS
FILLER = "<p>Opening hours and parking details for visitors to the research centre.</p>" * 80
TARGET = (
    "Stem cells infused into the lungs of people with pulmonary fibrosis were safe over "
    "two years of follow-up."
)

# a lead-in and its list: quoted as one span, whose lines the page keeps apart
LIST = (
    "The eye trial team watched every patient for these side effects:\nBlurred vision\n"
    "Eye pain\nSwelling at the back of the eye\nThe team met every month."
)


@pytest.fixture(scope="module")
def source_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A local web page standing in for a source, with the quoted sentence far down."""
    root = tmp_path_factory.mktemp("site")
    (root / "lung.html").write_text(f"<html><body>{FILLER}<p>{TARGET}</p>{FILLER}</body></html>")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def index_dir(  # type: ignore[no-untyped-def]
    tmp_path_factory: pytest.TempPathFactory, source_site: str, embedder, shared: Path
) -> Path:
    """The seed article plus one linked web source."""
    folder = tmp_path_factory.mktemp("browser-index")
    jsonl = folder / "news.jsonl"
    jsonl.write_text(
        json.dumps(
            {
                "id": "lung-news",
                "title": "Lung trial news",
                "url": f"{source_site}/lung.html",
                "kind": "charity",
                "publisher": "Lung Charity",
                "text": TARGET,
            }
        )
        + "\n"
        + json.dumps({"id": "eye-news", "title": "Eye trial news", "kind": "charity", "text": LIST})
        + "\n"
    )
    build(load_local([shared.joinpath(*SEED_PARTS), jsonl], print), folder / "index", embedder)
    return folder / "index"


@pytest.fixture(scope="module")
def base_url(index_dir: Path, embedder) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with serve(create_app(Settings(index_dir=index_dir, rate_limit=0), embedder=embedder)) as url:
        yield url


@pytest.fixture(scope="module")
def chromium():  # type: ignore[no-untyped-def]
    """One headless browser for the module (Playwright allows one sync session at a time)."""
    with browser() as launched:
        yield launched


@pytest.fixture(scope="module")
def page(base_url: str, chromium):  # type: ignore[no-untyped-def]
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    tab.goto(base_url)
    tab.errors = errors  # type: ignore[attr-defined]
    yield tab
    context.close()


def test_chat_answers_follow_ups_declines_and_keeps_script_inert(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ask(page, "What is stem cell tourism?")
    turn = page.locator("article.turn").last
    assert turn.get_attribute("data-status") == "answered"
    assert "Stem cell tourism, where people travel" in turn.locator("blockquote").first.inner_text()
    card = turn.locator("figcaption.card").first
    assert "Are Stem Cell Products Safe?" in card.inner_text()
    turn.locator("details.passage summary").first.click()
    assert "Stem cell tourism" in turn.locator("details.passage mark").first.inner_text()

    ask(page, "Is there a trial of stem cells for Huntington's disease?")
    ask(page, "When does it start?")
    follow_up = page.locator("article.turn").last
    assert "starting in 2026" in follow_up.locator("blockquote").first.inner_text()

    ask(page, "How do I bake sourdough bread?")
    declined = page.locator("article.turn").last
    assert declined.get_attribute("data-status") == "no_answer"
    assert "don’t answer that" in declined.inner_text()
    assert declined.locator("blockquote").count() == 0

    page.evaluate("window.__pwned = false")
    ask(page, '<img src=x onerror="window.__pwned=true"><script>window.__pwned=true</script>')
    assert page.evaluate("window.__pwned") is False
    assert (
        "<script>window.__pwned" in page.locator("article.turn").last.locator(".asked").inner_text()
    )
    page.screenshot(path=str(tmp_path / "chat.png"), full_page=True)
    assert (tmp_path / "chat.png").stat().st_size > 10_000
    assert page.errors == []  # type: ignore[attr-defined]

    page.get_by_role("link", name="Start a new conversation").click()
    assert page.locator("article.turn").count() == 0


def test_a_new_answer_is_shown_above_the_question_box(page) -> None:  # type: ignore[no-untyped-def]
    # the box is sticky at the bottom of the window: the answer's heading landed under it
    story = "My son is seven and has had a hard year with school and his health. " * 20
    questions = [
        "What is stem cell tourism?",
        "Are stem cell treatments safe?",
        "What are the risks of clinics?",
        story + "Are stem cell clinics abroad safe?",
    ]
    for question in questions:
        ask(page, question)
        heading = page.locator("article.turn").last.locator("h2").first
        box = page.locator("#ask-form").bounding_box()
        shown = heading.bounding_box()
        assert box is not None and shown is not None
        assert shown["y"] >= -1 and shown["y"] + shown["height"] <= box["y"]  # subpixels


def test_a_quoted_list_keeps_its_lines(page) -> None:  # type: ignore[no-untyped-def]
    ask(page, "What side effects did the eye trial team watch for?")
    quote = page.locator("article.turn").last.locator("blockquote").first
    # the source's line breaks are kept on the page (run together, the items read as one
    # sentence: "effects: Blurred vision Eye pain Swelling ...")
    assert "effects:\nBlurred vision\nEye pain\nSwelling" in quote.inner_text()


def test_deep_link_opens_the_source_at_the_sentence(page) -> None:  # type: ignore[no-untyped-def]
    ask(page, "Were stem cells in the lungs of people with pulmonary fibrosis safe?")
    turn = page.locator("article.turn").last
    card = turn.locator("figcaption.card", has_text="Lung trial news")
    assert "Patient charity" in card.inner_text() and "Lung Charity" in card.inner_text()
    # screen readers list links by name: each names its source
    link = card.get_by_role("link", name="Open the source at this passage — Lung trial news")
    assert "#:~:text=" in str(link.get_attribute("href"))
    with page.context.expect_page() as opened:
        link.click()
    source = opened.value
    source.wait_for_load_state()
    assert source.url.split("#")[0].endswith("/lung.html")
    # Chromium scrolls a text fragment into view: the sentence sits far below the fold
    source.wait_for_function("window.scrollY > 500", timeout=10_000)
    assert TARGET in source.inner_text("body")
    source.close()


def test_keyboard_only_use_and_visible_focus(page, base_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base_url)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")  # skip link -> question box
    assert page.evaluate("location.hash") == "#question"
    page.keyboard.type("What does GMP mean?")
    page.keyboard.press("Enter")
    page.locator("article.turn").first.wait_for(timeout=20_000)
    assert "GMP" in page.locator("article.turn blockquote").first.inner_text()
    # phone-width screen: nothing wider than the viewport
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_question_that_cannot_be_sent_stays_in_the_box(page, base_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base_url)
    question = "My mum has MS and a clinic abroad offers stem cells. Is that safe?"
    page.route("**/turn", lambda route: route.abort())  # the connection drops
    page.get_by_label("Your question").fill(question)
    page.keyboard.press("Enter")
    notice = page.locator("#thread .notice").last
    notice.wait_for(timeout=20_000)
    assert "no connection to the server" in notice.inner_text()
    assert page.get_by_label("Your question").input_value() == question
    page.unroute("**/turn")
    ask(page, "What does GMP mean?")  # answered: the box is emptied
    assert page.get_by_label("Your question").input_value() == ""


def test_script_sends_no_more_history_than_the_server_allows(
    index_dir: Path,
    embedder,  # type: ignore[no-untyped-def]
    chromium,  # type: ignore[no-untyped-def]
) -> None:
    settings = Settings(index_dir=index_dir, rate_limit=0, max_history=1)
    questions = [
        "What is stem cell tourism?",
        "What does GMP mean?",
        "Can stem cells cause tumors?",
    ]
    with serve(create_app(settings, embedder=embedder)) as url:
        tab = chromium.new_page()
        sent: list[list[str]] = []
        tab.on(
            "request",
            lambda r: (
                sent.append(parse_qs(r.post_data or "").get("history", []))
                if r.url.endswith("/turn")
                else None
            ),
        )
        tab.goto(url)
        assert "the last 1 question you asked" in tab.inner_text("#history-hint")
        for question in questions:
            ask(tab, question)
        assert sent == [[], questions[:1], questions[1:2]]


def test_a_reload_keeps_the_conversation_and_a_new_one_forgets_it(page, base_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base_url)
    ask(page, "Is there a trial of stem cells for Huntington's disease?")
    page.reload()
    turns = page.locator("article.turn")
    assert turns.count() == 1 and "Huntington" in turns.first.inner_text()
    # put back without being announced again; new answers still are
    assert page.locator("#thread").get_attribute("aria-live") == "polite"
    ask(page, "When does it start?")  # the follow-up still has its history
    assert "starting in 2026" in turns.last.locator("blockquote").first.inner_text()
    page.get_by_role("link", name="Start a new conversation").click()
    page.reload()
    assert page.locator("article.turn").count() == 0
    # opening the page afresh (not a reload) starts a new conversation too
    ask(page, "What does GMP mean?")
    page.goto(base_url)
    assert page.locator("article.turn").count() == 0


def test_keyboard_focus_is_not_hidden_under_the_question_box(page, base_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base_url)
    for question in ["What is stem cell tourism?", "Are stem cell treatments safe?"]:
        ask(page, question)
    # from the top of the page, Tab walks down through the answers: a control that comes into
    # the window's bottom edge sat behind the sticky box (an exploratory check)
    page.evaluate("window.scrollTo(0, 0); document.activeElement.blur()")
    for _ in range(16):
        page.keyboard.press("Tab")
        hidden = page.evaluate(
            """() => {
                const box = document.getElementById("ask-form");
                const shown = document.activeElement;
                if (shown === document.body || box.contains(shown)) return false;
                return shown.getBoundingClientRect().bottom > box.getBoundingClientRect().top + 1;
            }"""
        )
        assert not hidden, page.evaluate("document.activeElement.outerHTML.slice(0, 80)")


def test_a_long_unbroken_question_does_not_widen_the_page(page, base_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base_url)
    ask(page, "x" * 600)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
