"""Resolve follow-up questions against earlier turns, without generating text."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Words that point back to something said earlier (English personal and demonstrative
# pronouns and determiners).
_ANAPHORA = frozenset(
    "it its they them their theirs this that these those there he she him her his hers "
    "such same former latter".split()
)
# Openings that continue the previous turn ("and what about lung disease?").
_CONTINUATION = (
    r"^\s*(and|but|also|so|then|what about|how about|what else|anything else|any other|"
    r"why not|how so|what if)\b"
)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
# Question and function words that name no subject.
_QUESTION_WORDS = frozenset(
    "what which who whom whose when where why how is are was were do does did can could "
    "should would will may might a an the of for to in on at by with about and or i me my "
    "we our you your be been have has had any not no yes".split()
)


@dataclass(frozen=True)
class FollowupSettings:
    """When a question is read as a follow-up of the previous one."""

    anaphora: frozenset[str] = _ANAPHORA
    continuation: str = _CONTINUATION
    question_words: frozenset[str] = _QUESTION_WORDS
    # A question needs two subject words of its own to stand alone ("When does it start?"
    # has one: "start"); seed-dev's follow-ups d20/d21 and the consumer set's follow-ups.
    min_subject_words: int = 2
    min_word_length: int = 3  # shorter words ("go", "ok") name no subject


@dataclass(frozen=True)
class ResolvedQuery:
    """The text used for retrieval and whether earlier turns were drawn in."""

    text: str
    focus: str  # the user's own words this turn
    uses_history: bool


def words(text: str) -> list[str]:
    """Lowercased word tokens."""
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def depends_on_history(question: str, settings: FollowupSettings | None = None) -> bool:
    """True when the question cannot stand alone: it points back or names no subject."""
    s = settings or FollowupSettings()
    tokens = words(question)
    if re.match(s.continuation, question, re.IGNORECASE):
        return True
    if any(t in s.anaphora for t in tokens):
        return True
    content = [
        t for t in tokens if t not in s.question_words and len(t) >= s.min_word_length
    ]
    return len(content) < s.min_subject_words


def resolve(
    question: str, history: list[str], settings: FollowupSettings | None = None
) -> ResolvedQuery:
    """Join the question with the (resolved) previous question when it depends on it."""
    question = question.strip()
    if not history or not depends_on_history(question, settings):
        return ResolvedQuery(question, question, False)
    previous = resolve(history[-1], history[:-1], settings)
    return ResolvedQuery(f"{previous.text} {question}", question, True)
