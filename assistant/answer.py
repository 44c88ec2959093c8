"""Question (+ history) -> `Answer`: retrieve, fuse, pick verbatim sentences, or abstain."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from assistant.followup import ResolvedQuery, resolve
from assistant.links import deep_link
from assistant.model import Answer, AnswerSentence, Passage, SourceInfo
from corpus.chunk import Chunk
from index.embed import Embedder
from index.lexical import tokenize
from index.search import Hit, retrieve
from index.store import IndexVersion

SENTENCE_CACHE = 20_000  # sentence vectors kept per process (~30 MB)


class QuestionError(ValueError):
    """The question or history is not acceptable (empty, too long, ...)."""


@dataclass(frozen=True)
class AskSettings:
    """Retrieval, selection and abstention settings (defaults calibrated on the dev sets)."""

    mode: str = "fused"
    candidates: int = 50
    lexical_weight: float = 0.5
    sentence_chunks: int = 5
    max_sentences: int = 3
    sentence_margin: float = 0.3
    sentence_lexical_weight: float = 0.7
    max_passages: int = 5
    # Answer only when dense similarity plus weighted query-term coverage of the best chunk
    # reaches base + slope * sqrt(2 ln chunks); see assistant/calibrate.py.
    coverage_weight: float = 0.25
    confidence_base: float = -0.276
    confidence_slope: float = 0.259
    max_question_chars: int = 500
    max_history: int = 10


@dataclass(frozen=True)
class _Scored:
    source_id: str
    chunk: int
    start: int
    end: int
    score: float


def validate(question: object, history: object, settings: AskSettings) -> tuple[str, list[str]]:
    """Clean question and history, or `QuestionError` saying what is wrong."""
    if not isinstance(question, str) or not question.strip():
        raise QuestionError("the question is empty; type a question")
    if len(question) > settings.max_question_chars:
        raise QuestionError(f"the question is longer than {settings.max_question_chars} characters")
    turns = history or []
    if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
        raise QuestionError("history must be a list of earlier questions (strings)")
    if len(turns) > settings.max_history:
        raise QuestionError(f"history has more than {settings.max_history} questions")
    if any(len(t) > settings.max_question_chars for t in turns):
        raise QuestionError(
            f"a history question is longer than {settings.max_question_chars} characters"
        )
    return question.strip(), [t.strip() for t in turns if t.strip()]


def coverage(version: IndexVersion, tokens: list[str], text: str) -> float:
    """IDF-weighted share of the query's terms that occur in `text` (0..1)."""
    unique = set(tokens)
    if not unique:
        return 0.0
    present = set(tokenize(text))
    weights = {t: version.lexical.idf(t) for t in unique}
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in present) / total if total else 0.0


class Answerer:
    """Answers questions from one loaded index version at a time (passed per call)."""

    def __init__(self, embedder: Embedder, settings: AskSettings | None = None) -> None:
        self.embedder = embedder
        self.settings = settings or AskSettings()
        self._sentence_vectors: OrderedDict[tuple[str, str, int], np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

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
        clock = time.perf_counter()
        query, vector, hits, tokens = self._retrieve(version, question, turns, mode, timings)
        confident = bool(hits) and (
            self._confidence(version, hits[0], tokens) >= self.threshold(version)
        )
        focus = set(tokenize(query.focus))
        # Earlier turns choose the passages (the topic); this turn's words choose the sentences.
        sentence_query = self.embedder.encode([query.focus])[0] if query.uses_history else vector
        chosen = self._select(version, hits, sentence_query, tokens, focus) if confident else []
        timings["select"] = _lap(clock) - timings["embed"] - timings["search"]
        return self._compose(
            version, question, query.text, query.uses_history, hits, chosen, timings
        )

    def evidence(
        self, version: IndexVersion, question: str, history: list[str]
    ) -> tuple[float, float]:
        """(dense similarity, term coverage) of the best chunk: the abstention inputs."""
        _, _, hits, tokens = self._retrieve(version, *validate(question, history, self.settings))
        return self._evidence(version, hits[0], tokens) if hits else (0.0, 0.0)

    def _retrieve(
        self,
        version: IndexVersion,
        question: str,
        history: list[str],
        mode: str | None = None,
        timings: dict[str, float] | None = None,
    ) -> tuple[ResolvedQuery, np.ndarray, list[Hit], list[str]]:
        """Resolve the query against history, embed it and rank candidate chunks."""
        s = self.settings
        clock = time.perf_counter()
        query = resolve(question, history)
        vector = self.embedder.encode([query.text])[0]
        embedded = time.perf_counter()
        hits = retrieve(version, vector, query.text, s.candidates, mode or s.mode, s.lexical_weight)
        if timings is not None:
            timings["embed"] = embedded - clock
            timings["search"] = time.perf_counter() - embedded
        return query, vector, hits, tokenize(query.text)

    def _evidence(self, version: IndexVersion, top: Hit, tokens: list[str]) -> tuple[float, float]:
        chunk = version.chunks[top.chunk]
        doc = version.documents[chunk.source_id]
        text = f"{doc.title}\n{chunk.section}\n{version.chunk_text(chunk)}"
        return top.dense, coverage(version, tokens, text)

    def threshold(self, version: IndexVersion) -> float:
        """Evidence needed to answer from this index: more passages, better chance matches."""
        s = self.settings
        return s.confidence_base + s.confidence_slope * chance_scale(len(version.chunks))

    def _confidence(self, version: IndexVersion, top: Hit, tokens: list[str]) -> float:
        dense, covered = self._evidence(version, top, tokens)
        return dense + self.settings.coverage_weight * covered

    def _select(
        self,
        version: IndexVersion,
        hits: list[Hit],
        vector: np.ndarray,
        tokens: list[str],
        focus: set[str],
    ) -> list[_Scored]:
        """Pick answer sentences from the top chunks, greedily covering the question's terms.

        Each sentence scores its embedding similarity, the share of query terms it contains
        (weighted by how rare each term is among the candidates) and its chunk's rank. After a
        pick, the terms it covered count less, so the next pick answers what is still open
        (a question's topic and its focus often sit in neighbouring sentences). In a follow-up,
        the words of the current turn weigh double: earlier turns only set the topic.
        """
        s = self.settings
        top = hits[: s.sentence_chunks]
        spans: dict[tuple[str, int], tuple[int, int, float]] = {}
        for hit in top:
            chunk = version.chunks[hit.chunk]
            for start, end in chunk.sentences:
                key = (chunk.source_id, start)
                text = version.documents[chunk.source_id].text[start:end]
                if len(text.split()) < 4 or text.rstrip().endswith("?"):
                    continue  # headings, fragments and questions are not answers
                if key not in spans or spans[key][2] < hit.score:
                    spans[key] = (hit.chunk, end, hit.score)
        if not spans:
            return []
        keys = list(spans)
        texts = [version.documents[src].text[start : spans[(src, start)][1]] for src, start in keys]
        sims = self._sentence_sims(version, keys, texts, vector)
        terms = [set(tokenize(t)) for t in texts]
        weights = _local_idf(set(tokens), terms)
        if focus != set(tokens):
            weights = {t: w * (2.0 if t in focus else 1.0) for t, w in weights.items()}
        base = [
            float(sim) + 0.5 * (spans[key][2] - top[0].score)
            for key, sim in zip(keys, sims, strict=True)
        ]
        picked: list[int] = []
        first = 0.0
        while len(picked) < min(s.max_sentences, len(keys)):
            total = sum(weights.values()) or 1.0
            sources = {keys[i][0] for i in picked}
            scores = [
                base[i]
                + s.sentence_lexical_weight
                * sum(w for t, w in weights.items() if t in terms[i])
                / total
                + (0.05 if picked and keys[i][0] not in sources else 0.0)  # agreeing sources
                if i not in picked
                else -np.inf
                for i in range(len(keys))
            ]
            best = int(np.argmax(scores))
            if picked and scores[best] < first - s.sentence_margin:
                break
            first = first if picked else scores[best]
            picked.append(best)
            for term in weights:
                if term in terms[best]:
                    weights[term] *= 0.2
        return [
            _Scored(keys[i][0], spans[keys[i]][0], keys[i][1], spans[keys[i]][1], float(base[i]))
            for i in picked
        ]

    def _sentence_sims(
        self,
        version: IndexVersion,
        keys: list[tuple[str, int]],
        texts: list[str],
        vector: np.ndarray,
    ) -> np.ndarray:
        """Similarity of each sentence to the query; sentence vectors are cached per process.

        Requests run in a thread pool, so the cache is touched only under its lock, and this
        request's rows are taken out before anything can evict them.
        """
        cache_keys = [(version.name, src, start) for src, start in keys]
        with self._cache_lock:
            found = {
                k: self._sentence_vectors[k] for k in cache_keys if k in self._sentence_vectors
            }
        missing = [i for i, k in enumerate(cache_keys) if k not in found]
        if missing:
            encoded = self.embedder.encode([texts[i] for i in missing])
            for i, vector_i in zip(missing, encoded, strict=True):
                found[cache_keys[i]] = vector_i
        with self._cache_lock:
            for key in cache_keys:
                self._sentence_vectors[key] = found[key]
                self._sentence_vectors.move_to_end(key)
            while len(self._sentence_vectors) > SENTENCE_CACHE:
                self._sentence_vectors.popitem(last=False)
        matrix = np.stack([found[k] for k in cache_keys])
        return matrix @ vector

    def _compose(
        self,
        version: IndexVersion,
        question: str,
        query: str,
        used_history: bool,
        hits: list[Hit],
        chosen: list[_Scored],
        timings: dict[str, float],
    ) -> Answer:
        sentences = []
        for item in chosen:
            doc = version.documents[item.source_id]
            sentences.append(
                AnswerSentence(
                    text=doc.text[item.start : item.end],
                    source_id=item.source_id,
                    chunk_id=version.chunks[item.chunk].chunk_id,
                    start=item.start,
                    end=item.end,
                    link=deep_link(doc, item.start, item.end),
                    score=round(item.score, 4),
                )
            )
        passages = _passages(version, hits, chosen, self.settings.max_passages)
        sources = {p.source_id: source_info(version, p.source_id) for p in passages}
        return Answer(
            question=question,
            status="answered" if sentences else "no_answer",
            answer=tuple(sentences),
            passages=tuple(passages),
            sources=sources,
            index_version=version.name,
            resolved_query=query,
            used_history=used_history,
            timings_ms={k: round(v * 1000, 2) for k, v in timings.items()},
        )


def chance_scale(passages: int) -> float:
    """sqrt(2 ln n): how the best of n chance similarities grows with n (extreme values of
    roughly normal scores), so the bar rises quickly for tiny corpora and slowly for large ones."""
    return float(np.sqrt(2 * np.log(max(passages, 2))))


def _lap(clock: float) -> float:
    return time.perf_counter() - clock


def _local_idf(query: set[str], candidates: list[set[str]]) -> dict[str, float]:
    """Weight each query term by its rarity among the candidate sentences.

    Terms no candidate contains are left out: they cannot tell candidates apart.
    """
    n = len(candidates)
    counts = {t: sum(t in c for c in candidates) for t in query}
    return {t: float(np.log((n + 1) / (k + 0.5))) ** 2 for t, k in counts.items() if k}


def _passages(
    version: IndexVersion, hits: list[Hit], chosen: list[_Scored], limit: int
) -> list[Passage]:
    """One passage per source (its best chunk), ranked, with answer sentences highlighted."""
    seen: set[str] = set()
    passages: list[Passage] = []
    answer_chunk: dict[str, int] = {}
    for item in chosen:
        answer_chunk.setdefault(item.source_id, item.chunk)
    for hit in hits:
        source_id = version.chunks[hit.chunk].source_id
        if source_id in seen:
            continue
        seen.add(source_id)
        # a source that gave answer sentences is shown by the chunk holding them
        chunk: Chunk = version.chunks[answer_chunk.get(source_id, hit.chunk)]
        doc = version.documents[chunk.source_id]
        marks = tuple(
            (c.start - chunk.start, c.end - chunk.start)
            for c in chosen
            if c.source_id == chunk.source_id and chunk.start <= c.start and c.end <= chunk.end
        )
        passages.append(
            Passage(
                chunk_id=chunk.chunk_id,
                source_id=chunk.source_id,
                text=version.chunk_text(chunk),
                highlights=marks,
                score=round(hit.score, 4),
                link=deep_link(doc, chunk.start, chunk.sentences[0][1]),
                section=chunk.section,
                start=chunk.start,
                end=chunk.end,
            )
        )
        if len(passages) == limit:
            break
    return passages


def source_info(version: IndexVersion, source_id: str) -> SourceInfo:
    """Display metadata of one indexed source."""
    doc = version.documents[source_id]
    return SourceInfo(
        doc.source_id, doc.title, doc.url, doc.publisher, doc.kind, doc.published, doc.retrieved_at
    )
