"""Merge concurrent requests' model calls and FAISS searches into one call each.

On two cores, sixteen requests each running their own `encode` fight over the CPU; one call
on sixteen questions costs little more than one on a single question. A `Batcher` collects
what arrives within a few milliseconds (up to a batch size), runs one call, and hands each
caller its own result. A caller waits at most its timeout; if a merged call fails, each job
is retried alone so one bad input cannot lose the others' answers.

When nothing is queued and a lane is free, a caller makes the call itself, in its own
thread: a lone question then pays no hand-over to a worker thread and back (about 1 ms a
stage at one client, server timings of bench/latency.py). At most `lanes` calls run at once,
direct or merged (one semaphore), and while any job waits, newcomers queue behind it.

Queued jobs are served oldest request first (`arrived`, which the web app sets as a request
comes in), not in the order the calls were made: a request that needs a second model call (a
follow-up weighing its earlier turn, a message of several questions) would otherwise queue
again behind every request that came after it, and wait twice as long under load.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Generic, TypeVar

import numpy as np

from index.embed import Embedder
from index.store import IndexVersion

log = logging.getLogger("stemcell_qa.batching")
In = TypeVar("In")
Out = TypeVar("Out")


# When the request that makes a call came in (`time.monotonic()`); unset, when the call is made
arrived: ContextVar[float | None] = ContextVar("arrived", default=None)


class BatchTimeoutError(RuntimeError):
    """A request waited longer than its timeout for the shared model call."""


@dataclass(frozen=True)
class BatchSettings:
    """How long to gather a batch and how big it may get."""

    # No waiting for company: a call takes every job that queued while the previous call
    # ran, so batches form under load by themselves and a lone question never waits. A 2 ms
    # window cost one client ~4 ms a request (two hops) at no gain (bench/latency.py and
    # bench/concurrency.py measure both cases).
    wait_ms: float = 0.0
    max_items: int = 32  # texts (or queries) per merged call: one encode batch
    timeout_s: float = 10.0  # a request gives up (HTTP 503) after this
    # calls that may run at once, each in its own thread on one core (web/app.py chooses)
    lanes: int = 1
    # False: a worker still takes every waiting job, but calls once per job, for a `call`
    # whose result for an item depends on the other items of the call (int8 encoders)
    merge: bool = True


@dataclass
class _Job(Generic[In, Out]):
    items: list[In]
    done: threading.Event = field(default_factory=threading.Event)
    result: list[Out] | None = None
    error: BaseException | None = None


class Batcher(Generic[In, Out]):
    """Runs `call(items) -> results` (same length and order) for many callers at once."""

    def __init__(
        self,
        call: Callable[[list[In]], list[Out]],
        settings: BatchSettings,
        name: str,
        init: Callable[[], None] | None = None,
    ) -> None:
        self._call = call
        self._init = init  # run first in each thread that makes calls (e.g. its thread counts)
        self.settings = settings
        # (request arrival, submission number, job); a None job tells a worker to stop
        self._queue: queue.PriorityQueue[tuple[float, int, _Job[In, Out] | None]] = (
            queue.PriorityQueue()
        )
        self._numbers = itertools.count()
        lanes = max(1, settings.lanes)
        self._calling = threading.Semaphore(lanes)  # `lanes` calls at a time, direct or merged
        self._state = threading.Lock()  # guards _waiting
        self._waiting = 0  # jobs queued or being served by the workers
        self._local = threading.local()  # which caller threads ran `init`
        self._threads = [
            threading.Thread(target=self._run, name=f"{name}-{n}", daemon=True)
            for n in range(lanes)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, items: list[In]) -> list[Out]:
        """Results for `items`, computed together with whatever else is waiting (or at once,
        in this thread, when nothing is)."""
        with self._state:
            direct = self._waiting == 0 and self._calling.acquire(blocking=False)
            if not direct:
                self._waiting += 1
        if direct:
            try:
                if self._init is not None and not getattr(self._local, "ready", False):
                    self._init()
                    self._local.ready = True
                return self._call(items)
            finally:
                self._calling.release()
        job: _Job[In, Out] = _Job(items)
        self._put(arrived.get() or time.monotonic(), job)
        if not job.done.wait(self.settings.timeout_s):
            raise BatchTimeoutError(
                f"the answer engine is busy (no result within {self.settings.timeout_s:g} s); "
                "try again shortly"
            )
        if job.error is not None:
            raise job.error
        assert job.result is not None
        return job.result

    def close(self) -> None:
        """Stop the workers after the jobs already queued."""
        for _ in self._threads:
            self._put(float("inf"), None)
        for thread in self._threads:
            thread.join(timeout=5)

    def _run(self) -> None:
        if self._init is not None:
            self._init()
        while True:
            entry = self._queue.get()
            with self._calling:
                # a lane is free now: serve the oldest request's job queued by now
                self._queue.put(entry)
                first = self._queue.get()[2]
                if first is None:
                    return
                jobs = self._gather(first)
                self._serve_locked(jobs)
            with self._state:
                self._waiting -= len(jobs)

    def _gather(self, first: _Job[In, Out]) -> list[_Job[In, Out]]:
        """`first` and, when calls are merged, the jobs that come next, up to `max_items`
        items (waiting up to `wait_ms` for them). Calls that are not merged are served one
        at a time, so that an older request's job queued meanwhile goes next."""
        jobs = [first]
        size = len(first.items)
        deadline = time.monotonic() + self.settings.wait_ms / 1000
        while self.settings.merge and size < self.settings.max_items:
            try:
                entry = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if entry[2] is None:
                self._queue.put(entry)  # stop after this batch
                break
            jobs.append(entry[2])
            size += len(entry[2].items)
        return jobs

    def _put(self, since: float, job: _Job[In, Out] | None) -> None:
        self._queue.put((since, next(self._numbers), job))

    def _serve_locked(self, jobs: list[_Job[In, Out]]) -> None:
        if not self.settings.merge:
            self._alone(jobs)
            return
        try:
            results = self._call([item for job in jobs for item in job.items])
            at = 0
            for job in jobs:
                job.result = results[at : at + len(job.items)]
                at += len(job.items)
                job.done.set()
        except Exception:
            log.warning("a merged call of %d jobs failed; retrying them one by one", len(jobs))
            self._alone(jobs)

    def _alone(self, jobs: list[_Job[In, Out]]) -> None:
        """One call per job: a failure is that job's alone."""
        for job in jobs:
            try:
                job.result = self._call(job.items)
            except Exception as exc:
                job.error = exc
            job.done.set()


class BatchingEmbedder:
    """An `Embedder` whose concurrent `encode` calls share one model call."""

    def __init__(
        self,
        inner: Embedder,
        settings: BatchSettings | None = None,
        init: Callable[[], None] | None = None,
    ) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        settings = settings or BatchSettings()
        if getattr(inner, "quantized", False):  # its vectors depend on their batch: no merging
            settings = replace(settings, merge=False)
        self._batcher: Batcher[str, np.ndarray] = Batcher(
            lambda texts: list(inner.encode(texts)), settings, "embed-batch", init
        )

    def encode(
        self,
        texts: list[str],
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Vectors for `texts`, computed with other callers' texts."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack(self._batcher.submit(list(texts)))

    def encode_spans(
        self, texts: list[str], spans: list[list[tuple[int, int]]], batch_size: int = 32
    ) -> tuple[np.ndarray, list[list[np.ndarray | None]]]:
        """Not batched: builds call the model directly."""
        return self.inner.encode_spans(texts, spans, batch_size)

    def close(self) -> None:
        """Stop the batching worker."""
        self._batcher.close()


DenseQuery = tuple[IndexVersion, np.ndarray, int]


class BatchingSearch:
    """Dense top-k searches of concurrent requests as one FAISS call per index version."""

    def __init__(
        self, settings: BatchSettings | None = None, init: Callable[[], None] | None = None
    ) -> None:
        self._batcher: Batcher[DenseQuery, dict[int, float]] = Batcher(
            _search_many, settings or BatchSettings(), "search-batch", init
        )

    def __call__(self, version: IndexVersion, query: np.ndarray, k: int) -> dict[int, float]:
        """Like `index.search.dense_candidates`, batched with other callers."""
        return self._batcher.submit([(version, query, k)])[0]

    def close(self) -> None:
        """Stop the batching worker."""
        self._batcher.close()


def _search_many(queries: list[DenseQuery]) -> list[dict[int, float]]:
    """Group by version (a reload may be under way) and search each group at its largest k."""
    out: list[dict[int, float]] = [{} for _ in queries]
    groups: dict[int, list[int]] = {}
    for i, (version, _, _) in enumerate(queries):
        groups.setdefault(id(version), []).append(i)
    for members in groups.values():
        version = queries[members[0]][0]
        k = min(max(queries[i][2] for i in members), version.dense.ntotal)
        if k <= 0:
            continue
        matrix = np.stack([queries[i][1] for i in members]).astype(np.float32)
        scores, ids = version.dense.search(matrix, k)
        for row, i in enumerate(members):
            want = queries[i][2]
            out[i] = {
                int(c): float(s)
                for c, s in zip(ids[row][:want], scores[row][:want], strict=True)
                if c >= 0
            }
    return out
