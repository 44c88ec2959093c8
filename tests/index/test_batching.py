"""The batching queue: concurrent callers share calls, keep their own results and timeouts."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from index.batching import Batcher, BatchingEmbedder, BatchSettings, BatchTimeoutError, arrived
from tests.conftest import FakeEmbedder


def _concurrently(count: int, work):  # type: ignore[no-untyped-def]
    results: list[object] = [None] * count
    start = threading.Barrier(count)

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return results


def test_concurrent_callers_share_calls_and_get_their_own_results() -> None:
    calls: list[list[int]] = []

    def double(items: list[int]) -> list[int]:
        calls.append(items)
        time.sleep(0.01)  # a model call takes a while; others queue meanwhile
        return [2 * i for i in items]

    batcher = Batcher(double, BatchSettings(wait_ms=20, max_items=64), "test")
    results = _concurrently(16, lambda i: batcher.submit([i, 100 + i]))
    batcher.close()
    assert results == [[2 * i, 200 + 2 * i] for i in range(16)]
    assert len(calls) < 16  # merged: fewer calls than callers
    assert sorted(x for call in calls for x in call) == sorted(
        x for i in range(16) for x in (i, 100 + i)
    )


def test_one_bad_input_does_not_lose_the_others_answers() -> None:
    def picky(items: list[int]) -> list[int]:
        if 13 in items:
            raise ValueError("13 is not welcome")
        return items

    batcher = Batcher(picky, BatchSettings(wait_ms=30, max_items=64), "test")
    results = _concurrently(8, lambda i: batcher.submit([13 if i == 3 else i]))
    batcher.close()
    assert isinstance(results[3], ValueError)
    assert [r for i, r in enumerate(results) if i != 3] == [[i] for i in range(8) if i != 3]


def test_a_caller_gives_up_after_its_timeout() -> None:
    release = threading.Event()
    started = threading.Event()

    def stuck(items: list[int]) -> list[int]:
        started.set()
        release.wait(5)
        return items

    batcher = Batcher(stuck, BatchSettings(wait_ms=0, timeout_s=0.1), "test")
    first = threading.Thread(target=batcher.submit, args=([1],))
    first.start()  # nothing else is waiting: runs in its own thread, and sticks
    assert started.wait(5)
    began = time.monotonic()
    with pytest.raises(BatchTimeoutError, match="busy"):
        batcher.submit([2])  # queued behind the stuck call
    assert time.monotonic() - began < 2
    release.set()
    first.join(5)
    batcher.close()


@pytest.mark.parametrize("merge", [False, True])
def test_queued_calls_are_served_oldest_request_first(merge: bool) -> None:
    release = threading.Event()
    started = threading.Event()
    served: list[int] = []

    def call(items: list[int]) -> list[int]:
        if items == [0]:
            started.set()
            release.wait(5)
        served.extend(items)
        return items

    batcher = Batcher(call, BatchSettings(max_items=1, merge=merge), "test")
    first = threading.Thread(target=batcher.submit, args=([0],))
    first.start()  # holds the only lane while the others queue
    assert started.wait(5)

    def ask(item: int, since: float | None) -> None:
        if since is not None:
            arrived.set(since)  # as the web app marks a request's arrival
        batcher.submit([item])

    now = time.monotonic()
    # a new request, one without a mark (counts from its call), and the second call of a
    # request that came in a second ago
    waiting = [(1, now + 60), (2, None), (3, now - 1)]
    threads = [threading.Thread(target=ask, args=job) for job in waiting]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while batcher._waiting < len(waiting) and time.monotonic() < deadline:
        time.sleep(0.01)  # until all three are queued
    release.set()
    for thread in [first, *threads]:
        thread.join(5)
    batcher.close()
    assert served == [0, 3, 2, 1]


def test_a_lone_call_runs_in_the_callers_thread_and_calls_never_overlap() -> None:
    threads: list[str] = []
    inits: list[str] = []
    running = [0]
    overlap = [0]
    lock = threading.Lock()

    def record(items: list[int]) -> list[int]:
        with lock:
            running[0] += 1
            overlap[0] = max(overlap[0], running[0])
        threads.append(threading.current_thread().name)
        time.sleep(0.005)
        with lock:
            running[0] -= 1
        return items

    def init() -> None:
        inits.append(threading.current_thread().name)

    batcher = Batcher(record, BatchSettings(wait_ms=0), "test-worker", init)
    assert batcher.submit([1]) == [1]
    assert threads == [threading.current_thread().name]  # no hand-over when idle
    batcher.submit([2])
    assert inits.count(threading.current_thread().name) == 1  # once per calling thread
    results = _concurrently(12, lambda i: batcher.submit([i]))
    batcher.close()
    assert results == [[i] for i in range(12)]
    assert overlap[0] == 1  # direct and merged calls take turns


def test_two_lanes_run_two_calls_at_once_and_never_more() -> None:
    running = [0]
    most = [0]
    lock = threading.Lock()

    def slow(items: list[int]) -> list[int]:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        return [i + 1 for i in items]

    batcher = Batcher(slow, BatchSettings(lanes=2), "test-lanes")
    results = _concurrently(16, lambda i: batcher.submit([i]))
    batcher.close()
    assert results == [[i + 1] for i in range(16)]
    assert most[0] == 2


def test_batching_embedder_returns_what_the_model_returns() -> None:
    fake = FakeEmbedder()
    embedder = BatchingEmbedder(fake, BatchSettings(wait_ms=10))
    texts = [f"stem cell question number {i}" for i in range(6)]
    results = _concurrently(6, lambda i: embedder.encode([texts[i]]))
    embedder.close()
    for i, vector in enumerate(results):
        assert np.allclose(vector, FakeEmbedder().encode([texts[i]]))  # type: ignore[arg-type]
