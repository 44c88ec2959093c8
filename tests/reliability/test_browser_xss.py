"""XSS payloads from questions and from source text, in a real browser (Debian's Chromium).

Both ways an answer reaches the page are checked: the script path (chat.js inserts the server's
/turn fragment with innerHTML, where an `onerror=` would fire) and the plain form POST.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.settings import Settings
from tests.browser import MARKS, ask, browser, serve
from tests.conftest import FakeEmbedder
from tests.reliability.test_hostile import (
    IMG,
    JS_LINK,
    QUESTIONS,
    SCHEME_QUESTION,
    SCRIPT,
    hostile_index,  # noqa: F401 (fixture)
)
from web.app import create_app

pytestmark = MARKS
# after each step: nothing injected ran, and no injected element exists anywhere in the page
# (the pwned flag alone would not do: the CSP blocks inline handlers even when injected)
PROBE = """() => ({
  pwned: window.__pwned,
  injected: document.querySelectorAll(
    'img, iframe, object, embed, [onerror], [onload], [onclick], ' +
    'script:not([src="/static/chat.js"])'
  ).length,
  unsafeLinks: Array.from(document.querySelectorAll('a[href], [cite]')).filter((el) =>
    /^\\s*(javascript|data|vbscript|file):/i.test(
      el.getAttribute('href') || el.getAttribute('cite'))
  ).length,
})"""


@pytest.fixture(scope="module")
def base_url(hostile_index: Path) -> Iterator[str]:  # noqa: F811
    app = create_app(Settings(index_dir=hostile_index, rate_limit=0), embedder=FakeEmbedder())
    with serve(app) as url:
        yield url


@pytest.fixture(scope="module")
def page(base_url: str):  # type: ignore[no-untyped-def]
    with browser() as chromium:
        context = chromium.new_context()
        context.add_init_script("window.__pwned = 0; window.alert = () => { window.__pwned = 1; };")
        tab = context.new_page()
        problems: list[str] = []
        tab.on("dialog", lambda dialog: (problems.append(dialog.message), dialog.dismiss()))
        tab.on("pageerror", lambda exc: problems.append(str(exc)))
        tab.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        tab.problems = problems  # type: ignore[attr-defined]
        tab.goto(base_url)
        yield tab


def _assert_inert(page) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_timeout(300)  # let a broken image's onerror fire, if there were one
    assert page.evaluate(PROBE) == {"pwned": 0, "injected": 0, "unsafeLinks": 0}
    assert page.get_by_role("link", name="click here").count() == 0
    assert page.problems == []  # type: ignore[attr-defined] # also no CSP violation reports


def test_payloads_in_sources_and_questions_stay_inert_via_script(page) -> None:  # type: ignore[no-untyped-def]
    for payload, question in QUESTIONS.items():
        ask(page, question)
        turn = page.locator("article.turn").last
        assert turn.get_attribute("data-status") == "answered"
        assert any(payload in text for text in turn.locator("blockquote").all_inner_texts())
        assert SCRIPT in turn.locator(".card .title").first.inner_text()  # the title, as text
        assert IMG in turn.locator(".card .publisher").first.inner_text()
        _assert_inert(page)
    ask(page, f"{SCHEME_QUESTION} {SCRIPT} {IMG} {JS_LINK}")
    turn = page.locator("article.turn").last
    assert SCRIPT in turn.locator(".asked").inner_text()
    assert turn.locator("a.deep-link").count() == 0  # javascript:/data: URLs: no link at all
    _assert_inert(page)
    # the turns the tab keeps are put back with innerHTML after a reload: still inert
    shown = page.locator("article.turn").count()
    page.reload()
    assert page.locator("article.turn").count() == shown
    _assert_inert(page)


def test_payloads_stay_inert_in_the_server_rendered_page(page, base_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base_url)
    for question in [*QUESTIONS.values(), f"{SCHEME_QUESTION} {IMG}"]:
        page.get_by_label("Your question").fill(question)
        with page.expect_navigation():
            page.evaluate("document.getElementById('ask-form').submit()")  # no script path
        assert page.locator("article.turn").count() == 1
        _assert_inert(page)
    texts = " ".join(page.locator("article.turn").all_inner_texts())
    assert IMG in texts  # the last question is echoed as text


def test_no_cookies_or_lasting_storage_after_a_conversation(page) -> None:  # type: ignore[no-untyped-def]
    ask(page, SCHEME_QUESTION)
    assert page.context.cookies() == []
    # the tab keeps the conversation for a reload (session storage, gone with the tab), and
    # nothing that outlives it; "Start a new conversation" empties it
    assert page.evaluate("[localStorage.length, sessionStorage.length]") == [0, 1]
    page.get_by_role("link", name="Start a new conversation").click()
    assert page.evaluate("[localStorage.length, sessionStorage.length]") == [0, 0]
