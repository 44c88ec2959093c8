"""Resolve follow-up questions against earlier turns, without generating text."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Words that point back to something said earlier.
_ANAPHORA = {
    "it",
    "its",
    "they",
    "them",
    "their",
    "theirs",
    "this",
    "that",
    "these",
    "those",
    "there",
    "he",
    "she",
    "him",
    "her",
    "his",
    "hers",
    "such",
    "same",
    "former",
    "latter",
}
_CONTINUATION = re.compile(
    r"^\s*(and|but|also|so|then|what about|how about|and what about|what else|"
    r"anything else|any other|why not|how so|what if)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
_QUESTION_WORDS = {
    "what",
    "which",
    "who",
    "whom",
    "whose",
    "when",
    "where",
    "why",
    "how",
    "is",
    "are",
    "was",
    "were",
    "do",
    "does",
    "did",
    "can",
    "could",
    "should",
    "would",
    "will",
    "may",
    "might",
    "a",
    "an",
    "the",
    "of",
    "for",
    "to",
    "in",
    "on",
    "at",
    "by",
    "with",
    "about",
    "and",
    "or",
    "i",
    "me",
    "my",
    "we",
    "our",
    "you",
    "your",
    "be",
    "been",
    "have",
    "has",
    "had",
    "any",
    "there",
    "not",
    "no",
    "yes",
    "it",
    "they",
    "this",
    "that",
}


@dataclass(frozen=True)
class ResolvedQuery:
    """The text used for retrieval and whether earlier turns were drawn in."""

    text: str
    focus: str  # the user's own words this turn
    uses_history: bool


def words(text: str) -> list[str]:
    """Lowercased word tokens."""
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def depends_on_history(question: str) -> bool:
    """True when the question cannot stand alone: it points back or names no subject."""
    tokens = words(question)
    if _CONTINUATION.match(question):
        return True
    if any(t in _ANAPHORA for t in tokens):
        return True
    content = [t for t in tokens if t not in _QUESTION_WORDS and len(t) > 2]
    return len(content) < 2


def resolve(question: str, history: list[str]) -> ResolvedQuery:
    """Join the question with the (resolved) previous question when it depends on it."""
    question = question.strip()
    if not history or not depends_on_history(question):
        return ResolvedQuery(question, question, False)
    previous = resolve(history[-1], history[:-1])
    return ResolvedQuery(f"{previous.text} {question}", question, True)
