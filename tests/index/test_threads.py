"""Build priority: a build yields the CPU to a server answering beside it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

from index.threads import lower_priority


def test_a_thread_lowers_its_own_priority_and_the_threads_it_starts_inherit_it() -> None:
    seen: dict[str, int] = {}

    def child() -> None:
        seen["child"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    def rebuild() -> None:
        lower_priority(5, thread_only=True)
        seen["rebuild"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        started = threading.Thread(target=child)
        started.start()
        started.join()

    process_before = os.getpriority(os.PRIO_PROCESS, 0)
    worker = threading.Thread(target=rebuild)
    worker.start()
    worker.join()
    assert seen == {"rebuild": process_before + 5, "child": process_before + 5}
    assert os.getpriority(os.PRIO_PROCESS, 0) == process_before  # the server's own threads


def test_a_process_lowers_its_priority_and_zero_leaves_it() -> None:
    code = (
        "import os; from index.threads import lower_priority; before = os.nice(0); "
        "lower_priority(0); same = os.nice(0); lower_priority(3); print(before, same, os.nice(0))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    before, same, after = map(int, done.stdout.split())
    assert same == before and after == min(before + 3, 19)
