"""The server-rendered chat page (the no-JavaScript path)."""

from __future__ import annotations

import html
import re
from pathlib import Path

from fastapi.testclient import TestClient

from corpus.document import Document
from index.build import build
from tests.web.conftest import make_client
from web.schemas import AnswerOut, PassageOut, SourceOut

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
    assert '<blockquote class="sentence">' in page and "Stem cell tourism, where people" in page
    assert 'cite=""' not in page  # a local file has no address to cite
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


def test_no_answer_names_what_the_sources_do_not_mention(client: TestClient) -> None:
    page = client.post("/", data={"question": "Can stem cells cure autism?"}).text
    assert "The sources don’t mention <strong>autism</strong>." in page
    assert "Related reading — not an answer to your question" in page
    assert "<blockquote" not in page and "What the sources say" not in page
    # related passages are listed by title, not quoted; the seed article's passages have
    # one title and no links, so it is listed once, not three times
    related = page.split('class="related"')[1].split("</section>")[0]
    assert related.count("Are Stem Cell Products Safe?") == 1


def test_an_answer_to_part_of_a_message_names_the_part_not_covered(client: TestClient) -> None:
    question = "Are stem cell treatments safe? Is there a clinic in Australia?"
    page = client.post("/", data={"question": question}).text
    assert "What the sources say" in page and "<blockquote" in page
    assert "The sources don’t mention <strong>Australia</strong>." in page


def test_a_no_answer_lists_the_sources_near_the_question_first(
    tmp_path: Path,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    # fourteen sources: more than the page lists; the one the question is near comes last
    fruits = ["Apples", "Bananas", "Cherries", "Dates", "Figs", "Grapes", "Kiwis", "Lemons"]
    fruits += ["Mangoes", "Olives", "Pears", "Plums", "Quinces"]
    docs = [
        Document(f"f{i}", f"{name} are a fruit. {name} grow on plants in warm places.", name)
        for i, name in enumerate(fruits)
    ]
    docs.append(
        Document(
            "zebras",
            "Zebras live on the African plains. Zebras eat grass and sleep standing up.",
            "Zebra care",
        )
    )
    build(docs, tmp_path, embedder)
    with make_client(tmp_path, embedder) as client:
        page = client.post("/", data={"question": "Can zebras get autism?"}).text
    assert "The sources I have don’t answer that." in page
    covered = re.findall(r"<li>(.*?)</li>", page.split('<ul class="covered">')[1].split("</ul>")[0])
    assert covered[0] == "Zebra care"
    # more sources than the page lists: only those near the question, then the count
    titles, more = covered[:-1], covered[-1]
    assert len(titles) < 12 and more == f"and {14 - len(titles)} more"


def test_the_page_shows_the_question_as_answered(client: TestClient) -> None:
    page = client.post("/", data={"question": "\u200bWhat is stem cell tourism?\u200b "}).text
    assert "\u200b" not in page
    assert '<span class="asked">What is stem cell tourism?</span>' in page


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


def _hidden_history(page: str) -> list[str]:
    return re.findall(r'<input type="hidden" name="history" value="([^"]*)">', page)


def test_the_privacy_line_says_whether_questions_are_logged(seed_index: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    with make_client(seed_index, embedder) as private:
        assert "Questions are not stored on the server." in private.get("/").text
    with make_client(seed_index, embedder, log_questions=True) as logged:
        page = logged.get("/").text
        assert "Questions are not stored" not in page and "written to this server" in page


def test_page_limits_come_from_the_settings(seed_index: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    with make_client(seed_index, embedder, max_question_chars=123, max_history=2) as limited:
        page = limited.get("/").text
        assert 'maxlength="123"' in page and 'data-max-history="2"' in page
        assert "the last 2 questions you asked" in page


def test_form_carries_only_the_last_questions_it_says_it_uses(
    seed_index: Path,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    with make_client(seed_index, embedder, max_history=2) as limited:
        page = limited.post("/", data={"question": "When does it start?", "history": [HUNTINGTON]})
        assert page.status_code == 200
        assert _unescaped(page.text) == [HUNTINGTON, "When does it start?"]
        again = limited.post(
            "/", data={"question": "What does GMP mean?", "history": _unescaped(page.text)}
        )
        assert again.status_code == 200
        assert _unescaped(again.text) == ["When does it start?", "What does GMP mean?"]


def _unescaped(page: str) -> list[str]:
    return [html.unescape(value) for value in _hidden_history(page)]


def test_form_and_api_refuse_history_over_the_limit_alike(
    seed_index: Path,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    history = ["Is it safe?", "What is GMP?", "What is stem cell tourism?"]
    with make_client(seed_index, embedder, max_history=2) as limited:
        api = limited.post("/ask", json={"question": "Is it safe?", "history": history})
        form = limited.post("/", data={"question": "Is it safe?", "history": history})
        assert api.status_code == form.status_code == 422
        assert "history has more than 2 questions" in api.json()["detail"]
        assert "history has more than 2 questions" in form.text
        assert form.headers["content-type"].startswith("text/html")
        # the refused page still lets the conversation go on with the questions it keeps
        assert _unescaped(form.text) == history[-2:]


def test_oversized_form_post_gets_a_page_not_json(client: TestClient) -> None:
    response = client.post("/", data={"question": "x" * 300_000}, headers={"accept": "text/html"})
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert "Please shorten the question" in response.text and "Not medical advice" in response.text
    api = client.post("/ask", json={"question": "x" * 300_000})
    assert api.status_code == 413 and "bytes" in api.json()["detail"]


def test_rate_limited_form_post_gets_a_page_with_retry_after(
    seed_index: Path,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    with make_client(seed_index, embedder, rate_limit=1) as limited:
        assert limited.post("/", data={"question": "What does GMP mean?"}).status_code == 200
        refused = limited.post("/", data={"question": "What does GMP mean?"})
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
        assert refused.headers["content-type"].startswith("text/html")
        assert "Please wait a minute and try again" in refused.text
        assert "{" not in refused.text.split("<main", 1)[1].split("</main>")[0]


def test_related_reading_lists_a_page_section_once(client: TestClient) -> None:
    page = "https://example.org/af"
    passages = [
        PassageOut(
            chunk_id=f"af#{i}",
            source_id="af",
            text="AF is an irregular heartbeat.",
            highlights=[],
            score=0.5,
            link=f"{page}#:~:text=part{i}",  # each passage opens the page at its own words
            section="",
            start=40 * i,
            end=40 * i + 29,
        )
        for i in range(3)
    ]
    source = SourceOut(
        id="af",
        title="Atrial Fibrillation",
        url=page,
        publisher=None,
        kind="other",
        published=None,
        retrieved_at=None,
    )
    answer = AnswerOut(
        question="is afib hereditary?",
        status="no_answer",
        answer=[],
        passages=passages,
        sources={"af": source},
        index_version="v",
        resolved_query="is afib hereditary?",
        used_history=False,
        not_covered=[],
        confidence=0.1,
        timings_ms={},
    )
    html = client.app.state.templates.get_template("_turn.html").render(  # type: ignore[attr-defined]
        answer=answer, asked=answer.question, quotes=[], covered={"titles": [], "more": 0}
    )
    related = html.split('class="related"')[1].split("</section>")[0]
    assert related.count("Atrial Fibrillation") == 2  # its title, once, and its link's label
    assert related.count("<li>") == 1
