import numpy as np

from assistant.calibrate import Evidence, best_threshold, fit
from assistant.evaluate import Question, Tally, fold, score, supports
from assistant.model import Answer, AnswerSentence, Passage


def _question(**changes: object) -> Question:
    base = {
        "id": "q",
        "question": "?",
        "history": [],
        "expect": "answer",
        "gold": ["Huntington's disease"],
        "gold_ids": [],
    }
    return Question(**{**base, **changes})  # type: ignore[arg-type]


def test_fold_ignores_case_whitespace_and_curly_quotes() -> None:
    assert fold("  Huntington’s   DISEASE\n") == "huntington's disease"
    assert supports(_question(), "doc", "A trial for Huntington’s  disease starts.")
    assert supports(_question(gold=[], gold_ids=["doc"]), "doc", "anything")
    assert not supports(_question(), "doc", "Parkinson's disease")


def _answer(texts: list[str], passages: list[str]) -> Answer:
    sentences = tuple(AnswerSentence(t, "doc", "doc#0", 0, len(t), None, 1.0) for t in texts)
    chunks = tuple(
        Passage(f"doc#{i}", "doc", t, (), 1.0, None, "", 0, len(t)) for i, t in enumerate(passages)
    )
    return Answer("?", "answered" if texts else "no_answer", sentences, chunks, {}, "v1")


class _Version:
    def __init__(self, text: str) -> None:
        self.documents = {"doc": type("D", (), {"text": text})()}


def test_score_counts_hits_ranks_and_non_verbatim_sentences() -> None:
    tally = Tally()
    good = "Huntington's disease trial."
    version = _Version(good)
    score(_question(), _answer(["Other.", good], ["x", "y", good]), version, tally)  # type: ignore[arg-type]
    score(_question(expect="abstain", gold=[]), _answer([], ["x"]), version, tally)  # type: ignore[arg-type]
    summary = tally.summary()
    assert (summary["hit@1"], summary["hit@3"]) == (0.0, 1.0)
    assert summary["mrr@10"] == round(1 / 3, 4) and summary["recall@5"] == 1.0
    assert summary["abstain_rate"] == 1.0 and summary["answered_rate"] == 1.0
    assert summary["non_verbatim"] == 1  # "Other." is not the document's text at 0..6


def test_threshold_sits_in_the_middle_of_the_gap() -> None:
    scores = np.array([0.1, 0.2, 0.8, 0.9])
    labels = np.array([False, False, True, True])
    assert abs(best_threshold(scores, labels) - 0.5) < 1e-9


def test_fit_grows_the_threshold_with_corpus_size() -> None:
    small = Evidence("small", 10, np.array([[0.1, 0.0], [0.5, 0.0]]), np.array([False, True]))
    large = Evidence("large", 10_000, np.array([[0.5, 0.0], [0.9, 0.0]]), np.array([False, True]))
    best = fit([small, large])
    assert best["balanced_accuracy"] == 1.0
    assert best["confidence_slope"] > 0
