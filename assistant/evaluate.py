"""Eval metrics over question files: answer hits, passage recall/MRR, abstention, what
`not_covered` names, latency."""

from __future__ import annotations

import json
import re
import statistics
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.answer import Answerer
from assistant.followup import occurs
from assistant.model import Answer
from corpus.verbatim import SourceTexts, is_verbatim
from index.store import IndexVersion

_FOLD = {"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'}


class EvalError(ValueError):
    """A question file is malformed."""


@dataclass(frozen=True)
class Question:
    """One eval question with its expected support."""

    id: str
    question: str
    history: list[str]
    expect: str
    gold: list[str]
    gold_ids: list[str]
    qtype: str = ""  # MedQuAD's question type ("symptoms", ...), when the file gives one
    # what `not_covered` should name, when the file says: one group per uncovered part, any
    # of whose words will do ([["cost", "much"], ["NHS", "UK"]])
    not_covered: tuple[tuple[str, ...], ...] = ()


@dataclass
class Tally:
    """Running metrics for one question file."""

    answerable: int = 0
    out_of_scope: int = 0
    hit1: int = 0
    hit3: int = 0
    recall5: int = 0
    mrr10: float = 0.0
    answered: int = 0
    abstained: int = 0
    non_verbatim: int = 0
    not_covered_outside: int = 0  # not_covered phrases that are not in the question
    named_expected: int = 0  # uncovered parts the question file says `not_covered` names
    named: int = 0  # ... that it did name
    latencies: list[float] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        """Fold another tally into this one."""
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def summary(self) -> dict[str, Any]:
        """Rates and latency percentiles."""
        n, m = max(self.answerable, 1), max(self.out_of_scope, 1)
        lat = sorted(self.latencies) or [0.0]
        return {
            "questions": self.answerable + self.out_of_scope,
            "answerable": self.answerable,
            "out_of_scope": self.out_of_scope,
            "hit@1": round(self.hit1 / n, 4),
            "hit@3": round(self.hit3 / n, 4),
            "recall@5": round(self.recall5 / n, 4),
            "mrr@10": round(self.mrr10 / n, 4),
            "answered_rate": round(self.answered / n, 4),
            "abstain_rate": round(self.abstained / m, 4) if self.out_of_scope else None,
            "non_verbatim": self.non_verbatim,
            "not_covered_outside": self.not_covered_outside,
            "not_covered_named": (
                round(self.named / self.named_expected, 4) if self.named_expected else None
            ),
            "latency_ms_p50": round(statistics.median(lat), 1),
            "latency_ms_p95": round(lat[min(len(lat) - 1, int(0.95 * len(lat)))], 1),
        }


def fold(text: str) -> str:
    """Compare-form of text: case, whitespace and curly quotes folded."""
    text = unicodedata.normalize("NFKC", text)
    for curly, plain in _FOLD.items():
        text = text.replace(curly, plain)
    return re.sub(r"\s+", " ", text).strip().lower()


def load_questions(path: Path) -> list[Question]:
    """Read a question file (one JSON object per line)."""
    questions = []
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalError(f"{path}: cannot read the question file ({exc})") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            questions.append(
                Question(
                    id=str(raw["id"]),
                    question=raw["question"],
                    history=list(raw.get("history", [])),
                    expect=raw.get("expect", "answer"),
                    gold=list(raw.get("gold", [])),
                    gold_ids=list(raw.get("gold_ids", [])) + list(raw.get("also_ok_ids", [])),
                    qtype=str(raw.get("qtype") or ""),
                    not_covered=tuple(tuple(map(str, g)) for g in raw.get("not_covered", [])),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise EvalError(f"{path}:{number}: not a question record ({exc})") from None
    return questions


def supports(q: Question, source_id: str, text: str) -> bool:
    """True when text from `source_id` supports the question (shared/README.md rules)."""
    if source_id in q.gold_ids:
        return True
    folded = fold(text)
    return any(fold(g) in folded for g in q.gold if g)


def score(
    q: Question,
    answer: Answer,
    version: IndexVersion,
    tally: Tally,
    sources: SourceTexts | None = None,
) -> None:
    """Add one response to the tally; quotes are checked against the original source files
    (`sources` keeps them read across calls)."""
    for sentence in answer.answer:
        doc = version.documents[sentence.source_id]
        if not is_verbatim(doc, sentence.text, sentence.start, sentence.end, sources):
            tally.non_verbatim += 1
    tally.not_covered_outside += sum(phrase not in q.question for phrase in answer.not_covered)
    tally.named_expected += len(q.not_covered)
    tally.named += sum(
        any(occurs(word, phrase) for word in group for phrase in answer.not_covered)
        for group in q.not_covered
    )
    if q.expect == "abstain":
        tally.out_of_scope += 1
        tally.abstained += answer.status == "no_answer"
        return
    tally.answerable += 1
    tally.answered += answer.status == "answered"
    hits = [supports(q, s.source_id, s.text) for s in answer.answer]
    tally.hit1 += bool(hits[:1] and hits[0])
    tally.hit3 += any(hits[:3])
    # passages are ranked per source (a source's best passage), as the reference figures are
    best: dict[str, bool] = {}
    for p in answer.passages:
        best[p.source_id] = best.get(p.source_id, False) or supports(q, p.source_id, p.text)
    ranks = [i for i, hit in enumerate(list(best.values())[:10], 1) if hit]
    tally.recall5 += bool(ranks and ranks[0] <= 5)
    tally.mrr10 += 1 / ranks[0] if ranks else 0.0


def run(
    answerer: Answerer, version: IndexVersion, questions: list[Question], mode: str | None = None
) -> Tally:
    """Ask every question and tally the responses."""
    tally = Tally()
    sources = SourceTexts()
    for q in questions:
        began = time.perf_counter()
        answer = answerer.ask(version, q.question, q.history, mode=mode)
        tally.latencies.append((time.perf_counter() - began) * 1000)
        score(q, answer, version, tally, sources)
    return tally


def evaluate(
    answerer: Answerer, version: IndexVersion, questions: list[Question], mode: str | None = None
) -> dict[str, Any]:
    """Run every question and return the summary metrics."""
    return run(answerer, version, questions, mode).summary()
