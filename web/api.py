"""JSON routes: /ask, /sources, /healthz, /readyz."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from assistant.answer import source_info
from index.store import rebuild_error
from web.deps import AnswererDep, LiveDep, SettingsDep, VersionDep
from web.schemas import (
    QUESTION_CAP,
    AnswerOut,
    AskRequest,
    ErrorOut,
    ReadyOut,
    SourceOut,
    SourcesOut,
    answer_out,
)

router = APIRouter()
log = logging.getLogger("stemcell_qa.questions")
PATHS = {"/ask", "/sources", "/healthz", "/readyz"}
_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorOut} for code in (400, 413, 415, 422, 429, 503)
}


async def _json_body(request: Request) -> None:
    """A body sent as form data or plain text would fail validation as "not an object", which
    does not say what to change. (async: FastAPI runs a sync dependency in its thread pool,
    one more hand-over per request.)"""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json" and not kind.endswith("+json"):
        raise HTTPException(
            415, f"send the question as JSON with Content-Type: application/json (got {kind!r})"
        )


def _answer(
    answerer: AnswererDep,
    version: VersionDep,
    settings: SettingsDep,
    question: str,
    history: list[str],
) -> Response:
    """The answer as JSON. `answer_out` has validated it against `AnswerOut` once; handed
    back as a model, FastAPI would validate it a second time and serialise it in Python
    (~0.3 ms of a ~9 ms /ask: ASGI-level server timings over 150 topical questions)."""
    if settings.log_questions:
        log.info("question: %r (history %d)", question, len(history))
    out = answer_out(answerer.ask(version, question, history))
    return Response(out.model_dump_json(), media_type="application/json")


@router.post(
    "/ask", response_model=AnswerOut, responses=_ERRORS, dependencies=[Depends(_json_body)]
)
def ask(
    body: AskRequest, answerer: AnswererDep, version: VersionDep, settings: SettingsDep
) -> Response:
    """Answer a question (with earlier questions as `history`) from the sources, verbatim."""
    return _answer(answerer, version, settings, body.question, body.history)


@router.get("/ask", response_model=AnswerOut, responses=_ERRORS)
def ask_get(
    answerer: AnswererDep,
    version: VersionDep,
    settings: SettingsDep,
    q: Annotated[str, Query(min_length=1, max_length=QUESTION_CAP)],
) -> Response:
    """Quick form of /ask for a single question (no history)."""
    return _answer(answerer, version, settings, q, [])


@router.get("/sources", response_model=SourcesOut, responses=_ERRORS)
def sources(version: VersionDep) -> SourcesOut:
    """The indexed sources with their credibility labels."""
    items = [SourceOut.model_validate(source_info(version, s).__dict__) for s in version.documents]
    return SourcesOut(index_version=version.name, sources=items)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", response_model=ReadyOut, responses=_ERRORS)
def readyz(version: VersionDep, live: LiveDep) -> ReadyOut:
    """An index is loaded: which version, how large, and the last reload error if any."""
    return ReadyOut(
        status="ready",
        index_version=version.name,
        documents=len(version.documents),
        chunks=len(version.chunks),
        built_at=version.manifest.get("built_at"),
        last_reload_error=live.last_error,
        last_rebuild_error=rebuild_error(live.index_dir),
    )
