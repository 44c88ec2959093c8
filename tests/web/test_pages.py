"""The server-rendered chat page (the no-JavaScript path)."""

from __future__ import annotations

from fastapi.testclient import TestClient

HUNTINGTON = "Is there a trial of stem cells for Huntington's disease?"


def test_home_page_has_disclaimer_examples_and_a_labelled_form(client: TestClient) -> None:
    page = client.get("/").text
    assert "Not medical advice" in page and "Talk to your doctor" in page
    assert 'class="example"' in page
    assert '<label for="question">' in page and 'id="question"' in page
    assert '<script src="/static/chat.js" defer>' in page
    assert "<script>" not in page  # no inline script (CSP)


def test_form_post_renders_quotes_with_source_cards(client: TestClient) -> None:
    page = client.post("/", data={"question": "What is stem cell tourism?"}).text
    assert "What the sources say" in page
    assert '<blockquote class="sentence"' in page and "Stem cell tourism, where people" in page
    assert "Are Stem Cell Products Safe?" in page and "Other source" in page
    assert "<mark>Stem cell tourism" in page  # the passage highlights the quoted sentence
    assert '<input type="hidden" name="history" value="What is stem cell tourism?">' in page


def test_follow_up_form_post_carries_history(client: TestClient) -> None:
    page = client.post("/", data={"question": "When does it start?", "history": [HUNTINGTON]})
    assert "A new trial starting in 2026" in page.text
    assert "You asked earlier:" in page.text


def test_no_answer_state_is_plain_and_lists_what_is_covered(client: TestClient) -> None:
    page = client.post("/", data={"question": "How do I bake sourdough bread?"}).text
    assert "The sources I have don’t answer that." in page
    assert '<ul class="covered">' in page and "Are Stem Cell Products Safe?" in page
    assert "<blockquote" not in page and "What the sources say" not in page


def test_markup_in_the_question_is_shown_as_text(client: TestClient) -> None:
    payload = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'
    page = client.post("/", data={"question": payload}).text
    assert payload not in page
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in page


def test_turn_fragment_is_the_same_markup_without_the_layout(client: TestClient) -> None:
    fragment = client.post("/turn", data={"question": "What does GMP mean?"}).text
    assert fragment.lstrip().startswith('<article class="turn" data-status="answered"')
    assert "GMP" in fragment and "<html" not in fragment


def test_empty_form_question_is_refused_in_the_page(client: TestClient) -> None:
    response = client.post("/", data={"question": "  "})
    assert response.status_code == 422 and "the question is empty" in response.text
