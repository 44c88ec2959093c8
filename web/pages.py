"""The chat page: server-rendered (works without JavaScript), enhanced by static/chat.js."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from assistant.answer import QuestionError
from web.deps import AnswererDep, SettingsDep
from web.schemas import AnswerOut, PassageOut, answer_out

router = APIRouter(include_in_schema=False)
MAX_LISTED_SOURCES = 12
FormQuestion = Annotated[str, Form()]
FormHistory = Annotated[list[str], Form()]


def passage_segments(passage: PassageOut, start: int, end: int) -> list[tuple[str, bool]]:
    """The passage split into (text, is_the_answer_sentence) runs for highlighting."""
    first, last = start - passage.start, end - passage.start
    text = passage.text
    return [
        (t, marked)
        for t, marked in ((text[:first], False), (text[first:last], True), (text[last:], False))
        if t
    ]


def quotes(answer: AnswerOut) -> list[dict[str, Any]]:
    """Each answer sentence with its source and, when available, its highlighted passage."""
    out = []
    for sentence in answer.answer:
        passage = next(
            (
                p
                for p in answer.passages
                if p.source_id == sentence.source_id
                and p.start <= sentence.start
                and sentence.end <= p.end
            ),
            None,
        )
        out.append(
            {
                "sentence": sentence,
                "source": answer.sources.get(sentence.source_id),
                "segments": passage_segments(passage, sentence.start, sentence.end)
                if passage
                else [],
            }
        )
    return out


def covered_sources(request: Request) -> dict[str, Any]:
    """Titles of the indexed sources (first few), for the no-answer state and the intro."""
    version = request.app.state.live.current()
    if version is None:
        return {"titles": [], "more": 0, "ready": False}
    # every page shows this; walk the documents once per index version, not once per request
    cached = getattr(request.app.state, "covered", None)
    if cached is None or cached[0] != version.name:
        titles = list(dict.fromkeys(doc.title for doc in version.documents.values()))
        cached = (version.name, _listed(titles) | {"all": titles})
        request.app.state.covered = cached
    return cached[1]


def _listed(titles: list[str]) -> dict[str, Any]:
    return {
        "titles": titles[:MAX_LISTED_SOURCES],
        "more": max(0, len(titles) - MAX_LISTED_SOURCES),
        "ready": True,
    }


def covered_near(request: Request, answer: AnswerOut) -> dict[str, Any]:
    """The sources' titles for a no-answer, those of its related passages first. When the
    sources are more than the page lists, only those: the index's first titles say nothing
    about the question (after "is afib hereditary?", eleven leukemias and sarcomas followed
    "Atrial Fibrillation", in a browser check)."""
    everything = covered_sources(request).get("all", [])
    near = list(
        dict.fromkeys(
            answer.sources[p.source_id].title
            for p in answer.passages
            if p.source_id in answer.sources
        )
    )
    if len(everything) > MAX_LISTED_SOURCES and near:
        shown = near[:MAX_LISTED_SOURCES]
        return {"titles": shown, "more": len(everything) - len(shown), "ready": True}
    taken = set(near)
    return _listed(near + [t for t in everything if t not in taken])


def _render(
    request: Request, context: dict[str, Any], status: int = 200, template: str = "index.html"
) -> HTMLResponse:
    settings = request.app.state.settings
    base = {
        "covered": covered_sources(request),
        "max_chars": settings.max_question_chars,
        "max_history": settings.max_history,
        "history": [],
        "carry": [],
        "answer": None,
        "quotes": [],
        "error": None,
        "asked": None,
    }
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, template, {**base, **context}, status_code=status
    )
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    """The chat page."""
    return _render(request, {})


def _last(items: list[str], count: int) -> list[str]:
    return items[-count:] if count > 0 else []


def _turn(
    request: Request,
    answerer: AnswererDep,
    settings: SettingsDep,
    question: str,
    history: list[str],
) -> tuple[dict[str, Any], int]:
    """One question answered for the page. History is checked like the API checks it (over the
    limit is refused with 422); the page itself only ever carries the last `max_history`
    questions forward, and says so."""
    earlier = _last([h for h in history if h.strip()], settings.max_history)
    context: dict[str, Any] = {"asked": question, "history": earlier, "carry": earlier}
    version = request.app.state.live.current()
    if version is None:
        return {**context, "error": "The answer service is not ready yet."}, 503
    try:
        answer = answer_out(answerer.ask(version, question, history))
    except QuestionError as exc:
        return {**context, "error": str(exc)}, 422
    # the question as answered: composed and trimmed of invisible characters
    asked = answer.question
    carry = _last([*earlier, asked], settings.max_history)
    context |= {"asked": asked, "answer": answer, "quotes": quotes(answer), "carry": carry}
    if answer.status == "no_answer":
        context["covered"] = covered_near(request, answer)
    return context, 200


@router.post("/", response_class=HTMLResponse)
def ask_form(
    request: Request,
    answerer: AnswererDep,
    settings: SettingsDep,
    question: FormQuestion = "",
    history: FormHistory = [],  # noqa: B006 (FastAPI copies it)
) -> HTMLResponse:
    """The no-JavaScript path: a plain form POST answered with a server-rendered page."""
    context, status = _turn(request, answerer, settings, question, history)
    return _render(request, context, status)


@router.post("/turn", response_class=HTMLResponse)
def turn_fragment(
    request: Request,
    answerer: AnswererDep,
    settings: SettingsDep,
    question: FormQuestion = "",
    history: FormHistory = [],  # noqa: B006 (FastAPI copies it)
) -> HTMLResponse:
    """One rendered turn for the script to append (same markup as the full page)."""
    context, status = _turn(request, answerer, settings, question, history)
    return _render(request, context, status, template="_turn.html")
