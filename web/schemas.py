"""HTTP request and response models (the OpenAPI schema), and the one domain -> schema mapping."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assistant.model import Answer
from assistant.settings import HISTORY_CAP
from assistant.settings import QUESTION_CHARS_CAP as QUESTION_CAP

# The schema refuses anything over the hard caps; the configured limits (`Settings`:
# STEMCELL_QA_MAX_QUESTION_CHARS and STEMCELL_QA_MAX_HISTORY) are checked on top, also with 422.


class AskRequest(BaseModel):
    """A question, with the earlier questions of the conversation (oldest first)."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(
        min_length=1, max_length=QUESTION_CAP, examples=["Are stem cell treatments safe?"]
    )
    history: list[str] = Field(default_factory=list, max_length=HISTORY_CAP)

    @field_validator("history")
    @classmethod
    def _encodable(cls, turns: list[str]) -> list[str]:
        # JSON can carry lone surrogates (a "\ud800" escape) that the tokenizer cannot encode
        for turn in turns:
            try:
                turn.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("history holds text that is not valid Unicode") from None
        return turns


class AnswerSentenceOut(BaseModel):
    """A sentence quoted verbatim from a source: text == source text[start:end]."""

    text: str
    source_id: str
    chunk_id: str
    start: int
    end: int
    link: str | None
    score: float


class PassageOut(BaseModel):
    """A supporting (or, with no_answer, only related) passage; highlights are relative."""

    chunk_id: str
    source_id: str
    text: str
    highlights: list[tuple[int, int]]
    score: float
    link: str | None
    section: str
    start: int
    end: int


class SourceOut(BaseModel):
    """A source as shown to patients; `kind` is its credibility label."""

    id: str
    title: str
    url: str | None
    publisher: str | None
    kind: str
    published: str | None
    retrieved_at: str | None


class AnswerOut(BaseModel):
    """The answer object: verbatim sentences best first, or status no_answer."""

    question: str
    status: Literal["answered", "no_answer"]
    answer: list[AnswerSentenceOut]
    passages: list[PassageOut]
    sources: dict[str, SourceOut]
    index_version: str
    resolved_query: str
    used_history: bool
    not_covered: list[str] = Field(
        description="the question's words or phrases (as written) that no source addresses, "
        'e.g. ["autism"]. With no_answer: empty when the sources touch every part of the '
        "question but none answers it, or when it is a follow-up of an earlier question on a "
        "subject no source covers (that question named it). With answered: a message asking "
        "several questions, whose quotes answer the questions that do not mention these",
        examples=[["autism"]],
    )
    confidence: float = Field(
        ge=0, le=1, description="the scorer's probability that the sources answer the question"
    )
    timings_ms: dict[str, float]


class SourcesOut(BaseModel):
    """The indexed sources."""

    index_version: str
    sources: list[SourceOut]


class ReadyOut(BaseModel):
    """Readiness: which index version is served, its size, and how the last reload check went."""

    status: Literal["ready"]
    index_version: str
    documents: int
    chunks: int
    built_at: str | None
    last_reload_error: str | None = Field(
        description="why the latest check for a newly published index version failed (the "
        "version above is still served); null when the check went well"
    )
    last_rebuild_error: str | None = Field(
        default=None,
        description="why the latest background rebuild (`serve --watch` or `--refresh-every`) "
        "failed, e.g. no documents left to index: the version above, built before, is still "
        "served; null when it went well or none has run",
    )


class ErrorOut(BaseModel):
    """Every error response: `detail` says what went wrong and what to do."""

    detail: str | list[dict[str, object]]


def answer_out(answer: Answer) -> AnswerOut:
    """The one conversion from the domain `Answer` to the HTTP schema."""
    return AnswerOut.model_validate(answer.to_dict())
