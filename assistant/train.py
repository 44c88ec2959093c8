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

from assistant.answer import Answerer, AskSettings, Scored
from assistant.augment import rewrites, subject_of
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
    rewrite_seed: int | None = 7  # consumer-style rewrites of templated questions (None: off)
    # Inverse L2 strength of the three logistic models. Compared with the cross-fitted report
    # `train-scorer` prints: C in {0.01, 0.1, 1} for the passage and sentence models moved
    # hit@1 and MRR by under 0.01, C in {0.1, 1} for the question model changed the abstain
    # rates by a few points either way; the middle values are kept.
    c_passage: float = 0.1
    c_sentence: float = 0.1
    c_question: float = 1.0
    # Weight of each file's questions relative to the largest file; the seed sets are small
    # but are the product's own kind of corpus, so each counts as if it had this share.
    min_file_share: float = 0.25
    # The passage model learns from the first-stage top candidates only (hard negatives: what
    # it must put second); None = every candidate.
    passage_top: int | None = 10
    # Whether each model sees the query x text vector products besides its named features:
    # the passage model learns from ~3,000 questions; the sentence model from the seed sets'
    # 29 answerable ones, too few for 384 more weights (cross-fitted hit@3 fell with them).
    passage_products: bool = True
    sentence_products: bool = False
    # Fit the sentence model only on questions that label single sentences (the seed sets'
    # `gold` substrings): MedQuAD marks every sentence of the answer passage, which teaches
    # passage choice (the passage model's job), not which sentence answers.
    sentence_level_only: bool = True
    # Candidate weights of the passage score in a quote's score (fit_passage_weight picks one).
    passage_weights: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


@dataclass
class Item:
    """One question's retrieval, features and labels."""

    file: int
    family: int  # weighs as one file with its rewrites
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
    subject = subject_of(question) or question.question
    return re.sub(r"\W+", " ", subject.lower()).strip() or question.id


@dataclass(frozen=True)
class QuestionSet:
    """Questions over one index, trained on and reported under `name`."""

    name: str
    index_dir: Path
    questions: list[Question]
    family: str = ""  # the question file it comes from: rewrites share their file's weight


def question_sets(pairs: list[tuple[Path, Path]], augment_seed: int | None) -> list[QuestionSet]:
    """Each (index, question file) pair, plus consumer-style rewrites of templated files."""
    sets = []
    for index_dir, path in pairs:
        questions = load_questions(path)
        sets.append(QuestionSet(path.name, index_dir, questions, path.name))
        extra = rewrites(questions, augment_seed) if augment_seed is not None else []
        if extra:
            name = f"{path.name} (consumer-style rewrites)"
            sets.append(QuestionSet(name, index_dir, extra, path.name))
    return sets


def collect(
    embedder: Embedder, sets: list[QuestionSet], settings: AskSettings, report: Report
) -> list[Item]:
    """Retrieve and featurise every question of every set."""
    items: list[Item] = []
    versions: dict[Path, IndexVersion] = {}
    families = list(dict.fromkeys(qset.family or qset.name for qset in sets))
    for number, qset in enumerate(sets):
        family = families.index(qset.family or qset.name)
        if qset.index_dir not in versions:
            versions[qset.index_dir] = store.load(qset.index_dir, embedder.model_id, embedder.dim)
        version = versions[qset.index_dir]
        report(f"{qset.name}: {len(qset.questions)} questions on {qset.index_dir}")
        for q in qset.questions:
            query = resolve(q.question, q.history, settings.followup)
            analysis = analyse(version, embedder, query, settings.focus)
            hits = retrieve(
                version,
                analysis.vector,
                analysis.text,
                settings.candidates,
                "fused",
                settings.lexical_weight,
            )
            labels = [
                q.expect == "answer"
                and supports(
                    q,
                    version.chunks[h.chunk].source_id,
                    version.chunk_text(version.chunks[h.chunk]),
                )
                for h in hits
            ]
            items.append(
                Item(
                    number,
                    family,
                    topic(q),
                    q,
                    version,
                    analysis,
                    hits,
                    passage_features(version, analysis, hits),
                    np.array(labels, dtype=bool),
                )
            )
    return items


def assign_folds(items: list[Item], folds: int, seed: int) -> None:
    """Whole groups (topics) go to one fold, at random but reproducibly."""
    groups = sorted({it.group for it in items})  # a question and its rewrite share a fold
    order = np.random.default_rng(seed).permutation(len(groups))
    fold_of = {g: int(order[i] % folds) for i, g in enumerate(groups)}
    for item in items:
        item.fold = fold_of[item.group]


def question_weights(items: list[Item], min_share: float) -> np.ndarray:
    """Per-question weight: a file weighs its size, but at least `min_share` of the largest."""
    files = np.array([it.family for it in items])
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
    # imported here: every `stemcell-qa` command imports this module for its errors, and
    # scikit-learn's import costs ~1 s (a server's start, a rebuild beside a server)
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=c, max_iter=5000)
    model.fit((x - mean) / scale, y, sample_weight=w / w.mean())
    return Linear(names, mean, scale, model.coef_[0].copy(), float(model.intercept_[0]))


def _stage(
    items: list[Item],
    weights: np.ndarray,
    x_of: str,
    y_of: str,
    names: tuple[str, ...],
    c: float,
    keep: Callable[[int], bool],
    products: bool = True,
    select: Callable[[Item], bool] = lambda item: True,
    top: int | None = None,
) -> Linear | None:
    rows, labels, row_weights = [], [], []
    for i, item in enumerate(items):
        if not keep(i) or item.question.expect != "answer" or not select(item):
            continue
        y, x = getattr(item, y_of)[:top], getattr(item, x_of)[:top]
        w = _balanced(y, float(weights[i]))
        if w is not None:
            rows.append(x)
            labels.append(y)
            row_weights.append(w)
    if not rows:
        return None
    x = np.vstack(rows)
    if not products:
        x = x[:, : len(names)]
    return fit_linear(names, x, np.concatenate(labels), np.concatenate(row_weights), c)


def _sentences(item: Item, settings: AskSettings) -> None:
    """Sentence candidates from the out-of-fold passage scores, with their labels."""
    sc = sentence_candidates(
        item.version, item.analysis, item.hits, item.passage_oof, settings.sentence_passages
    )
    table, docs = item.version.sentences, item.version.documents
    labels = []
    for row in sc.rows:
        source = table.doc_id(row)
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
                it.version,
                it.analysis,
                it.hits,
                it.passage_x,
                it.passage_oof,
                it.candidates or _empty(it),
                it.sentence_oof,
            )
            for it in items
        ]
    )
    return x, np.array([it.question.expect == "answer" for it in items])


def _empty(item: Item) -> SentenceCandidates:
    none = np.zeros(0, dtype=np.int64)
    width = len(SENTENCE) + item.analysis.vector.size
    return SentenceCandidates(none, none, np.zeros(0), np.zeros((0, width)))


def best_threshold(scores: np.ndarray, labels: np.ndarray, files: np.ndarray) -> float:
    """The cut (score >= cut means positive) with the best balanced accuracy averaged over the
    files that hold both classes; the middle of the widest best run, so it is not on an edge."""
    cuts = np.unique(scores)
    candidates = np.concatenate([[cuts[0] - 1e-3], (cuts[:-1] + cuts[1:]) / 2, [cuts[-1] + 1e-3]])
    both = [f for f in np.unique(files) if 0 < labels[files == f].mean() < 1]
    values = np.array([_balanced_accuracy(scores, labels, files, both, t) for t in candidates])
    best = np.flatnonzero(values >= values.max() - 1e-9)
    return float(np.median(candidates[best]))


def fit_decision(
    probability: np.ndarray, focus: np.ndarray, answerable: np.ndarray, files: np.ndarray
) -> tuple[float, float]:
    """(answer threshold, focus threshold) of the rule "answer when the probability reaches
    the first and no absent word's focus reaches the second", with the best balanced accuracy
    averaged over the files. Focus cuts are tried at the quantiles of the absent words' focus."""
    present = focus[focus > 0]
    cuts: list[float] = (
        np.unique(np.quantile(present, np.linspace(0.05, 0.95, 19))).tolist()
        if len(present)
        else []
    )
    both = [f for f in np.unique(files) if 0 < answerable[files == f].mean() < 1]
    best = (best_threshold(probability, answerable, files), float(np.inf), -1.0)
    for cut in [*cuts, np.inf]:
        score = np.where(focus >= cut, -1.0, probability)
        threshold = best_threshold(score, answerable, files)
        value = _balanced_accuracy(score, answerable, files, both, threshold)
        if value > best[2] + 1e-9:
            best = (threshold, float(cut), value)
    return round(best[0], 4), round(best[1], 4) if np.isfinite(best[1]) else 1.0


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
    files = np.array([it.family for it in items])
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

    any_sentence_labels = any(sentence_labelled(it) for it in items)

    def fit_stage(x_of: str, y_of: str, names_: tuple[str, ...], c: float, k: int | None):
        keep = (lambda i: True) if k is None else (lambda i: items[i].fold != k)
        if x_of == "passage_x":
            products, rows, top = s.passage_products, _all, s.passage_top
        else:
            products, top = s.sentence_products, None
            rows = sentence_labelled if s.sentence_level_only and any_sentence_labels else _all
        return _stage(items, weights, x_of, y_of, names_, c, keep, products, rows, top)

    passage = {k: fit_stage("passage_x", "passage_y", PASSAGE, s.c_passage, k) for k in folds}
    for it in items:
        model = passage[it.fold]
        it.passage_oof = model.logits(it.passage_x) if model else it.passage_x[:, 0]
        _sentences(it, ask)
    sentence = {k: fit_stage("sentence_x", "sentence_y", SENTENCE, s.c_sentence, k) for k in folds}
    for it in items:
        model = sentence[it.fold]
        it.sentence_oof = model.logits(it.sentence_x) if model else it.sentence_x[:, 0]
    passage_weight = fit_passage_weight(items, s.passage_weights)
    for it in items:
        it.sentence_oof = it.sentence_oof + passage_weight * _gap(it)
    qx, qy = question_rows(items)
    qw = _question_weights(items)
    fold_of = np.array([it.fold for it in items])
    files = np.array([it.family for it in items])
    question, oof = {}, np.zeros(len(items))
    for k in folds:
        rows = fold_of != k
        question[k] = fit_linear(QUESTION, qx[rows], qy[rows], qw[rows], s.c_question)
        oof[~rows] = question[k].logits(qx[~rows])
    focus = np.array([max((a.focus for a in it.analysis.absent), default=0.0) for it in items])
    answer_threshold, focus_threshold = fit_decision(1 / (1 + np.exp(-oof)), focus, qy, files)
    final_passage = fit_stage("passage_x", "passage_y", PASSAGE, s.c_passage, None)
    final_sentence = fit_stage("sentence_x", "sentence_y", SENTENCE, s.c_sentence, None)
    if final_passage is None or final_sentence is None:
        raise TrainError("no answerable question has a supporting passage among its candidates")
    fixed: dict[str, Any] = {
        "passage_weight": passage_weight,
        "answer_threshold": answer_threshold,
        "focus_threshold": focus_threshold,
    }
    meta = {
        "trained_on": names,
        "questions": len(items),
        "settings": {k: getattr(s, k) for k in s.__dataclass_fields__},
    }
    named_passage = _stage(
        items,
        weights,
        "passage_x",
        "passage_y",
        PASSAGE,
        s.c_passage,
        lambda i: True,
        products=False,
        top=s.passage_top,
    )
    scorer = Scorer(
        final_passage,
        final_sentence,
        fit_linear(QUESTION, qx, qy, qw, s.c_question),
        **fixed,
        meta=meta,
        passage_named=named_passage,
    )
    fold_scorers = {
        k: Scorer(passage[k] or final_passage, sentence[k] or final_sentence, question[k], **fixed)
        for k in folds
    }
    return Fitted(scorer, fold_scorers, items)


def sentence_labelled(item: Item) -> bool:
    """Whether the question names its answer sentences (`gold` substrings), not only passages."""
    return bool(item.question.gold)


def _all(item: Item) -> bool:
    return True


def _gap(item: Item) -> np.ndarray:
    """How far each candidate's document trails the best document (passage logits)."""
    passage = item.candidates.passage if item.candidates else np.zeros(0)
    return passage - passage.max() if len(passage) else passage


def fit_passage_weight(items: list[Item], grid: tuple[float, ...]) -> float:
    """The weight of the passage score in a quote's score with the best out-of-fold first-quote
    hit rate, averaged over the files (so the seed article's sentence choices count as much as
    MedQuAD's passage choices)."""
    best, best_value = grid[0], -1.0
    files = sorted({it.family for it in items})
    for weight in grid:
        rates = []
        for f in files:
            hits = [
                bool(it.sentence_y[int(np.argmax(it.sentence_oof + weight * _gap(it)))])
                for it in items
                if it.family == f and it.question.expect == "answer" and len(it.sentence_y)
            ]
            if hits:
                rates.append(float(np.mean(hits)))
        value = float(np.mean(rates)) if rates else 0.0
        if value > best_value + 1e-9:
            best, best_value = weight, value
    return best


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
        sentence_scores = scorer.quote_scores(candidates.features, candidates.passage)
        qx = question_features(
            item.version,
            item.analysis,
            item.hits,
            item.passage_x,
            passage_scores,
            candidates,
            sentence_scores,
        )
        probability = float(1 / (1 + np.exp(-scorer.question.logits(qx[None, :])[0])))
        scored = Scored(
            item.analysis,
            item.hits,
            item.passage_x,
            passage_scores,
            passage_scores,
            candidates,
            sentence_scores,
            qx,
            probability,
        )
        answer = answerer.respond(
            item.version, item.question.question, scored, item.question.history
        )
        score(item.question, answer, item.version, tallies[names[item.file]])
    return {name: tally.summary() for name, tally in tallies.items()}
