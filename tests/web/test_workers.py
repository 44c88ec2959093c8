"""`stemcell-qa serve --workers N`: N processes answer on one port, the kernel spreads new
connections over them, and stopping the parent stops them all (real processes, real model)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.common import worker_pids
from bench.load import free_port, serve
from tests.conftest import wait_for
from web.serve import worker_socket

CLI = str(Path(sys.executable).parent / "stemcell-qa")


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def test_two_workers_share_the_port_and_stop_with_the_parent(
    seed_index: Path, tmp_path: Path
) -> None:
    env = {"STEMCELL_QA_WORKERS": "2"}
    with serve(seed_index, tmp_path / "workers.log", env) as server:
        workers = worker_pids(server.process.pid)
        assert len(workers) == 2
        wait_for(lambda: all(_ready(server.url) for _ in range(10)), timeout=60)
        before = {pid: _cpu_ticks(pid) for pid in workers}
        # a fresh connection each: the kernel picks the worker
        statuses = [_ask_fresh(server.url, f"stem cell tumors {n}", 60) for n in range(40)]
        assert [r.status_code for r in statuses] == [200] * 40
        # both answered: each spent well over 50 ms of CPU (an idle worker spends ~none)
        assert all(_cpu_ticks(pid) > before[pid] + 5 for pid in workers)
        parent = server.process
    assert parent.returncode is not None
    assert wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers)) < 15


def _ready(url: str) -> bool:
    try:
        return httpx.get(url + "/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_taken_port_is_one_line_not_a_silent_share(seed_index: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        began = time.monotonic()
        done = _serve_until_it_exits(seed_index, port, timeout=120)
    assert done.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
    assert time.monotonic() - began < 60


def test_worker_sockets_share_the_port_and_send_small_replies_at_once() -> None:
    first = worker_socket("127.0.0.1", 0)
    port = first.getsockname()[1]
    second = worker_socket("127.0.0.1", port)  # a second worker on the same port
    try:
        for sock in (first, second):
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        first.listen()
        with socket.create_connection(("127.0.0.1", port)):
            accepted, _ = first.accept()  # what uvicorn gets: the listener's options
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        first.close()
        second.close()


def test_a_worker_that_cannot_start_stops_the_server_with_one_line(
    seed_index: Path, tmp_path: Path
) -> None:
    damaged = tmp_path / "index"
    shutil.copytree(seed_index, damaged)
    version = damaged / "versions" / (damaged / "CURRENT").read_text().strip()
    # its checksum no longer matches, its size still does: serve's quick check before the
    # workers start (sizes) passes, and the workers find the damage
    chunks = version / "chunks.jsonl"
    chunks.write_bytes(b"x" * chunks.stat().st_size)
    port = free_port()
    done = _serve_until_it_exits(damaged, port, timeout=180)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: worker") and "exited at start" in last
    assert not _workers_left(port)


def _serve_command(index: Path, port: int) -> list[str]:
    return [CLI, "serve", "--index", str(index), "--workers", "2", "--port", str(port)]


def _serve_until_it_exits(
    index: Path, port: int, timeout: float
) -> subprocess.CompletedProcess[str]:
    """`serve --workers 2` run to its end (these tests expect it to stop by itself)."""
    env = {**os.environ, "STEMCELL_QA_RATE_LIMIT": "0"}
    command = _serve_command(index, port)
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)


def _ask_fresh(url: str, question: str, timeout: float) -> httpx.Response:
    """GET /ask on a connection of its own (so the kernel picks a worker for it)."""
    with httpx.Client(base_url=url, timeout=timeout) as client:
        return client.get("/ask", params={"q": question})


def _workers_left(port: int) -> bool:
    """Whether anything still listens on the port."""
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_with_workers_the_parent_rebuilds_and_every_worker_serves_the_change(
    tmp_path: Path,
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    note = docs / "clinic.md"
    note.write_text("# Clinic note\nThe clinic offers knee injections for pain.\n")
    index, port = tmp_path / "index", free_port()
    command = [*_serve_command(index, port), "--no-sources", "--docs", str(docs), "--watch"]
    env = {**os.environ, "STEMCELL_QA_RATE_LIMIT": "0", "STEMCELL_QA_RELOAD_INTERVAL": "0.2"}
    url = f"http://127.0.0.1:{port}"
    changed = "A patient developed a spinal tumour after the injections."
    with (tmp_path / "serve.log").open("wb") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _all_workers_show(url, "knee injections"), timeout=120)
        note.write_text(f"# Clinic note\nThe clinic offers knee injections for pain.\n{changed}\n")
        wait_for(lambda: _all_workers_show(url, changed), timeout=120)
        assert len(worker_pids(server.pid)) == 2
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert server.returncode == 0, (tmp_path / "serve.log").read_text()[-2000:]


def _all_workers_show(url: str, text: str) -> bool:
    """Whether 12 fresh connections (spread over the workers) all get passages holding text."""
    for _ in range(12):
        try:
            response = _ask_fresh(url, "spinal tumour knee injections", 30)
        except httpx.HTTPError:
            return False
        if response.status_code != 200:
            return False
        if not any(text in p["text"] for p in response.json()["passages"]):
            return False
    return True
