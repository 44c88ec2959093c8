from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from assistant.evaluate import Question, Tally, evaluate, fold, load_questions, score, supports
from assistant.model import Answer, AnswerSentence, Passage
from assistant.train import best_threshold
from corpus.document import Document
from corpus.local import load_local
from tests.conftest import ROOT


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


def _quote(doc: Document, text: str) -> AnswerSentence:
    start = doc.text.find(text)
    return AnswerSentence(text, doc.source_id, "doc#0", start, start + len(text), None, 1.0)


def _answer(sentences: list[AnswerSentence], passages: list[tuple[str, str]]) -> Answer:
    chunks = tuple(
        Passage(f"{src}#{i}", src, t, (), 1.0, None, "", 0, len(t))
        for i, (src, t) in enumerate(passages)
    )
    status = "answered" if sentences else "no_answer"
    return Answer("?", status, tuple(sentences), chunks, {}, "v1")


def _source(tmp_path: Path, text: str) -> Document:
    """A document read from a real file (the file is what quotes are checked against)."""
    (tmp_path / "doc.txt").write_text(text)
    (doc,) = load_local([tmp_path / "doc.txt"], print)
    return doc


def test_score_counts_hits_ranks_and_non_verbatim_sentences(tmp_path: Path) -> None:
    tally = Tally()
    good = "Huntington's disease trial."
    doc = _source(tmp_path, good + "\n")
    version = SimpleNamespace(documents={"doc": doc})
    other = AnswerSentence("Other.", "doc", "doc#0", 0, 6, None, 1.0)  # not the text at 0..6
    # ranked per source: a, b (twice: ranked once, by its first passage), then the supporting c
    passages = [("a", "x"), ("b", "y"), ("b", "z"), ("c", good)]
    score(_question(), _answer([other, _quote(doc, good)], passages), version, tally)  # type: ignore[arg-type]
    score(_question(expect="abstain", gold=[]), _answer([], [("a", "x")]), version, tally)  # type: ignore[arg-type]
    summary = tally.summary()
    assert (summary["hit@1"], summary["hit@3"]) == (0.0, 1.0)
    assert summary["mrr@10"] == round(1 / 3, 4) and summary["recall@5"] == 1.0
    assert summary["abstain_rate"] == 1.0 and summary["answered_rate"] == 1.0
    assert summary["non_verbatim"] == 1  # "Other." is not the document's text at 0..6


def test_eval_counts_a_quote_that_matches_the_index_but_not_the_source_file(
    tmp_path: Path,
) -> None:
    doc = _source(tmp_path, "Trial news\nA trial for Huntington’s disease starts.\nIt enrols 12.\n")
    # the index holds altered text (as a faulty extraction would make): the quote matches it
    indexed = replace(doc, text=doc.text.replace("12", "21"))
    injected = _quote(indexed, "It enrols 21.")
    assert indexed.text[injected.start : injected.end] == injected.text
    fine = _quote(indexed, "A trial for Huntington’s disease starts.")
    answerer = SimpleNamespace(ask=lambda *args, **kwargs: _answer([fine, injected], []))
    questions = [_question(id="a"), _question(id="b")]
    report = evaluate(answerer, SimpleNamespace(documents={"doc": indexed}), questions)  # type: ignore[arg-type]
    assert report["non_verbatim"] == 2  # the injected sentence, once per question
    honest = SimpleNamespace(
        ask=lambda *args, **kwargs: _answer([_quote(doc, "It enrols 12.")], [])
    )
    report = evaluate(honest, SimpleNamespace(documents={"doc": doc}), questions)  # type: ignore[arg-type]
    assert report["non_verbatim"] == 0


def test_threshold_sits_in_the_middle_of_the_gap() -> None:
    scores = np.array([0.1, 0.2, 0.8, 0.9])
    labels = np.array([False, False, True, True])
    assert abs(best_threshold(scores, labels, np.zeros(4, dtype=int)) - 0.5) < 1e-9


def test_threshold_balances_files_not_questions() -> None:
    # file 0 (many questions) separates at 0.5; file 1 (two questions) only below 0.3:
    # averaging balanced accuracy per file, the cut must serve the small file too
    scores = np.array([0.1, 0.2, 0.6, 0.7, 0.8, 0.9, 0.1, 0.3])
    labels = np.array([False, False, True, True, True, True, False, True])
    files = np.array([0, 0, 0, 0, 0, 0, 1, 1])
    assert 0.2 < best_threshold(scores, labels, files) < 0.3


def test_not_covered_phrases_outside_the_question_are_counted() -> None:
    tally = Tally()
    answer = replace(_answer([], []), not_covered=("autism", "asthma"))
    question = _question(question="Can stem cells cure autism?", expect="abstain")
    score(question, answer, SimpleNamespace(documents={}), tally)  # type: ignore[arg-type]
    assert tally.summary()["not_covered_outside"] == 1


def test_what_not_covered_should_name_is_counted_per_uncovered_part() -> None:
    tally = Tally()
    answer = replace(_answer([], []), not_covered=("NHS pay",))
    question = _question(
        question="How much does it cost, and does the NHS pay?",
        expect="abstain",
        not_covered=(("cost", "much"), ("NHS", "UK")),
    )
    score(question, answer, SimpleNamespace(documents={}), tally)  # type: ignore[arg-type]
    assert tally.summary()["not_covered_named"] == 0.5  # NHS named, the cost not
    # files that say nothing about it have no figure
    assert Tally().summary()["not_covered_named"] is None


def test_the_projects_seed_question_sets_quote_the_article_and_are_well_formed(shared) -> None:  # type: ignore[no-untyped-def]
    # a gold prefix with a typo would make every answer to its question count as a miss
    article = fold((shared / "corpus" / "are-stem-cell-products-safe.txt").read_text("utf-8"))
    files = sorted((ROOT / "eval").glob("seed-*-dev.jsonl"))
    assert len(files) >= 10
    for path in files:
        questions = load_questions(path)
        assert len({q.id for q in questions}) == len(questions), path.name
        for q in questions:
            assert q.expect in ("answer", "abstain"), (path.name, q.id)
            assert (q.expect == "answer") == bool(q.gold), (path.name, q.id)
            missing = [g for g in q.gold if fold(g) not in article]
            assert not missing, (path.name, q.id, missing)
