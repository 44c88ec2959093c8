"""Consumer-style rewrites of templated dev questions, for training the scorers.

MedQuAD's dev questions are templates ("What are the symptoms of X ?"); patients write
differently: a subject line glued to the question, who is ill and since when, the question in
everyday words with "it" for the subject, typos, no capitals. Trained on templates alone, the
scorers learn that an answerable question covers the passage's terms and sits close to it, and
then turn real messages away. Each rewrite keeps the question's labels (its gold passages, or
that it is unanswerable), so they teach the scorers to look past the extra words.

A question that is not a template (the seed sets') is kept word for word inside a short
personal story, so the sentence scorer learns to pick quotes by what is asked, not by the
story around it.

The rewrites are generated here, from the dev questions, with a fixed seed: anyone can
regenerate and read them (`stemcell-qa train-scorer --show-rewrites N`).
"""

from __future__ import annotations

import random
import re
from dataclasses import replace

from assistant.evaluate import Question

# Everyday wordings of MedQuAD's question types; "it" stands for the subject.
_ASKS = {
    "symptoms": [
        "what are the signs of it",
        "what symptoms should we look out for",
        "how do you know if you have it",
    ],
    "treatment": ["how is it treated", "what can be done for it", "is there any treatment"],
    "outlook": ["what is the prognosis", "will it get better", "what happens long term"],
    "exams and tests": [
        "how do they test for it",
        "how is it diagnosed",
        "what tests will they do",
    ],
    "causes": ["what causes it", "why does this happen", "where does it come from"],
    "susceptibility": ["who gets it", "am i at risk", "are some people more likely to get it"],
    "prevention": ["can it be prevented", "how can we avoid it", "is there a way to prevent it"],
    "inheritance": ["is it passed down in families", "can my children inherit it", "is it genetic"],
    "genetic changes": ["what gene is involved", "what genetic change causes it"],
    "frequency": ["how common is it", "how many people have it"],
    "research": ["are there any clinical trials", "is there new research on it"],
    "stages": ["what are the stages", "how do they stage it"],
    "information": ["what is it exactly", "can you explain what it is", "what is this"],
}
_WHO = [
    "my mother",
    "my dad",
    "my husband",
    "my wife",
    "my son",
    "my daughter",
    "my sister",
    "my grandmother",
    "a friend of mine",
    "my brother",
]
_WHEN = ["last week", "a few months ago", "this year", "two years ago", "recently"]
_CONTEXT = [
    "{who} was diagnosed with {subject} {when}.",
    "{who} has just been told they have {subject}.",
    "i am {age} and my doctor thinks i might have {subject}.",
    "we found out {when} that {who} has {subject} and we are very worried.",
    "i have been reading about {subject} online and i am confused.",
    "{who} has had {subject} since {when} and it is getting worse.",
]
# Stories with no subject, for questions that are not templates: the question itself is kept.
_STORY = [
    "{who} has been unwell since {when} and we are looking at every option.",
    "i am {age} and i have been reading a lot online, and i am confused.",
    "{who} saw an advert {when} and wants to try it, but i am worried.",
    "we have been to several doctors since {when} and nobody explains things clearly.",
]
_OPENERS = ["Hi,", "Hello,", "Hi there, I hope you can help.", "Please help.", ""]
_CLOSERS = ["Thank you.", "Thanks in advance.", "Any advice appreciated.", "thanks", ""]


def subject_of(question: Question) -> str | None:
    """The subject of a templated MedQuAD question ("Hairy Cell Leukemia"), if it is one."""
    text = question.question.strip().rstrip("?").strip()
    match = re.match(
        r"(?i)^(what (is|are) (\(are\) )?(the )?(symptoms|treatments|causes|outlook|stages|"
        r"genetic changes related to)?( of| for)?|who is at risk for|how to (diagnose|prevent)|"
        r"what causes|is|how many people are affected by|what research \(or clinical trials\) "
        r"is being done for|what are the complications of|what to do for|"
        r"do you have information about)\s+(?P<subject>.+?)(\s+inherited)?\s*\??$",
        text,
    )
    return match.group("subject").strip() if match else None


def rewrite(question: Question, rng: random.Random) -> Question:
    """A consumer-style version of a question: a templated one reworded around its subject,
    any other kept as written inside a short personal story."""
    subject = subject_of(question)
    asks = _ASKS.get(question.qtype)
    if not subject or not asks:
        return _in_a_story(question, rng)
    values = {
        "who": rng.choice(_WHO),
        "when": rng.choice(_WHEN),
        "age": str(rng.randint(18, 80)),
        "subject": subject if rng.random() < 0.8 else subject.lower(),
    }
    parts = [rng.choice(_OPENERS)]
    if rng.random() < 0.4:
        parts.insert(0, f"{subject}{rng.choice(['..', ' -', '?', ':'])}")
    parts.append(rng.choice(_CONTEXT).format(**values))
    asked = [rng.choice(asks)]
    if rng.random() < 0.2:  # a second question in the same message
        asked.append(rng.choice([a for a in rng.choice(list(_ASKS.values())) if a not in asked]))
    parts.append(" and ".join(asked) + rng.choice(["?", "??", "", "."]))
    parts.append(rng.choice(_CLOSERS))
    text = " ".join(p for p in parts if p)
    if rng.random() < 0.4:
        text = _typo(text, rng)
    if rng.random() < 0.5:
        text = text.lower()
    return replace(question, id=f"{question.id}~consumer", question=text)


def _in_a_story(question: Question, rng: random.Random) -> Question:
    values = {"who": rng.choice(_WHO), "when": rng.choice(_WHEN), "age": str(rng.randint(18, 80))}
    parts = [rng.choice(_OPENERS), rng.choice(_STORY).format(**values), question.question]
    parts.append(rng.choice(_CLOSERS))
    text = " ".join(p for p in parts if p)
    if rng.random() < 0.5:
        text = text.lower()
    return replace(question, id=f"{question.id}~story", question=text)


def _typo(text: str, rng: random.Random) -> str:
    """Drop or swap a letter in one longer word (the commonest typing slips)."""
    words = text.split(" ")
    long = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha()]
    if not long:
        return text
    i = rng.choice(long)
    word = words[i]
    at = rng.randrange(1, len(word) - 2)
    if rng.random() < 0.5:
        words[i] = word[:at] + word[at + 1 :]
    else:
        words[i] = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    return " ".join(words)


def rewrites(questions: list[Question], seed: int) -> list[Question]:
    """One consumer-style rewrite per question without history (reproducible with `seed`)."""
    rng = random.Random(seed)
    return [rewrite(q, rng) for q in questions if not q.history]
