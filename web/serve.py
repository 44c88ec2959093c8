"""`stemcell-qa serve`: the web app under uvicorn, with the background refresh when asked."""

from __future__ import annotations

import json
import logging
import multiprocessing
import multiprocessing.process
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from assistant.settings import Settings
from index.embed import Embedder
from web.app import create_app

if TYPE_CHECKING:  # a server that only serves never loads the fetch and build machinery
    from index.refresh import RefreshPlan

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
log = logging.getLogger("stemcell_qa.serve")


def refresh_plan(
    settings: Settings, docs: list[Path], use_sources: bool, watch: bool
) -> RefreshPlan | None:
    """The background job for these flags: None when serve only serves (no `--docs`,
    no `--watch`, no `--refresh-every`)."""
    if settings.refresh_every is None and not watch and not docs:
        return None
    from corpus.sources import default_manifest, load_manifest
    from index.build import BuildSettings
    from index.refresh import RefreshPlan

    manifest = settings.sources or default_manifest()
    if use_sources:
        load_manifest(manifest)  # a broken manifest stops serve at once; rebuilds read it again
    return RefreshPlan(
        index_dir=settings.index_dir,
        manifest=manifest if use_sources else None,
        data_dir=settings.data_dir if use_sources else None,
        docs=tuple(docs),
        every=settings.refresh_every,
        watch=watch,
        fetch=settings.fetch_settings(),
        build=BuildSettings(ann=settings.ann),
        nice=settings.build_nice,
    )


def run(
    settings: Settings,
    embedder: Callable[[], Embedder],
    plan: RefreshPlan | None,
    allow_empty: bool,
) -> None:
    """Serve until interrupted. One process (`settings.workers` 1): the app and any
    background rebuilds share one loaded model. Several: see `serve_workers`."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    if settings.workers > 1:
        serve_workers(settings, embedder, plan, allow_empty)
        return
    model = embedder()
    app = create_app(settings, embedder=model, allow_empty=allow_empty, refresh=plan)
    uvicorn.run(app, host=settings.host, port=settings.port, **UVICORN)


# uvicorn's access log would print query strings (GET /ask?q=...): our middleware logs
# method, path, status and time instead, and question text only when opted in.
UVICORN: dict[str, Any] = {
    "log_level": "info",
    "access_log": False,
    "proxy_headers": False,
    "server_header": False,
}
# A worker that dies this soon after it started failed to start (a broken index, a port
# taken): restarting it would only fail again, so the whole server stops instead.
START_GRACE_S = 15.0


def serve_workers(
    settings: Settings,
    embedder: Callable[[], Embedder],
    plan: RefreshPlan | None,
    allow_empty: bool,
) -> None:
    """`settings.workers` processes, each with its own socket on the port (SO_REUSEPORT, so
    the kernel spreads connections over them: on one shared socket, one process accepted all
    16 connections of bench/concurrency.py while the other idled), its own index copy and
    query encoder. Rebuilds run here, in this parent, and publish versions that the workers
    pick up like any other. A worker that dies is replaced; one that fails at start stops
    the server (exit 1). SIGINT/SIGTERM stop the workers, then the parent."""
    _check_port_free(settings.host, settings.port)
    background = None
    if plan is not None:
        from index.onnx import OnDemand, build_embedder, export, for_builds
        from index.refresh import Refresher

        # this process never answers: it loads what builds embed with (the index's export,
        # else the model) only when a rebuild has texts to embed (the workers load their
        # own query encoders)
        builds = build_embedder(settings.index_dir, lambda: for_builds(embedder()))
        torch_model = OnDemand(embedder)  # loaded only if an export has to be made
        background = Refresher(
            plan, builds, lambda index_dir: export(index_dir, torch_model.model())
        )
        background.start()
    handed = json.dumps(
        {
            "settings": settings.model_dump(mode="json"),
            "allow_empty": allow_empty or plan is not None,  # the rebuild here publishes one
        }
    )
    context = multiprocessing.get_context("spawn")  # no fork of a process with threads
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in STOP_SIGNALS}

    def start(number: int) -> tuple[multiprocessing.process.BaseProcess, float]:
        process = context.Process(
            target=_worker_main, args=(handed,), name=f"stemcell-qa-worker-{number}"
        )
        process.start()
        return process, time.monotonic()

    workers = [start(n) for n in range(settings.workers)]
    log.info("serving on http://%s:%d with %d workers", settings.host, settings.port, len(workers))
    failed = None
    try:
        while not stop.wait(0.5):
            for number, (process, began) in enumerate(workers):
                if process.is_alive():
                    continue
                if time.monotonic() - began < START_GRACE_S:
                    failed = f"worker {number} exited at start (code {process.exitcode})"
                    stop.set()
                    break
                log.warning(
                    "worker %d exited (code %s); starting another", number, process.exitcode
                )
                workers[number] = start(number)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for process, _ in workers:
            if process.is_alive():
                process.terminate()  # uvicorn finishes requests in flight, then exits
        for process, _ in workers:
            process.join(20)
            if process.is_alive():
                process.kill()
        if background is not None:
            background.stop()
    if failed:
        raise SystemExit(f"error: {failed}; see its log lines above")


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _check_port_free(host: str, port: int) -> None:
    """Fail with one line when something already listens there: SO_REUSEPORT would let the
    workers quietly share the port with another server started the same way."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise SystemExit(f"error: cannot listen on {host}:{port} ({exc.strerror})") from None


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _worker_main(handed: str) -> None:
    """One worker process (started afresh by multiprocessing, `handed` the parent's settings
    as JSON): its own SO_REUSEPORT socket, the app, uvicorn."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    given = json.loads(handed)
    settings = Settings(**given["settings"])
    sock = worker_socket(settings.host, settings.port)
    config = uvicorn.Config(worker_app(settings, bool(given["allow_empty"])), **UVICORN)
    uvicorn.Server(config).run(sockets=[sock])


def worker_socket(host: str, port: int) -> socket.socket:
    """A worker's own socket on the shared port. TCP_NODELAY is set here because connections
    accepted on a socket handed to uvicorn keep the listener's options: without it, a lone
    client waited ~44 ms a request (Nagle's algorithm meeting delayed ACKs)."""
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    return sock


def worker_app(settings: Settings, allow_empty: bool) -> FastAPI:
    """The app of one worker process of `serve --workers N`: it loads its own query encoder
    (as `create_app` does when given none)."""
    return create_app(settings, allow_empty=allow_empty)
