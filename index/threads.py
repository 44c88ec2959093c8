"""The one place that decides how many threads the model and FAISS use when serving.

A server answers many questions at once, but the batching queue (index/batching.py) makes
exactly one model call at a time; the request threads meanwhile score candidates in numpy.
One torch thread leaves the second core to them, and keeps a query's encode fast when other
work shares the machine. Measured here with a build running beside the server (load average
~5 on 2 cores), one short question: one torch thread 12-16 ms p50; two threads 22-480 ms p50,
with p95 up to 2.6 s. FAISS's OpenMP count is set first and torch's after it: set the other
way round (as before), torch then reported one thread yet its encodes took 0.05-2.6 s.
OpenMP keeps its thread count per thread: a worker thread that never ran torch starts at
every core, so FAISS searched with two threads in the batching worker (17-22 ms instead of
0.8 ms at 11,625 chunks under load); `apply_in_thread` sets the counts in each worker.
bench/ measures the arrangement (`STEMCELL_QA_THREADS`, default 1).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading

log = logging.getLogger("stemcell_qa.threads")


def configure_serving(threads: int = 1) -> dict[str, int]:
    """Set torch and FAISS thread counts for a serving process; 0 means every core.

    torch is configured only when it is loaded: a server whose query encoder is ONNX
    (index/onnx.py, given the same count) never imports it."""
    import faiss

    cores = threads or os.cpu_count() or 1
    # FAISS first: setting its OpenMP count after torch's disturbed torch's (see above)
    faiss.omp_set_num_threads(1)
    chosen = {"torch": 0, "faiss": faiss.omp_get_max_threads()}
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(cores)
        # one model call at a time: no inter-op parallelism; a process that already ran
        # torch work (the test suite) cannot change it any more
        with contextlib.suppress(RuntimeError):
            torch.set_num_interop_threads(1)
        chosen["torch"] = torch.get_num_threads()
    torch_threads = chosen["torch"] or "not loaded"
    log.info("threads: torch %s, faiss %d", torch_threads, chosen["faiss"])
    return chosen


def apply_in_thread(chosen: dict[str, int]) -> None:
    """Set the counts `configure_serving` chose in the calling thread (OpenMP's count is
    per thread); run first thing in every worker thread that calls torch or FAISS."""
    import faiss

    faiss.omp_set_num_threads(chosen["faiss"])
    torch = sys.modules.get("torch")
    if torch is not None and chosen["torch"]:
        torch.set_num_threads(chosen["torch"])


def lower_priority(steps: int, thread_only: bool = False) -> None:
    """Lower the CPU priority of this process (or, on Linux, of the calling thread and the
    threads it starts later) by `steps` nice levels, so a build yields the cores to a server
    answering beside it; a no-op for 0 or where the system refuses."""
    if steps <= 0:
        return
    try:
        if thread_only:
            target = threading.get_native_id()  # Linux: a thread's own priority
            os.setpriority(os.PRIO_PROCESS, target, os.getpriority(os.PRIO_PROCESS, target) + steps)
        else:
            os.nice(steps)
    except (AttributeError, OSError) as exc:
        log.info("build priority unchanged (%s)", exc)
