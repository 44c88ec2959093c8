"""Question (+ history) -> `Answer`: retrieve, score passages and sentences, answer or abstain."""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from assistant.answertype import asking_spans, expected, gives, only_offered
from assistant.conditions import Conditions
from assistant.conditions import packaged as packaged_conditions
from assistant.features import (
    COVERAGE,
    PASSAGE,
    QUESTION,
    SENTENCE,
    SentenceCandidates,
    open_coverage,
    passage_features,
    question_features,
    sentence_candidates,
    terms,
)
from assistant.focus import (
    Analysis,
    FocusSettings,
    absent_words,
    analyse,
    names_absent,
    not_covered,
    without_links,
    worth_naming,
)
from assistant.followup import (
    FollowupSettings,
    ResolvedQuery,
    about_the_sources,
    asks_anything,
    dangling,
    depends_on_history,
    previous_reading,
    resolve,
    retraction_length,
    subject_index,
    switches_subject,
    to_the_assistant,
    without_questions_on,
)
from assistant.links import deep_link
from assistant.model import Answer, AnswerSentence, Passage, SourceInfo
from assistant.scorer import Scorer
from assistant.settings import Settings
from index.embed import Embedder
from index.lexical import tokenize, tokenize_word
from index.search import DenseSearch, Hit, dense_candidates, retrieve
from index.sentences import SentenceSettings, SentenceTable, heading
from index.store import IndexVersion
from index.vocab import WORD, content_word, person_word, words, zipf

log = logging.getLogger("stemcell_qa.answer")
_LIMITS = Settings.model_fields


class QuestionError(ValueError):
    """The question or history is not acceptable (empty, too long, ...)."""


@dataclass(frozen=True)
class AskSettings:
    """How a question is answered. Fitted weights live in the scorer file (assistant/scorer.json);
    these are the choices around them, each with where it came from."""

    mode: str = "fused"  # fused = learned re-ranking; dense / bm25 = one retriever (for eval)
    # Candidates from each retriever before re-ranking. On MedQuAD topical dev the answer
    # passage is among the dense top 50 for 99% of answerable questions (eval recall).
    candidates: int = 50
    # Weight of BM25 in the first-stage fusion (`dense + w * BM25/ceiling`); a sweep of
    # 0.1-1.5 on medquad-topical-dev gave MRR 0.774-0.788 (flat), 0.5 in the middle.
    lexical_weight: float = 0.5
    # Passages whose sentences compete as quotes: the learned passage ranking puts the answer
    # passage in its top 5 for ~97% of MedQuAD topical dev questions (train-scorer report).
    sentence_passages: int = 5
    max_sentences: int = 3  # quotes shown: a short answer a patient reads, best first
    # Further quotes must score within this many logits of the best. At 2 the second quote
    # almost never qualified (cross-fitted hit@3 = hit@1 on seed-dev); 4 shows a second or
    # third sentence when the scorer finds it nearly as good (train-scorer report).
    sentence_margin: float = 4.0
    # A question asking for a kind of detail (a duration, a count, a price: `answertype`) is
    # answered only when a sentence giving one scores within this many logits of the best (or
    # follows the best). Chosen on the seed sets from 1, 2 and 3: 2 kept the most hits while
    # declining 19 more of the 403 to decline (README, "Questions that ask for a detail").
    detail_margin: float = 2.0
    # ... and, unless it is the sentence after the best, only when its paragraph holds at
    # least this share of the question's words (IDF-weighted) that the paragraph holding most
    # of them does: the "70 patients" of the spinal study do not answer "how many will the
    # Huntington's trial enroll?". Chosen on the seed sets from 1, 2/3 and 1/2: 1/2 declined
    # 7 more of their 443 questions to decline and lost no answer; 1 and 2/3 declined 9 more
    # and lost 2 answers to a word with another sense elsewhere ("the big study": "big
    # promises").
    detail_subject_share: float = 0.5
    # ... and, for a follow-up, at least this share of its earlier turns' words: "how many
    # people were in that one?" after "what did the lung trial find?" is about the lung trial,
    # though "people" are counted in the spinal study's paragraph. Lower than the share above:
    # an earlier turn that names nothing particular ("Are stem cell treatments safe?") spreads
    # its words over every paragraph, and must not rule out the one that answers "how long
    # were they followed up?" (there 0.47 of the best). A quarter, chosen after reading five
    # follow-ups on the seed sets: about the lung trial 0.12-0.23, the spinal studies 1.0.
    detail_earlier_share: float = 0.25
    max_passages: int = 5  # passages shown beside the answer
    # At most this many from one source, so a one-source corpus still shows its two or three
    # best paragraphs while a large corpus shows several sources.
    passages_per_source: int = 3
    focus: FocusSettings = field(default_factory=FocusSettings)
    followup: FollowupSettings = field(default_factory=FollowupSettings)
    # Limits are set in one place, the server settings (assistant/settings.py).
    max_question_chars: int = _LIMITS["max_question_chars"].default
    max_history: int = _LIMITS["max_history"].default


def validate(question: object, history: object, settings: AskSettings) -> tuple[str, list[str]]:
    """Clean question and history, or `QuestionError` saying what is wrong. Text is put in
    composed Unicode form (an accent typed as a separate mark joins its letter) and trimmed
    of spaces and invisible zero-width characters before the checks."""
    if not isinstance(question, str) or not (question := _clean(question)):
        raise QuestionError("the question is empty; type a question")
    if len(question) > settings.max_question_chars:
        raise QuestionError(f"the question is longer than {settings.max_question_chars} characters")
    turns = history or []
    if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
        raise QuestionError("history must be a list of earlier questions (strings)")
    if len(turns) > settings.max_history:
        raise QuestionError(f"history has more than {settings.max_history} questions")
    turns = [t for t in map(_clean, turns) if t]
    if any(len(t) > settings.max_question_chars for t in turns):
        raise QuestionError(
            f"a history question is longer than {settings.max_question_chars} characters"
        )
    return question, turns


# whitespace and the zero-width characters some keyboards and copy-paste leave at the ends
_BLANK_ENDS = re.compile(r"^[\s\u200b-\u200d\u2060\ufeff]+|[\s\u200b-\u200d\u2060\ufeff]+$")


def _clean(text: str) -> str:
    return _BLANK_ENDS.sub("", unicodedata.normalize("NFC", text))


@dataclass(frozen=True)
class Scored:
    """Everything the scorers computed for one question (also what training reads)."""

    analysis: Analysis
    hits: list[Hit]
    passage_features: np.ndarray
    passage_scores: np.ndarray  # learned logits, one per hit
    ranking: np.ndarray  # the scores that order passages (logits, or a retriever's scores)
    sentences: SentenceCandidates
    sentence_scores: np.ndarray
    question_features: np.ndarray
    answerable: float  # probability that the sources answer the question


class Answerer:
    """Answers questions from one loaded index version at a time (passed per call)."""

    def __init__(
        self,
        embedder: Embedder,
        settings: AskSettings | None = None,
        scorer: Scorer | None = None,
        dense_search: DenseSearch = dense_candidates,
        conditions: Conditions | None = None,
    ) -> None:
        self.embedder = embedder
        self.conditions = conditions or packaged_conditions()
        self.settings = settings or AskSettings()
        scorer = scorer or Scorer.load()
        scorer.check_features(PASSAGE, SENTENCE, QUESTION)
        if scorer.dim and scorer.dim != embedder.dim:
            log.warning(
                "the scorer was fitted on %d-d vectors but %s makes %d-d ones: "
                "scoring with its named features only",
                scorer.dim,
                embedder.model_id,
                embedder.dim,
            )
            scorer = scorer.named_only()
        self.scorer = scorer
        self.dense_search = dense_search  # batched across requests by the server

    def ask(
        self,
        version: IndexVersion,
        question: str,
        history: list[str] | None = None,
        mode: str | None = None,
    ) -> Answer:
        """Answer `question` (a follow-up of `history`) from `version`."""
        question, turns = validate(question, history, self.settings)
        timings: dict[str, float] = {}
        # what is said to the assistant ("Are you a doctor?") names nothing in the sources:
        # it neither chooses quotes nor carries into a follow-up
        f = self.settings.followup
        asked = about_the_sources(question, f)
        turns = [t for t in turns if not to_the_assistant(t, f)]
        scored = self.score(version, asked, turns, mode, timings)
        gap = None
        if scored and scored.analysis.uses_history:
            clock = time.perf_counter()
            gap = self._subject_gap(version, asked, turns)
            # reading the subject turn is one more encode call: timed as embedding
            timings["embed"] = timings.get("embed", 0.0) + _lap(clock)
        clock = time.perf_counter()
        if gap is not None:
            # a follow-up about a subject no source covers ("what side effects did they see?"
            # after "Can stem cells cure autism?"): the earlier turn's quotes do not answer it,
            # nor its other sentences ("what about ALS? is it safe?": "it" is that subject)
            answer = self._compose(version, asked, scored, [], gap)
        else:
            answer = self.respond(version, asked, scored, turns)
        timings["compose"] = _lap(clock)
        if (
            gap is None
            and answer.status == "no_answer"
            and answer.not_covered
            and (rest := without_questions_on(asked, list(answer.not_covered)))
            # not what only offers answers to the detail asked ("how long will it run for? a
            # few years?" without "run" is "a few years?"): it asks nothing itself
            and not only_offered(rest, expected(asked))
            # nor what only tells, naming no subject ("he's 67" before "would he be too old
            # for it?")
            and (asks_anything(rest) or _names_a_subject(rest))
        ):
            # Several questions, some on what no source covers ("... Is there a trial in
            # Australia I could join?"): answer the others, still naming what is not covered.
            partial = self.respond(version, rest, self.score(version, rest, turns, mode, {}), turns)
            if partial.status == "answered":
                answer = replace(partial, not_covered=answer.not_covered)
        return replace(
            answer,
            question=question,
            # what no source covers, as the page names it: not a word this common ("do stem
            # cells work every time?" is declined, but "The sources don't mention every" tells
            # a patient nothing); the decision was taken on every word
            not_covered=tuple(p for p in answer.not_covered if worth_naming(p)),
            timings_ms={k: round(v * 1000, 2) for k, v in timings.items()},
        )

    def respond(
        self,
        version: IndexVersion,
        question: str,
        scored: Scored | None,
        turns: Sequence[str] = (),
    ) -> Answer:
        """The answer (or honest no-answer) for a scored question (a follow-up of `turns`): no
        answer when a word the question leans on is in no source, or when the evidence is too
        weak."""
        threshold = self.scorer.focus_threshold
        if scored and scored.analysis.uses_history:
            threshold *= self.settings.focus.followup_share  # weighed joined: diluted
        missing = not_covered(scored.analysis.absent, question, threshold) if scored else []
        answered = (
            scored is not None and not missing and scored.answerable >= self.scorer.answer_threshold
        )
        if scored and not answered and not missing and scored.analysis.joint_focus >= threshold:
            # declined on its evidence, and its absent words together carry it: name them
            share = self.settings.focus.named_share
            missing = not_covered(scored.analysis.absent, question, threshold * share)
        chosen: list[tuple[int, int, float]] = []
        if answered and scored:
            # "how long is the recovery?" is answered only by a sentence giving a span of time
            kinds = expected(question)
            documents = self._subject_documents(version, question, scored)
            chosen = self._choose(
                version,
                scored,
                kinds,
                documents,
                question,
                self._subject_rows(version, question, turns, scored),
            )
            if kinds and not chosen:
                # no sentence gives the detail: name the words that ask for it when no source
                # uses them ("how much does it cost": cost), else nothing ("how long")
                spans = asking_spans(kinds, question)
                asking = tuple(
                    a for a in scored.analysis.absent if any(s <= a.start < e for s, e in spans)
                )
                missing = not_covered(asking, question, 0.0)
        return self._compose(version, question, scored, chosen, missing)

    def score(
        self,
        version: IndexVersion,
        question: str,
        history: list[str],
        mode: str | None = None,
        timings: dict[str, float] | None = None,
    ) -> Scored | None:
        """Run retrieval and the three scorers; None when the question has no content words.

        A question that reads as standalone but is not answered that way is also tried as a
        follow-up of the previous turn ("what did the earlier animal work find?" after a
        question on the Huntington's trial); that reading is kept when it answers and has more
        evidence. Not when the question leans on a word no source uses ("How do I bake
        sourdough bread?"). When neither reading answers, the question's own stands, so the
        related reading shown is about what was asked, not the earlier turn's subject.
        """
        timings = {} if timings is None else timings
        query = resolve(question, history, self.settings.followup)
        scored = self._score(version, question, query, mode, timings)
        weak = scored is None or scored.answerable < self.scorer.answer_threshold
        # a word the sources never use stays unused whatever came before: no second reading
        absent = scored is not None and bool(
            not_covered(scored.analysis.absent, question, self.scorer.focus_threshold)
        )
        # ... nor after "forget that, ...": the question takes back what came before
        taken_back = bool(retraction_length(question, self.settings.followup))
        # ... nor for a web address alone: it asks nothing of the sources, after a turn too
        only_a_link = _no_terms(question)
        if (
            history
            and not query.uses_history
            and weak
            and not absent
            and not taken_back
            and not only_a_link
        ):
            previous = previous_reading(history, self.settings.followup)
            joined = ResolvedQuery(f"{previous.text} {question}", question, True)
            other = self._score(version, question, joined, mode, timings)
            if (
                other is not None
                and other.answerable >= self.scorer.answer_threshold
                and (scored is None or other.answerable > scored.answerable)
            ):
                scored = other
        return scored

    def _subject_gap(
        self, version: IndexVersion, question: str, turns: list[str]
    ) -> list[str] | None:
        """For a question read with earlier turns: None when the sources cover the subject
        it is about; else the phrases no source addresses, when they are this question's own
        words ("what about ALS?"), or none, when an earlier turn named them (and asked
        nothing else the sources could answer). The subject is
        the question's own when it turns to one, else the last earlier turn that names one
        (`subject_index`), read on its own as it was first asked; a later turn that was
        declined for an uncovered subject of its own (`_turn_gap`) names it instead, and
        then none is listed. Only a word no source uses counts: a subject turn with weak
        evidence alone may be a statement that the follow-up asks about ("I'm 11 weeks
        pregnant and my midwife mentioned my iron" -> "how can I prevent it"), or lean on a
        turn before it ("and what about in kids?"). Later turns that only tell never name a
        subject of their own. When the subject turn only tells too (a story: "my grandad was a
        coal miner" -> "he got pulmonary fibrosis"), what no source covers is the subject only
        when it names a health condition (`_story_condition`)."""
        f = self.settings.followup
        own = self._turns_to_a_subject(version, question)
        at = None if own else subject_index(turns, f)
        if not own and at is None:
            return None
        if at is not None and any(
            self._turn_gap(version, turns[i], turns[:i]) for i in range(len(turns) - 1, at, -1)
        ):
            return []
        if at is not None and not asks_anything(turns[at]):
            return [] if self._story_condition(version, turns, at) else None
        subject = about_the_sources(question if at is None else turns[at], f)
        missing = self._uncovered(version, ResolvedQuery(subject, subject, False))
        if not missing:
            return None
        if own:
            return missing
        # an earlier turn that also asked what the sources answer was answered in part ("what
        # about stem cells for blood recovery, are those studies careful?"): a follow-up may be
        # about that part, as `_turn_gap` reads a later turn
        return [] if without_questions_on(subject, missing) is None else None

    def _turns_to_a_subject(self, version: IndexVersion, question: str) -> bool:
        """Does a follow-up that opens like a switch ("what about ...", "and ...") turn to a
        subject of its own ("what about lung disease?", "what about Stemedica?"), not to
        another side of the one before ("and the side effects?", "what about cancer risk from
        them?"): it names a health condition or a word no source uses, and points back at
        nothing? After "what about for MS?" (declined: no source covers MS), "and the side
        effects?" was read as a new subject, covered, and answered with the spinal cord
        studies' side effects."""
        f = self.settings.followup
        return (
            switches_subject(question, f)
            and (self.conditions.named_in(question) or names_absent(version, question))
            # a pronoun, not a determiner: "what about that lung trial?" turns to the lung trial
            and not any(word in _PRONOUNS for word in words(question))
        )

    def _story_condition(self, version: IndexVersion, turns: list[str], at: int) -> bool:
        """True when the story told around subject turn `at` (the turns that only tell, from
        the last one that asked before it) names a health condition no source covers: "my
        daughter has lupus" -> "we saw stem cell treatment advertised for it". Its other
        words no source uses are the story around a subject the sources cover ("a
        stonemason", "his allotment", "hes on baclofen"). Each clause of the story's first
        turn is weighed on its own: in "my dad has parkinsons, tremor in his right hand, on
        levodopa" no one word moves the whole turn's embedding enough to count. Later turns
        are weighed whole: read clause by clause, the symptoms and complications they add
        ("bladder problems", "the cough keeps her awake") counted as conditions. One model
        call per part with a word no source uses that names a condition."""
        f = self.settings.followup
        start = next((i + 1 for i in range(at - 1, -1, -1) if asks_anything(turns[i])), 0)
        for i, turn in enumerate(turns[start:], start):
            if asks_anything(turn):
                continue
            told = about_the_sources(turn, f)
            # the story's first turn says who and what, clause by clause ("my dad has
            # parkinsons, tremor in his right hand, on levodopa"); later ones add detail
            # (symptoms, medicines) and count when a condition carries the whole turn
            for part in _CLAUSE.split(told) if i == start else [told]:
                if not any(map(self.conditions.named_in, absent_words(version, part))):
                    continue  # what weighing could report names no condition: no model call
                missing = self._uncovered(version, ResolvedQuery(part, part, False))
                if any(self.conditions.named_in(phrase) for phrase in missing):
                    return True
        return False

    def _turn_gap(self, version: IndexVersion, turn: str, earlier: list[str]) -> bool:
        """True when an earlier turn that leant on the ones before it was declined for a
        subject of its own that no source covers ("Are stem cells safe?" -> "can they cure
        autism?"): what follows it is about that subject. Not when it also asked something
        the sources answer ("... Is there a trial in Australia? were there side effects?").
        The model is called only for a turn with a word no source uses."""
        f = self.settings.followup
        turn = about_the_sources(turn, f)
        if not asks_anything(turn):
            # a turn that only tells ("hes a plumber, on gabapentin for the nerve pain") is
            # the story around the subject, not a new one
            return False
        if to_the_assistant(turn, f) or not names_absent(version, turn):
            return False
        missing = self._uncovered(version, resolve(turn, earlier, f))
        return bool(missing) and without_questions_on(turn, missing) is None

    def _uncovered(self, version: IndexVersion, query: ResolvedQuery) -> list[str]:
        """What no source covers of a turn read as `query` (one model call, none when every
        word of it is in the sources: then nothing is absent to weigh)."""
        if not names_absent(version, query.text):
            return []
        analysis = analyse(version, self.embedder, query, self.settings.focus)
        return not_covered(analysis.absent, query.focus, self.scorer.focus_threshold)

    def _score(
        self,
        version: IndexVersion,
        question: str,
        query: ResolvedQuery,
        mode: str | None,
        timings: dict[str, float],
    ) -> Scored | None:
        s, model = self.settings, self.scorer
        if to_the_assistant(question, s.followup):
            return None  # "Are you a doctor?": no quote answers that, whatever came before
        clock = time.perf_counter()
        analysis = analyse(version, self.embedder, query, s.focus)
        timings["embed"] = _lap(clock)
        if not query.uses_history and (_no_terms(question) or dangling(question, s.followup)):
            # only stop words or a web address, or "it" with no earlier turn to say what it is
            return None
        clock = time.perf_counter()
        mode = mode or s.mode
        hits = retrieve(
            version,
            analysis.vector,
            analysis.text,
            s.candidates,
            mode,
            s.lexical_weight,
            self.dense_search,
            analysis.tokens,
        )
        timings["search"] = _lap(clock)
        if not hits:
            return None
        clock = time.perf_counter()
        pf = passage_features(version, analysis, hits)
        logits = model.passage.logits(pf)
        ranking = logits if mode == "fused" else np.array([h.score for h in hits])
        sentences = sentence_candidates(version, analysis, hits, logits, s.sentence_passages)
        sentence_scores = model.quote_scores(sentences.features, sentences.passage)
        qf = question_features(version, analysis, hits, pf, logits, sentences, sentence_scores)
        answerable = float(_sigmoid(model.question.logits(qf[None, :]))[0])
        if not any(t in version.lexical.vocabulary for t in analysis.tokens):
            # no word of the question occurs in any source ("12345 67890", "What is the
            # capital of France?"): whatever the vectors say, the sources say nothing about
            # it. All such dev questions (10 of 3,648, with their consumer-style rewrites)
            # are ones to decline.
            answerable = 0.0
        timings["score"] = _lap(clock)
        return Scored(
            analysis, hits, pf, logits, ranking, sentences, sentence_scores, qf, answerable
        )

    def _subject_documents(
        self, version: IndexVersion, question: str, scored: Scored
    ) -> set[str] | None:
        """For a follow-up: the documents that name its subject, the rarest word naming a
        condition that a source's title uses, of this turn when it names one ("what about
        dementia?"), else of the earlier turns ("tell me about shingles" -> "is it
        contagious?"); None when it names none, or is no follow-up. A follow-up's own words
        ("is it contagious?") otherwise pick quotes from any page that answers them for its
        own condition: "It is not contagious." from the Parkinson's page."""
        analysis = scored.analysis
        if not analysis.uses_history:
            return None
        lexical = version.lexical
        own = [analysis.corrections.get(w, w) for w in WORD.findall(question)]
        titled = _title_terms(version)
        for text in (" ".join(own), analysis.text):
            found = [
                (lexical.idf(terms[0]), terms[0])
                for word in WORD.findall(text)
                if self.conditions.named_in(word)
                and len(terms := tokenize_word(word.lower())) == 1
                and terms[0] in titled
            ]
            if found:
                term = lexical.vocabulary[max(found)[1]]
                return {version.chunks[int(c)].source_id for c in lexical.chunks_with(term)}
        return None

    def _subject_rows(
        self, version: IndexVersion, question: str, turns: Sequence[str], scored: Scored
    ) -> set[int] | None:
        """For a follow-up that names nothing of its own, after a question about one part of a
        page (a study the seed article reports among others): the candidate sentences about
        that part, where a word of the earlier question that names a condition and that the
        page's title does not use occurs in the sentence or the sentences before it in its
        paragraph (`_context`); of such words, the one that picks the fewest. None when there
        is no such word or every candidate is about it. "what were the side effects?" after
        a question on the Huntington's disease trial was answered with the spinal cord
        studies' side effects: the page-level guard (`_subject_documents`) cannot tell them
        apart in a one-page corpus."""
        f = self.settings.followup
        rows = scored.sentences.rows
        if not scored.analysis.uses_history or not len(rows) or not depends_on_history(question, f):
            return None
        at = subject_index(list(turns), f)
        if at is None or not asks_anything(turns[at]) or self.conditions.named_in(question):
            return None
        table, lexical = version.sentences, version.lexical
        titles = {
            d: set(tokenize(version.documents[d].title))
            for d in {table.doc_id(int(r)) for r in rows}
        }
        found = {
            terms[0]
            for word in WORD.findall(turns[at])
            # a word general English rarely uses: "huntingtons", "fibrosis", "transplant"; not
            # "treatments", "risks" or "cell", which the conditions list also holds
            if zipf(word) < self.conditions.title_zipf
            and self.conditions.named_in(word)
            and len(terms := tokenize_word(word.lower())) == 1
            and terms[0] in lexical.vocabulary
        }
        best: set[int] | None = None
        for term in sorted(found):  # ties go the same way in every process
            term_id = lexical.vocabulary[term]
            untitled = [int(r) for r in rows if term not in titles[table.doc_id(int(r))]]
            about = {
                r
                for r in untitled
                if any(term_id in table.terms_of(c) for c in _context(version, r))
            }
            if about and len(about) < len(untitled) and (best is None or len(about) < len(best)):
                best = about | ({int(r) for r in rows} - set(untitled))
        return best

    def _choose(
        self,
        version: IndexVersion,
        scored: Scored,
        kinds: frozenset[str] = frozenset(),
        documents: set[str] | None = None,
        question: str = "",
        subject_rows: set[int] | None = None,
    ) -> list[tuple[int, int, float]]:
        """(sentence row, chunk, score) of the quotes, best first. A question that asks for a
        kind of detail (`answertype.expected`) is quoted only from sentences that give one, and
        gets none unless such a sentence scores within `detail_margin` of the best, in a
        paragraph on the subject asked (`detail_subject_share`), or is the sentence right after
        the best one.

        Quotes after the first must score within `sentence_margin` of the best; among those, each
        next pick is scored again with the question terms earlier picks hold taken out, so a
        second quote answers what the first left open (the topic, then the focus).
        Near-duplicates (the same sentence on two pages) are one quote.
        """
        s, table, candidates = self.settings, version.sentences, scored.sentences
        scores = scored.sentence_scores
        open_ = scores >= scores.max() - s.sentence_margin if len(scores) else scores > 0
        texts = [sentence_text(version, int(r)) for r in candidates.rows]
        if kinds and len(scores):
            gives_one = np.array([gives(kinds, text, question) for text in texts])
            # ... or the sentence after the best one, when it gives the detail: "MSCs have
            # been tested in people with spinal cord injuries. Across 26 studies with follow-up
            # times from six months to five years, ..."
            after = candidates.rows == _neighbour(table, int(candidates.rows[np.argmax(scores)]), 1)
            # any other on the subject asked about (`detail_subject_share`); a follow-up's
            # subject is also what its earlier turns name (`detail_earlier_share`)
            analysis = scored.analysis
            paragraphs, words = _paragraph_terms(version, candidates)
            on_subject = _on_the_subject(
                version, analysis.tokens, paragraphs, words, s.detail_subject_share
            )
            if analysis.earlier_tokens:
                earlier = list(analysis.earlier_tokens)
                on_subject &= _on_the_subject(
                    version, earlier, paragraphs, words, s.detail_earlier_share
                )
            holds = gives_one & (on_subject | after)
            near = (scores >= scores.max() - s.detail_margin) | after
            if not (holds & near).any():
                return []
            # the sentence after the best may score below `sentence_margin`: it is open too
            open_ = (open_ | near) & holds
        if documents is not None:
            open_ &= np.array([table.doc_id(int(r)) in documents for r in candidates.rows])
        if subject_rows is not None:
            open_ &= np.array([int(r) in subject_rows for r in candidates.rows])
        open_ &= np.array([not _MEDIA.search(text) for text in texts], dtype=bool)
        features = candidates.features.copy()
        current = scores
        chosen: list[tuple[int, int, float]] = []
        seen: set[str] = set()
        covered: set[int] = set()
        while len(chosen) < s.max_sentences and open_.any():
            i = int(np.argmax(np.where(open_, current, -np.inf)))
            open_[i] = False
            row = int(candidates.rows[i])
            text = " ".join(texts[i].lower().split())
            if text in seen:
                continue
            seen.add(text)
            chosen.append((row, int(candidates.chunks[i]), float(scores[i])))
            covered.update(int(t) for t in table.terms_of(row))
            features[:, COVERAGE] = open_coverage(
                version, scored.analysis, candidates.rows, covered
            )
            current = self.scorer.quote_scores(features, candidates.passage)
        return chosen

    def _compose(
        self,
        version: IndexVersion,
        question: str,
        scored: Scored | None,
        chosen: list[tuple[int, int, float]],
        missing: list[str],
    ) -> Answer:
        table = version.sentences
        sentences = []
        quoted: set[int] = set()  # rows already in a quote, alone or before one that points back
        for row, chunk, logit in chosen:
            if row in quoted:
                continue  # quoted already, before the sentence that points back to it
            last, chunk = _quote_end(version, row, int(chunk), quoted)
            first = _quote_start(version, row, chunk, quoted)
            lead = _lead_in_of(version, row, chunk, quoted)
            if lead is not None:
                # an item of a list ("Caffeine, alcohol, nicotine, and illegal drugs") says
                # nothing alone: quoted from the lead-in, with the list, when that list holds it
                end, at = _quote_end(version, lead[0], lead[1], quoted)
                if end >= row:
                    first, last, chunk = _quote_start(version, lead[0], at, quoted), end, at
            quoted.update(range(first, last + 1))
            doc = version.documents[table.doc_id(row)]
            start, end = int(table.start[first]), int(table.end[last])
            sentences.append(
                AnswerSentence(
                    text=doc.text[start:end],
                    source_id=doc.source_id,
                    chunk_id=version.chunks[chunk].chunk_id,
                    start=start,
                    end=end,
                    link=deep_link(doc, start, end),
                    score=round(float(_sigmoid(np.array([logit]))[0]), 4),
                )
            )
        passages = _passages(version, scored, sentences, self.settings) if scored else []
        return Answer(
            question=question,
            status="answered" if sentences else "no_answer",
            answer=tuple(sentences),
            passages=tuple(passages),
            sources={p.source_id: source_info(version, p.source_id) for p in passages},
            index_version=version.name,
            resolved_query=scored.analysis.text if scored else question,
            used_history=bool(scored and scored.analysis.uses_history),
            not_covered=tuple(missing),
            confidence=round(scored.answerable, 4) if scored else 0.0,
        )


# Words that stand for what came before ("risk from them", "is it"), not "that"/"this", which
# may open a name of their own ("that lung trial").
_PRONOUNS = frozenset(
    {"it", "its", "they", "them", "their", "theirs", "he", "she", "him", "her", "his", "hers"}
    | {"hes", "shes", "theyre", "theyve"}  # typed without the apostrophe
)
# Where a story's clauses part: punctuation before a space, or a dash between spaces.
_CLAUSE = re.compile(r"[,;:.!?]+\s+|\s+-+\s+")


# A sentence that opens by pointing back ("Similar results come from other research.",
# "These can lead to complications ...") says little alone: it is quoted together with the
# sentence before it. Personal and demonstrative pronouns, "such"/"similar" and "all of these"
# ("All of these conditions increase your risk of RLS."); chosen, not fitted.
_POINTS_BACK = re.compile(
    r"\W*(?:(?:it|its|this|these|those|that|they|their|such|similar|similarly|he|she|his|her)\b"
    r"|(?:all|both|each|any|many|most|some|none|one|either|neither)\s+of\s+(?:these|those|them)\b)",
    re.IGNORECASE,
)


def _names_a_subject(text: str) -> bool:
    """Does `text` hold a word that can carry a subject, other than whom it is about ("he's
    67", "my dad is 70" hold none)?"""
    bases = [w.split("'")[0] for w in words(text)]
    return any(content_word(w) and not person_word(w) for w in bases)


def _quote_start(version: IndexVersion, row: int, chunk: int, quoted: set[int]) -> int:
    """The first row of the quote of sentence `row`: the sentence before it in the same
    section and chunk when `row` points back to it and it is not quoted already, else `row`."""
    table = version.sentences
    before = _neighbour(table, row, -1)
    if (
        before < 0
        or before in quoted
        or before not in table.rows_of(chunk)
        or not table.eligible[before]
    ):
        return row
    text = version.documents[table.doc_id(row)].text
    return before if _POINTS_BACK.match(text, int(table.start[row])) else row


# A sentence that shows what the page shows beside it ("The animation below shows atrial
# fibrillation.", "The tables below show total, LDL, and HDL cholesterol levels ..."): the
# picture, table or video is not in the extracted text, so the sentence answers nothing; quoted
# alone to two exploratory checks' questions on atrial fibrillation. Up to 300 characters (a
# longer sentence that mentions one in passing keeps its content); 67 of MedQuAD topical's
# 68,471 sentences. Left out here, when quotes are chosen, not at build time: what is
# answer-eligible is what the scorer trains on, and refitting it for these moved its decision
# by more than they are worth (eval/README.md, stop 32).
_MEDIA = re.compile(
    r"^(?=.{0,300}$).*\b(?:table|figure|animation|video|image|illustration|picture|photo"
    r"|diagram|chart|graph)s?\s+(?:below|above)\b",
    re.IGNORECASE | re.DOTALL,
)


# A sentence that leads in to a list ("Many diseases, conditions, and factors can cause
# aplastic anemia, including:") says nothing alone: it is quoted with the lines that follow it,
# up to this many characters after it (whole sentences; at least one). About five of the list
# lines MedQuAD's pages put after their lead-ins, and a quote that still fits the chat column
# without scrolling; chosen, not fitted. 39 of 1,546 first quotes on MedQuAD topical and the
# consumer dev sets were a lead-in alone.
_LIST_CHARS = 500


def _quote_end(version: IndexVersion, row: int, chunk: int, quoted: set[int]) -> tuple[int, int]:
    """The last row of the quote of sentence `row` picked from `chunk`, and the chunk that
    holds the quote: when `row` leads in to a list (ends with a colon), the list after it in
    the same section, within `chunk` or, when the list runs on there, a later chunk (chunks
    overlap, so a lead-in near a chunk's end is also in the next ones); else `row` and
    `chunk`.

    A lead-in ends with a colon, or is a sentence left open before a list written with dashes
    ("Medical experts recommend surgery for long-term cases when" / "- symptoms have not
    improved - ..."), whose list ends at the first line without one.

    The list is the sentences up to the first that ends it: a heading (a list of named
    sections keeps its first name), a pointer or question (not answer-eligible though long
    enough), another lead-in, a sentence quoted already, one past `_LIST_CHARS`, or, after two
    or more items written without closing punctuation ("Anemia", "Birth defects"), a full
    sentence."""
    table = version.sentences

    def line(at: int) -> str:
        return sentence_text(version, at).rstrip()

    def end_of_list(rows: set[int]) -> int:
        last, bare = row, 0  # bare: items so far, while none has closing punctuation
        # after a sentence left open, the dashed list ends where its dashes do (an item after
        # a colon may run on in full sentences: "- NF1 is the more common type. Symptoms ...")
        dashed = not line(row).endswith(":")
        while (after := _neighbour(table, last, 1)) in rows and after not in quoted:
            item = line(after)
            named = heading(item)
            pointer = not table.eligible[after] and not named and len(item.split()) >= _MIN_WORDS
            if pointer or (named and last != row):
                break
            if last != row and (
                _leads_in(version, after)
                or (dashed and not item.startswith(_DASH))
                or table.end[after] - table.end[row] > _LIST_CHARS
                or (bare >= 2 and _SENTENCE_END.search(item))
            ):
                break
            closed = named or _SENTENCE_END.search(item)
            bare = -1 if closed or bare < 0 else bare + 1
            last = after
        return last

    if not _leads_in(version, row):
        return row, chunk
    best, later = (end_of_list(set(table.rows_of(chunk).tolist())), chunk), chunk + 1
    while later < len(version.chunks) and row in table.rows_of(later):
        best = max(best, (end_of_list(set(table.rows_of(later).tolist())), later))
        later += 1
    return best


def _leads_in(version: IndexVersion, row: int) -> bool:
    """Does sentence `row` lead in to a list: end with a colon, or stop without closing
    punctuation right before a line written with a dash (a sentence left open, one that may
    be quoted: not a title such as "Key Points")?"""
    text = sentence_text(version, row).rstrip()
    if text.endswith(":"):
        return True
    after = _neighbour(version.sentences, row, 1)
    return (
        version.sentences.eligible[row]
        and len(text.split()) >= _MIN_WORDS
        and not _SENTENCE_END.search(text)
        and not text.startswith(_DASH)
        and after >= 0
        and sentence_text(version, after).startswith(_DASH)
    )


def _lead_in_of(
    version: IndexVersion, row: int, chunk: int, quoted: set[int]
) -> tuple[int, int] | None:
    """For a list item (a line without closing punctuation, or one written with a dash): the
    lead-in above it in the same section, across other such items and within `_LIST_CHARS`,
    and a chunk holding that lead-in (`chunk` or an earlier one, as chunks overlap); None for
    a sentence that is no list item or has no lead-in not quoted yet."""
    table = version.sentences

    def item(at: int) -> bool:
        text = sentence_text(version, at).rstrip()
        return text.startswith(_DASH) or not (_SENTENCE_END.search(text) or text.endswith(":"))

    if not item(row) or heading(sentence_text(version, row)):
        return None
    at = row
    while (before := _neighbour(table, at, -1)) >= 0 and before not in quoted:
        if table.end[row] - table.end[before] > _LIST_CHARS:
            return None
        if heading(sentence_text(version, before)):
            return None
        if _leads_in(version, before):
            held, source = chunk, version.chunks[chunk].source_id
            while held >= 0 and version.chunks[held].source_id == source:
                if before in table.rows_of(held):
                    return before, held
                held -= 1
            return None
        if not item(before):
            return None
        at = before
    return None


# How a list line written with a dash opens ("- symptoms have not improved").
_DASH = ("- ", "• ")
# Fewer words than an answer has: a list item ("Anemia"), not a pointer or a question.
_MIN_WORDS = SentenceSettings.min_answer_words
# The end of a full sentence (closing quotes or brackets may follow).
_SENTENCE_END = re.compile(r"[.!?][\"”’')\]]*$")


def _passages(
    version: IndexVersion, scored: Scored, sentences: list[AnswerSentence], settings: AskSettings
) -> list[Passage]:
    """The best passages, those holding quotes first, at most `passages_per_source` a source."""
    order = [int(i) for i in np.argsort(-scored.ranking, kind="stable")]
    quoted = {s.chunk_id for s in sentences}
    order.sort(key=lambda i: version.chunks[scored.hits[i].chunk].chunk_id not in quoted)
    per_source: dict[str, int] = {}
    passages: list[Passage] = []
    for i in order:
        chunk = version.chunks[scored.hits[i].chunk]
        if per_source.get(chunk.source_id, 0) >= settings.passages_per_source:
            continue
        per_source[chunk.source_id] = per_source.get(chunk.source_id, 0) + 1
        doc = version.documents[chunk.source_id]
        marks = tuple(
            (s.start - chunk.start, s.end - chunk.start)
            for s in sentences
            if s.source_id == chunk.source_id and chunk.start <= s.start and s.end <= chunk.end
        )
        passages.append(
            Passage(
                chunk_id=chunk.chunk_id,
                source_id=chunk.source_id,
                text=version.chunk_text(chunk),
                highlights=marks,
                score=round(float(_sigmoid(scored.passage_scores[i : i + 1])[0]), 4),
                link=deep_link(doc, chunk.start, chunk.sentences[0][1]),
                section=chunk.section,
                start=chunk.start,
                end=chunk.end,
            )
        )
        if len(passages) == settings.max_passages:
            break
    return passages


def _neighbour(table: SentenceTable, row: int, step: int) -> int:
    """The sentence `step` places from `row` in the same section (-1: none): 1 the next, -1
    the one before."""
    other = row + step
    if (
        not 0 <= other < len(table)
        or table.doc[other] != table.doc[row]
        or table.position[other] != table.position[row] + step
    ):
        return -1
    return other


def _paragraph_terms(
    version: IndexVersion, candidates: SentenceCandidates
) -> tuple[list[tuple[int, int]], dict[tuple[int, int], np.ndarray]]:
    """Each candidate's paragraph (first and last row), and the terms of each paragraph with
    its chunk's title and heading (the chunk of the first candidate in it)."""
    table = version.sentences
    paragraphs: list[tuple[int, int]] = []
    words: dict[tuple[int, int], np.ndarray] = {}
    for row, chunk in zip(candidates.rows.tolist(), candidates.chunks.tolist(), strict=True):
        # rows of one paragraph are consecutive: one walk per paragraph
        span = next((k for k in words if k[0] <= row <= k[1]), None)
        if span is None:
            span = _paragraph(version, row)
            held = [table.terms_of(r) for r in range(span[0], span[1] + 1)]
            words[span] = np.concatenate([*held, table.head_of(chunk)])
        paragraphs.append(span)
    return paragraphs, words


def _on_the_subject(
    version: IndexVersion,
    tokens: list[str],
    paragraphs: list[tuple[int, int]],
    words: dict[tuple[int, int], np.ndarray],
    share: float,
) -> np.ndarray:
    """Per candidate (its paragraph in `paragraphs`): does its paragraph hold at least
    `share` of the words `tokens`, IDF-weighted, that the paragraph holding most of them
    does (`_paragraph_terms`)?"""
    spans = list(words)
    coverage = terms(version, tokens).coverage([words[k] for k in spans])
    held = dict(zip(spans, coverage.tolist(), strict=True))
    best = max(held.values(), default=0.0)
    return np.array([held[k] >= share * best for k in paragraphs], dtype=bool)


# How far back a sentence's subject may be named in its paragraph: "For example, MSCs have
# been tested in people with spinal cord injuries. Across 26 studies ..., side effects were
# mostly mild ... No serious issues ... appeared in these trials." Chosen, not fitted.
_CONTEXT_SENTENCES = 4


def _context(version: IndexVersion, row: int) -> range:
    """The rows of a sentence and of up to `_CONTEXT_SENTENCES` before it in its paragraph
    (walked back only so far: a MedQuAD page is one paragraph, walked whole per candidate)."""
    first = row
    while row - first < _CONTEXT_SENTENCES and _joined(version, first - 1, first):
        first -= 1
    return range(first, row + 1)


def _paragraph(version: IndexVersion, row: int) -> tuple[int, int]:
    """First and last sentence rows of the paragraph holding `row` (no line break between)."""
    first = row
    while _joined(version, first - 1, first):
        first -= 1
    last = row
    while _joined(version, last, last + 1):
        last += 1
    return first, last


def _joined(version: IndexVersion, a: int, b: int) -> bool:
    """Are rows `a` and `b` of one document with no line break between them?"""
    table = version.sentences
    if not (0 <= a < len(table) and 0 <= b < len(table)) or table.doc[a] != table.doc[b]:
        return False
    text = version.documents[table.doc_id(a)].text
    return "\n" not in text[int(table.end[a]) : int(table.start[b])]


def sentence_text(version: IndexVersion, row: int) -> str:
    """The source text of one sentence-table row."""
    table = version.sentences
    doc = version.documents[table.doc_id(row)]
    return doc.text[int(table.start[row]) : int(table.end[row])]


def source_info(version: IndexVersion, source_id: str) -> SourceInfo:
    """Display metadata of one indexed source."""
    doc = version.documents[source_id]
    return SourceInfo(
        doc.source_id, doc.title, doc.url, doc.publisher, doc.kind, doc.published, doc.retrieved_at
    )


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


def _no_terms(question: str) -> bool:
    """Only stop words or a web address: nothing of it to search the sources for."""
    return not tokenize(without_links(question))


_TITLE_TERMS: dict[tuple[str, str], frozenset[str]] = {}


def _title_terms(version: IndexVersion) -> frozenset[str]:
    """The terms of the sources' titles: the words that name what a page is about ("Shingles";
    not "painkillers" or "ENT", which the conditions list also reads as conditions). Once per
    version (a version never changes under its name)."""
    key = (version.name, str(version.path))
    terms = _TITLE_TERMS.get(key)
    if terms is None:
        titles = " ".join(d.title for d in version.documents.values())
        terms = frozenset(t for t in tokenize(titles) if t in version.lexical.vocabulary)
        if len(_TITLE_TERMS) >= 4:  # older versions: a server holds one or two at a time
            _TITLE_TERMS.clear()
        _TITLE_TERMS[key] = terms
    return terms


def _lap(clock: float) -> float:
    return time.perf_counter() - clock
