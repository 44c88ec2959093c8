"""The answer object returned by `ask()`, serialised identically by `/ask` and the CLI."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class AnswerSentence:
    """A sentence quoted verbatim: `text == document.text[start:end]`."""

    text: str
    source_id: str
    chunk_id: str
    start: int
    end: int
    link: str | None
    score: float


@dataclass(frozen=True)
class Passage:
    """A supporting chunk; `highlights` are offsets relative to `text`."""

    chunk_id: str
    source_id: str
    text: str
    highlights: tuple[tuple[int, int], ...]
    score: float
    link: str | None
    section: str
    start: int
    end: int


@dataclass(frozen=True)
class SourceInfo:
    """How a source is shown to patients: title, publisher, credibility label, dates."""

    id: str
    title: str
    url: str | None
    publisher: str | None
    kind: str
    published: str | None
    retrieved_at: str | None


@dataclass(frozen=True)
class Answer:
    """Answer sentences (best first) with their passages and sources, or an honest no-answer.

    With status `no_answer`, `answer` is empty and `passages` are only related text,
    never to be shown as an answer.
    """

    question: str
    status: str  # "answered" | "no_answer"
    answer: tuple[AnswerSentence, ...]
    passages: tuple[Passage, ...]
    sources: dict[str, SourceInfo]
    index_version: str
    resolved_query: str = ""
    used_history: bool = False
    # The question's words (as written) that no source addresses: why there is no answer,
    # or, answered, what the quotes leave out (a message of several questions).
    not_covered: tuple[str, ...] = ()
    confidence: float = 0.0  # the scorer's probability that the sources answer the question
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return asdict(self)
