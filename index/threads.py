"""The one place that decides how many threads the model and FAISS use when serving.

A server answers many questions at once, but the batching queue (index/batching.py) makes
exactly one model call at a time, so that call may use every core; FAISS searches a small
batch of queries and is kept to one thread so its OpenMP workers never spin against torch's.
Measured before batching existed: two torch threads per request under contention pushed p95
from ~20 ms to ~500 ms; bench/concurrency.py measures the current arrangement.
"""

from __future__ import annotations

import contextlib
import logging
import os

log = logging.getLogger("stemcell_qa.threads")


def configure_serving(threads: int = 0) -> dict[str, int]:
    """Set torch and FAISS thread counts for a serving process; 0 means every core."""
    import faiss
    import torch

    cores = threads or os.cpu_count() or 1
    torch.set_num_threads(cores)
    # one model call at a time: no inter-op parallelism; a process that already ran torch
    # work (the test suite) cannot change it any more
    with contextlib.suppress(RuntimeError):
        torch.set_num_interop_threads(1)
    faiss.omp_set_num_threads(1)
    chosen = {"torch": torch.get_num_threads(), "faiss": 1}
    log.info("threads: torch %d, faiss %d", chosen["torch"], chosen["faiss"])
    return chosen
