"""Fit the scorers (assistant/scorer.py) on dev question files paired with their indexes.

Labels come only from the question files: a passage or sentence supports a question when it
comes from one of its `gold_ids` or contains one of its `gold` substrings (shared/README.md);
a question is answerable when its `expect` is "answer". Stages are stacked without leaking:
the sentence model sees passage scores, and the question model sentence scores, computed by
models that never saw that question's group (topic) — out-of-fold predictions.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from assistant.answer import Answerer, AskSettings, Scored
from assistant.evaluate import Question, Tally, load_questions, score, supports
from assistant.features import (
    PASSAGE,
    QUESTION,
    SENTENCE,
    SentenceCandidates,
    passage_features,
    question_features,
    sentence_candidates,
)
from assistant.focus import Analysis, analyse
from assistant.followup import resolve
from assistant.scorer import Linear, Scorer
from index import store
from index.embed import Embedder
from index.search import Hit, retrieve
from index.store import IndexVersion


@dataclass(frozen=True)
class TrainSettings:
    """How the scorers are fitted."""

    folds: int = 5  # cross-fitting folds, grouped by topic (MedQuAD) or question (seed)
    seed: int = 20261126  # fold assignment; fixed so the command reproduces the file
    # Inverse L2 strength of the three logistic models. The passage and sentence models carry
    # 384 vector-product features each, so they are held tighter; the question model has a
    # handful of named features. Chosen from C in {0.01, 0.1, 1} by the cross-fitted MRR and
    # balanced accuracy that `train-scorer` prints (see README, "How the scorer was made").
    c_passage: float = 0.1
    c_sentence: float = 0.1
    c_question: float = 1.0
    # Weight of each file's questions relative to the largest file; the seed sets are small
    # but are the product's own kind of corpus, so each counts as if it had this share.
    min_file_share: float = 0.25


@dataclass
class Item:
    """One question's retrieval, features and labels."""

    file: int
    group: str
    question: Question
    version: IndexVersion
    analysis: Analysis
    hits: list[Hit]
    passage_x: np.ndarray
    passage_y: np.ndarray
    fold: int = 0
    passage_oof: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sentence_x: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sentence_y: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sentence_oof: np.ndarray = field(default_factory=lambda: np.zeros(0))
    candidates: SentenceCandidates | None = None


Report = Callable[[str], None]


def topic(question: Question) -> str:
    """Grouping key: a MedQuAD question's page (or subject), else the question itself."""
    if question.gold_ids:
        return re.sub(r"_\d+$", "", question.gold_ids[0])
    subject = re.sub(
        r"^(what (is|are) (\(are\) )?(the )?(symptoms|treatments|causes|outlook|stages|"
        r"genetic changes related to|complications)?( of| for)?|who is at risk for|"
        r"how to (diagnose|prevent)|is .* inherited|how many people are affected by|"
        r"what research .* for|do you have information about)",
        "",
        question.question.lower(),
    )
    return re.sub(r"\W+", " ", subject).strip() or question.id


def collect(
    embedder: Embedder,
    pairs: list[tuple[Path, Path]],
    settings: AskSettings,
    report: Report,
) -> list[Item]:
    """Retrieve and featurise every question of every (index, questions) pair."""
    items: list[Item] = []
    for number, (index_dir, questions_path) in enumerate(pairs):
        version = store.load(index_dir, embedder.model_id, embedder.dim)
        questions = load_questions(questions_path)
        report(f"{questions_path.name}: {len(questions)} questions on {index_dir}")
        for q in questions:
            query = resolve(q.question, q.history, settings.followup)
            analysis = analyse(version, embedder, query, settings.focus)
            hits = retrieve(
                version, analysis.vector, analysis.text, settings.candidates, "fused",
                settings.lexical_weight,
            )
            labels = [
                q.expect == "answer"
                and supports(q, version.chunks[h.chunk].source_id, version.chunk_text(version.chunks[h.chunk]))
                for h in hits
            ]
            items.append(
                Item(
                    number, topic(q), q, version, analysis, hits,
                    passage_features(version, analysis, hits), np.array(labels, dtype=bool),
                )
            )
    return items


def assign_folds(items: list[Item], folds: int, seed: int) -> None:
    """Whole groups (topics) go to one fold, at random but reproducibly."""
    groups = sorted({(it.file, it.group) for it in items})
    order = np.random.default_rng(seed).permutation(len(groups))
    fold_of = {g: int(order[i] % folds) for i, g in enumerate(groups)}
    for item in items:
        item.fold = fold_of[(item.file, item.group)]


def question_weights(items: list[Item], min_share: float) -> np.ndarray:
    """Per-question weight: a file weighs its size, but at least `min_share` of the largest."""
    files = np.array([it.file for it in items])
    sizes = {f: int((files == f).sum()) for f in set(files.tolist())}
    largest = max(sizes.values())
    return np.array([max(sizes[f], min_share * largest) / sizes[f] for f in files])


def _balanced(labels: np.ndarray, weight: float) -> np.ndarray | None:
    """Row weights giving a question's positives and negatives half of `weight` each."""
    positives = int(labels.sum())
    if positives == 0 or positives == len(labels):
        return None  # nothing to rank against
    return np.where(labels, 0.5 * weight / positives, 0.5 * weight / (len(labels) - positives))


def fit_linear(
    names: tuple[str, ...], x: np.ndarray, y: np.ndarray, w: np.ndarray, c: float
) -> Linear:
    """Standardise, then an L2 logistic regression with sample weights."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=c, max_iter=5000)
    model.fit((x - mean) / scale, y, sample_weight=w / w.mean())
    return Linear(names, mean, scale, model.coef_[0].copy(), float(model.intercept_[0]))


def _stage(
    items: list[Item], weights: np.ndarray, x_of: str, y_of: str, names: tuple[str, ...], c: float,
    keep: Callable[[int], bool],
) -> Linear | None:
    rows, labels, row_weights = [], [], []
    for i, item in enumerate(items):
        if not keep(i) or item.question.expect != "answer":
            continue
        y = getattr(item, y_of)
        w = _balanced(y, float(weights[i]))
        if w is not None:
            rows.append(getattr(item, x_of))
            labels.append(y)
            row_weights.append(w)
    if not rows:
        return None
    return fit_linear(names, np.vstack(rows), np.concatenate(labels), np.concatenate(row_weights), c)


def _sentences(item: Item, settings: AskSettings) -> None:
    """Sentence candidates from the out-of-fold passage scores, with their labels."""
    sc = sentence_candidates(
        item.version, item.analysis, item.hits, item.passage_oof, settings.sentence_passages
    )
    table, docs = item.version.sentences, item.version.documents
    labels = []
    for row in sc.rows:
        source = table.doc_ids[table.doc[row]]
        text = docs[source].text[table.start[row] : table.end[row]]
        labels.append(item.question.expect == "answer" and supports(item.question, source, text))
    item.sentence_x = sc.features
    item.sentence_y = np.array(labels, dtype=bool)
    item.candidates = sc


def question_rows(items: list[Item]) -> tuple[np.ndarray, np.ndarray]:
    """Question features (from out-of-fold scores) and answerable labels."""
    x = np.vstack(
        [
            question_features(
                it.analysis, it.hits, it.passage_x, it.passage_oof,
                it.candidates or _empty(it), it.sentence_oof,
            )
            for it in items
        ]
    )
    return x, np.array([it.question.expect == "answer" for it in items])


def _empty(item: Item) -> SentenceCandidates:
    none = np.zeros(0, dtype=np.int64)
    return SentenceCandidates(none, none, np.zeros((0, len(SENTENCE) + item.analysis.vector.size)))


def best_threshold(scores: np.ndarray, labels: np.ndarray, files: np.ndarray) -> float:
    """The cut (score >= cut means positive) with the best balanced accuracy averaged over the
    files that hold both classes; the middle of the widest best run, so it is not on an edge."""
    cuts = np.unique(scores)
    candidates = np.concatenate([[cuts[0] - 1e-3], (cuts[:-1] + cuts[1:]) / 2, [cuts[-1] + 1e-3]])
    both = [f for f in np.unique(files) if 0 < labels[files == f].mean() < 1]
    values = np.array([_balanced_accuracy(scores, labels, files, both, t) for t in candidates])
    best = np.flatnonzero(values >= values.max() - 1e-9)
    return float(np.median(candidates[best]))


def _balanced_accuracy(
    scores: np.ndarray, labels: np.ndarray, files: np.ndarray, both: list[int], cut: float
) -> float:
    rates = []
    for f in both:
        s, y = scores[files == f], labels[files == f]
        rates.append(((s[y] >= cut).mean() + (s[~y] < cut).mean()) / 2)
    return float(np.mean(rates)) if rates else 0.0


def _question_weights(items: list[Item]) -> np.ndarray:
    """Each file and, within it, each class weighs the same in the question model."""
    files = np.array([it.file for it in items])
    labels = np.array([it.question.expect == "answer" for it in items])
    weights = np.zeros(len(items))
    for f in np.unique(files):
        for y in (True, False):
            mask = (files == f) & (labels == y)
            if mask.any():
                weights[mask] = 1.0 / mask.sum()
    return weights


@dataclass(frozen=True)
class Fitted:
    """The final scorer and the cross-fitted models behind its report."""

    scorer: Scorer
    folds: dict[int, Scorer]
    items: list[Item]


def train(items: list[Item], ask: AskSettings, settings: TrainSettings, names: list[str]) -> Fitted:
    """Cross-fit the three stages on collected items and fit the final scorer."""
    s = settings
    assign_folds(items, s.folds, s.seed)
    weights = question_weights(items, s.min_file_share)
    folds = sorted({it.fold for it in items})
    everything: Callable[[int], bool] = lambda i: True  # noqa: E731
    passage, sentence, question = {}, {}, {}
    for k in folds:
        model = _stage(items, weights, "passage_x", "passage_y", PASSAGE, s.c_passage,
                       lambda i, k=k: items[i].fold != k)
        passage[k] = model
        for it in items:
            if it.fold == k:
                it.passage_oof = model.logits(it.passage_x) if model else it.passage_x[:, 0]
    for it in items:
        _sentences(it, ask)
    for k in folds:
        model = _stage(items, weights, "sentence_x", "sentence_y", SENTENCE, s.c_sentence,
                       lambda i, k=k: items[i].fold != k)
        sentence[k] = model
        for it in items:
            if it.fold == k:
                it.sentence_oof = model.logits(it.sentence_x) if model else it.sentence_x[:, 0]
    qx, qy = question_rows(items)
    qw = _question_weights(items)
    fold_of = np.array([it.fold for it in items])
    files = np.array([it.file for it in items])
    oof = np.zeros(len(items))
    for k in folds:
        train_rows = fold_of != k
        question[k] = fit_linear(QUESTION, qx[train_rows], qy[train_rows], qw[train_rows],
                                 s.c_question)
        oof[~train_rows] = question[k].logits(qx[~train_rows])
    probabilities = 1 / (1 + np.exp(-oof))
    answer_threshold = best_threshold(probabilities, qy, files)
    focus = np.array([max((a.focus for a in it.analysis.absent), default=0.0) for it in items])
    focus_threshold = best_threshold(focus, ~qy, files)
    final_passage = _stage(items, weights, "passage_x", "passage_y", PASSAGE, s.c_passage,
                           everything)
    final_sentence = _stage(items, weights, "sentence_x", "sentence_y", SENTENCE, s.c_sentence,
                            everything)
    if final_passage is None or final_sentence is None:
        raise TrainError("no answerable question has a supporting passage among its candidates")
    meta = {
        "trained_on": names,
        "questions": len(items),
        "settings": {k: getattr(s, k) for k in s.__dataclass_fields__},
    }
    scorer = Scorer(final_passage, final_sentence,
                    fit_linear(QUESTION, qx, qy, qw, s.c_question),
                    round(answer_threshold, 4), round(focus_threshold, 4), meta)
    fold_scorers = {
        k: Scorer(passage[k] or final_passage, sentence[k] or final_sentence, question[k],
                  answer_threshold, focus_threshold)
        for k in folds
    }
    return Fitted(scorer, fold_scorers, items)


class TrainError(ValueError):
    """The question files give nothing to learn from."""


def cross_validated(
    fitted: Fitted, embedder: Embedder, ask: AskSettings, names: list[str]
) -> dict[str, dict[str, Any]]:
    """Eval metrics of every question answered by the models of the folds it was held out
    of: the figures a new topic would see. Same metrics as `stemcell-qa eval`."""
    tallies = {name: Tally() for name in names}
    answerers = {k: Answerer(embedder, ask, scorer) for k, scorer in fitted.folds.items()}
    for item in fitted.items:
        answerer = answerers[item.fold]
        scorer = answerer.scorer
        passage_scores = scorer.passage.logits(item.passage_x)
        candidates = sentence_candidates(
            item.version, item.analysis, item.hits, passage_scores, ask.sentence_passages
        )
        sentence_scores = scorer.sentence.logits(candidates.features)
        qx = question_features(
            item.analysis, item.hits, item.passage_x, passage_scores, candidates, sentence_scores
        )
        probability = float(1 / (1 + np.exp(-scorer.question.logits(qx[None, :])[0])))
        scored = Scored(
            item.analysis, item.hits, item.passage_x, passage_scores, passage_scores,
            candidates, sentence_scores, qx, probability,
        )
        answer = answerer.respond(item.version, item.question.question, scored)
        score(item.question, answer, item.version, tallies[names[item.file]])
    return {name: tally.summary() for name, tally in tallies.items()}
