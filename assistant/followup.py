"""Resolve follow-up questions against earlier turns, without generating text."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Words that point back to something said earlier (English personal and demonstrative
# pronouns and determiners).
_ANAPHORA = frozenset(
    [
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
        # typed without the apostrophe: "hes back at work", "shes 22", "theyre safe?"
        "hes",
        "shes",
        "theyre",
        "theyve",
        "thats",
        "such",
        "same",
        "former",
        "latter",
    ]
)
# Openings that continue the previous turn ("and what about lung disease?").
_CONTINUATION = (
    r"^\s*(and|but|also|so|then|what about|how about|what else|anything else|any other|"
    r"why not|how so|what if|tell me more|more about|go on|(?:go|going|come|coming) back(?: to)?|"
    r"back to the)\b"
)
# Openings that take back what came before ("forget that, ...", "never mind the cost, ...",
# "ok scratch that ..."): the question after them stands alone, and what they name is no
# subject. Only at the start of a message, and only up to the end of the clause.
_RETRACTION = (
    r"^\W*(?:(?:ok|okay|oh|ah|but|so|and|actually)\W+)?"
    r"(?:forget|ignore|never\s?mind|nvm|scratch)\b[^,.;:!?]*[,.;:!]"
)
# Openings that turn to a subject, new or earlier, with the earlier question's ask ("what
# about lung disease?", "go back to the spinal cord one"): what follows them is the subject.
_SWITCH = (
    r"^\W*(?:(?:and|but|so|ok|okay)\W+)?"
    r"(?:(?:what|how)\s+about|(?:go|going|come|coming)\s+back\s+to|back\s+to\s+the|"
    r"(?:and|but|also)\s+(?:(?:for|in|with)\s+)?"
    r"(?!(?:how|what|when|why|which|who|where|long|much|many|it|its|they|them|their|that|those|"
    r"this|these|there|is|are|was|were|do|does|did|can|could|should|would|will|may|might|has|"
    r"have|had|if|then|so|also|i|you|we|for|in|with)\b))"
)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
# the words a question opens with
_OPENING_WORDS = (
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
    "has",
    "have",
)
# Question and function words that name no subject.
_QUESTION_WORDS = frozenset(
    [
        *_OPENING_WORDS,
        "many",
        "much",
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
        "had",
        "any",
        "not",
        "no",
        "yes",
    ]
)


@dataclass(frozen=True)
class FollowupSettings:
    """When a question is read as a follow-up of the previous one."""

    anaphora: frozenset[str] = _ANAPHORA
    continuation: str = _CONTINUATION
    switch: str = _SWITCH
    question_words: frozenset[str] = _QUESTION_WORDS
    retraction: str = _RETRACTION
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
    if retraction_length(question, s):
        return False  # "forget that, what was the biggest study?" starts afresh
    tokens = words(question)
    if opening_length(question, s):
        return True
    if any(t in s.anaphora for t in tokens):
        return True
    # "the trial", "the study": a thing the conversation has named, so the one word after
    # "the" is no subject of the question's own ("When does the trial start?" after "Can stem
    # cells help Parkinson's?" asks about a Parkinson's trial); "the lung trial" still names one
    own = [t for i, t in enumerate(tokens) if i == 0 or tokens[i - 1] != "the"]
    return len(_subject_words(own, s)) < s.min_subject_words


_SENTENCE_END = re.compile(r"(?<=[.?!])\s+|\n+")
_ASKING = re.compile(
    r"^\W*(?:(?:and|but|also|so|or|plus)\s+)?"
    rf"({'|'.join(_OPENING_WORDS)}|any|anything)\b",
    re.IGNORECASE,
)


def sentences_of(message: str) -> list[str]:
    """The message's sentences (split after ".", "?" or "!" and at line breaks), trimmed."""
    return [p.strip() for p in _SENTENCE_END.split(message) if p.strip()]


def occurs(word: str, text: str) -> bool:
    """Does `word` occur in `text` as a whole word, in any case?"""
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, flags=re.IGNORECASE) is not None


def asked_part(message: str) -> str:
    """The sentences of a message that ask something: in "My dad is 64 and had a fall. What
    side effects did people have?" the second. Questions marked with "?" first, else
    sentences that open like a question; a message with neither is all question."""
    sentences = sentences_of(message)
    if len(sentences) < 2:
        return message.strip()
    for test in (lambda t: t.endswith("?"), lambda t: bool(_ASKING.match(t))):
        asking = " ".join(t for t in sentences if test(t))
        # "is that safe" names nothing of its own: the story around it says what "that" is
        if asking and _names_enough(asking, FollowupSettings()):
            return asking
    return message.strip()


# Where one sentence asks a second question: ", and does the NHS pay for it?", "also can I ..."
_NEXT_QUESTION = re.compile(
    r"(?:,?\s+(?:and|also|but|plus|&)\s+|,\s+)(?=(?:is|are|was|were|do|does|did|can|could|"
    r"should|would|will|how|what|when|where|why|which|who)\b)",
    re.IGNORECASE,
)


def question_units(message: str) -> list[str]:
    """The message's sentences, a question split again where it goes on to ask another ("What
    side effects did people get, and does the NHS pay for it?" is two; "Can they use his own
    cells or does it have to come from a donor?" is one, its alternatives one question)."""
    return [unit for unit, _ in _units(message)]


def _units(message: str) -> list[tuple[str, bool]]:
    """`question_units`, each with whether it is part of a sentence that ends in "?"."""
    units: list[tuple[str, bool]] = []
    for sentence in sentences_of(message):
        if not words(sentence) and units:
            units[-1] = (f"{units[-1][0]} {sentence}", units[-1][1] or sentence.endswith("?"))
            continue
        # only a question is split: in "My mum is 61 and was diagnosed in May." no new
        # question starts at "and was"
        asking = sentence.endswith("?")
        split = asking or bool(_ASKING.match(sentence))  # "What is X & is it legal"
        parts = _NEXT_QUESTION.split(sentence) if split else [sentence]
        # a part with no word ("?" of "Is it safe? ?") is no question of its own
        units += [(u.strip(), asking) for u in parts if words(u)]
    return units


def asks(unit: str) -> bool:
    """Does this sentence or `question_units` part ask the sources something: it ends in "?"
    or opens like a question, and is not said to the assistant ("Can you help me?",
    "thanks")? Without "?", "any ..." closes a message rather than asks ("Any advice
    appreciated.", "Any help would be great")."""
    if to_the_assistant(unit):
        return False
    if unit.endswith("?"):
        return True
    opening = _ASKING.match(unit)
    return opening is not None and opening.group(1).lower() not in ("any", "anything")


def opens_like_a_question(unit: str) -> bool:
    """Does the text open with a word that starts questions ("how", "and is", "any")?"""
    return _ASKING.match(unit) is not None


def asks_anything(message: str) -> bool:
    """Whether any part of a message `asks` (else it only tells: "hes 45, works as a bus
    driver")."""
    return any(asks(unit) for unit in question_units(message))


def own_question(unit: str, settings: FollowupSettings | None = None) -> bool:
    """A part of a message that `asks` and names enough to stand as a question alone ("does
    the NHS pay for it?"), not one that leans on the rest ("what cauess it")."""
    return asks(unit) and _names_enough(unit, settings or FollowupSettings())


def _names_enough(text: str, s: FollowupSettings) -> bool:
    """Does `text` name enough subject words to stand as a question on its own?"""
    return len(_subject_words(words(text), s)) >= s.min_subject_words


def without_questions_on(message: str, terms: list[str]) -> str | None:
    """The message without its sentences (and `question_units`) that mention any of `terms`,
    when it asks two or more questions and at least one of them mentions none: "Is it safe?
    Is there a trial in Australia?" without "Australia" is "Is it safe?". None otherwise
    (also for no terms)."""
    if not terms:
        return None
    # "So my questions are: were there tumours, and how long is the wait?" asks twice
    units = _units(message)
    sentences = [unit for unit, _ in units]
    # a part of a question sentence asks, unless it is said to the assistant: the "ok" of
    # "ok and what about for my knees?" is no question the sources could answer
    asking = [u for u, in_question in units if (in_question and not to_the_assistant(u)) or asks(u)]
    if len(asking) < 2:
        return None
    kept = [t for t in sentences if not any(occurs(term, t) for term in terms)]
    if not any(t in asking for t in kept):
        return None
    return " ".join(kept)


# Words that address the assistant rather than name anything in the sources.
_YOU = frozenset(["you", "u", "your", "yourself", "ya"])


# a few words around a thank-you are its own ("gotcha, thanks a bunch", "cheers mate"): up to
# `_SHORT_THANKS` words in all (chosen: "thank you so much x" is five, all acknowledging)
_THANKS = frozenset(["thanks", "thank", "thankyou", "thx", "ty", "cheers"])
_SHORT_THANKS = 4
# what opens a thank-you: a message that starts otherwise is not one ("I see ..." is no thanks)
_THANKING = frozenset(
    [
        *_THANKS,
        "ta",
        "ok",
        "okay",
        "k",
        "kk",
        "great",
        "good",
        "perfect",
        "cool",
        "brilliant",
        "lovely",
        "awesome",
        "alright",
        "fine",
        "right",
    ]
)
# The words of a message that only thanks or acknowledges ("thanks so much, that really
# helped x", "ok cheers", "got it"). Chosen, not fitted: thanks, agreement, sign-offs and
# the small words around them.
_ACKNOWLEDGING = frozenset(
    [
        *_THANKING,
        "nice",
        "amazing",
        "wonderful",
        "excellent",
        "appreciate",
        "appreciated",
        "helpful",
        "helps",
        "helped",
        "got",
        "it",
        "understand",
        "understood",
        "see",
        "makes",
        "sense",
        "bye",
        "goodbye",
        "sure",
        "yes",
        "yeah",
        "yep",
        "wow",
        "oh",
        "ah",
        "lol",
        "x",
        "xx",
        "xxx",
        "so",
        "much",
        "really",
        "very",
        "that",
        "this",
        "is",
        "was",
        "a",
        "the",
        "for",
        "and",
        "all",
        "you",
        "your",
        "that's",
        "thats",
        "i",
        "i've",
        "ive",
        "we",
        "me",
        "lot",
        "lots",
        "again",
        "now",
        # "Thank you, that has been really helpful.", "thanks for the info, take care"
        "has",
        "have",
        "been",
        "are",
        "it's",
        "its",
        "super",
        "extremely",
        "truly",
        "useful",
        "informative",
        "reassuring",
        "clear",
        "kind",
        "info",
        "information",
        "everything",
        "take",
        "care",
    ]
)


# the writer's own next step, which closes a conversation after thanks
_NEXT_STEP = tuple(
    f"{step} "
    for step in (
        "i'll",
        "we'll",
        "i will",
        "we will",
        "i shall",
        "i'm going to",
        "im going to",
        "i am going to",
        "we're going to",
        "we are going to",
        "i'm gonna",
        "im gonna",
    )
)


def acknowledges(message: str) -> bool:
    """True for a message that only thanks or acknowledges ("thanks!", "ok cheers", "great,
    that really helped x"), thanks in a few words ("gotcha, thanks a bunch"), or thanks and
    says what the writer will do next ("ok cheers, I'll talk to his consultant", "thanks, we
    will think about it"): it asks nothing (no "?", no part opening like a question), and
    every word before that next step is such a word.
    "ok, my son has autism" is no thanks: it tells what later questions are about."""
    tokens = words(message)
    if not tokens or "?" in message:
        return False
    if all(t in _ACKNOWLEDGING for t in tokens):
        return True
    if len(tokens) <= _SHORT_THANKS and _THANKS & set(tokens):
        return not _asks_in(tokens)  # "gotcha, thanks a bunch", "cheers mate"
    if tokens[0] not in _THANKING:
        return False
    for at in range(1, len(tokens)):
        step = next(
            (s for s in _NEXT_STEP if (" ".join(tokens[at : at + 4]) + " ").startswith(s)), ""
        )
        if step:
            return not _asks_in(tokens[at + len(step.split()) :])
        if tokens[at] not in _ACKNOWLEDGING:
            return False
    return False


def _asks_in(tokens: list[str]) -> bool:
    """Does a word that opens questions occur among `tokens` ("thanks is it safe")?"""
    return any(t in _OPENING_WORDS for t in tokens)


def to_the_assistant(question: str, settings: FollowupSettings | None = None) -> bool:
    """True for a message about the assistant or the chat, not the sources ("Are you a
    doctor?", "what are you?", "can you help me?", "thanks!"): it thanks or acknowledges,
    or says "you" and names fewer subject words than a question that stands alone needs.
    "Can you tell me if stem cells cause tumours?" names its subject and is asked as usual."""
    if acknowledges(question):
        return True
    if _WHAT_YOU_ARE.match(question) and len(sentences_of(question)) == 1:
        return True
    s = settings or FollowupSettings()
    tokens = words(question)
    subject = [t for t in _subject_words(tokens, s) if t not in _YOU]
    return any(t in _YOU for t in tokens) and len(subject) < s.min_subject_words


# "are you a real doctor?", "r u a bot", "are you human": what the assistant is, however many
# words name it ("are you a stem cell expert"). Not "are you sure it is safe?".
_WHAT_YOU_ARE = re.compile(
    r"^\W*(?:(?:and|but|so|ok|okay|wait|sorry|hi|hello)\W+)*(?:are|r)\s+(?:you|u)\s+"
    r"(?:an?|real|human|really\s+(?:an?|human|real))\b",
    re.IGNORECASE,
)


def about_the_sources(message: str, settings: FollowupSettings | None = None) -> str:
    """The message without its sentences addressed to the assistant ("Are you a doctor? Do
    stem cells cause tumours?" asks the second), when another sentence remains."""
    sentences = sentences_of(message)
    kept = [t for t in sentences if not to_the_assistant(t, settings)]
    return " ".join(kept) if kept and len(kept) < len(sentences) else message


def opening_length(question: str, settings: FollowupSettings | None = None) -> int:
    """How many characters of the question are a continuation opening ("go back to"): words
    that point at the conversation, not at a subject. 0 when it opens otherwise."""
    return _opening(question, (settings or FollowupSettings()).continuation)


def retraction_length(question: str, settings: FollowupSettings | None = None) -> int:
    """How many characters of the question take back what came before ("forget the hair
    thing, ..."); 0 when it opens otherwise."""
    return _opening(question, (settings or FollowupSettings()).retraction)


def _opening(question: str, pattern: str) -> int:
    """How many characters at the start of the question `pattern` matches (0: none)."""
    opening = re.match(pattern, question, re.IGNORECASE)
    return opening.end() if opening else 0


def switches_subject(question: str, settings: FollowupSettings | None = None) -> bool:
    """True for a follow-up that names a new subject for the earlier ask ("what about ALS?")."""
    s = settings or FollowupSettings()
    return re.match(s.switch, question, re.IGNORECASE) is not None


def subject_index(history: list[str], settings: FollowupSettings | None = None) -> int | None:
    """Where in `history` the earlier turn is that names what a follow-up is about: walking
    back from the latest, the first that stands alone or turns to a new subject, or else the
    first turn, which had nothing before it to lean on. In "Can stem cells cure autism?" ->
    "what side effects did they see?" -> "how long did they last?", the last two are about
    autism. None only for no history."""
    s = settings or FollowupSettings()
    for i in range(len(history) - 1, -1, -1):
        turn = history[i]
        if i == 0 or switches_subject(turn, s) or not depends_on_history(turn, s):
            return i
    return None


def dangling(question: str, settings: FollowupSettings | None = None) -> bool:
    """True when the question points back ("How many patients were in it?") and names too
    little of its own to be answered without the earlier turn it points to."""
    s = settings or FollowupSettings()
    opening = opening_length(question, s)
    # the opening names nothing either: "tell me more" has no subject words of its own
    tokens = words(question[opening:])
    points_back = bool(opening) or any(t in s.anaphora for t in tokens)
    return points_back and len(_subject_words(tokens, s)) < s.min_subject_words


def _subject_words(tokens: list[str], s: FollowupSettings) -> list[str]:
    return [t for t in tokens if t not in s.question_words and len(t) >= s.min_word_length]


def resolve(
    question: str, history: list[str], settings: FollowupSettings | None = None
) -> ResolvedQuery:
    """Join the question with the (resolved) previous question when it depends on it."""
    question = question.strip()
    if not history or not depends_on_history(question, settings):
        return ResolvedQuery(question, question, False)
    previous = previous_reading(history, settings)
    return ResolvedQuery(f"{previous.text} {question}", question, True)


def previous_reading(history: list[str], settings: FollowupSettings | None = None) -> ResolvedQuery:
    """The last earlier turn as a follow-up reads it, resolved itself; when it only tells,
    with the turns before it back to the last that asked, as one story ("I was diagnosed
    with pneumonia on Monday." -> "I'm 45 and otherwise healthy." -> "how long before I feel
    better?" is about pneumonia, which the last turn alone does not name)."""
    start = len(history) - 1
    while start > 0 and not asks_anything(history[start]):
        start -= 1
    previous = resolve(history[start], history[:start], settings)
    if start == len(history) - 1:
        return previous
    story = " ".join(t.strip() for t in history[start + 1 :])
    return ResolvedQuery(f"{previous.text} {story}", story, previous.uses_history)
