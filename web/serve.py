"""`stemcell-qa serve`: the web app under uvicorn, with the background refresh when asked."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.settings import Settings
from index.embed import Embedder
from web.app import create_app

if TYPE_CHECKING:  # a server that only serves never loads the fetch and build machinery
    from index.refresh import RefreshPlan


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

    sources = load_manifest(settings.sources or default_manifest()) if use_sources else []
    return RefreshPlan(
        index_dir=settings.index_dir,
        sources=tuple(sources),
        data_dir=settings.data_dir if use_sources else None,
        docs=tuple(docs),
        every=settings.refresh_every,
        watch=watch,
        fetch=settings.fetch_settings(),
        build=BuildSettings(ann=settings.ann),
    )


def run(
    settings: Settings, embedder: Embedder, plan: RefreshPlan | None, allow_empty: bool
) -> None:
    """Serve until interrupted; background rebuilds share the loaded `embedder`."""
    import uvicorn

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = create_app(settings, embedder=embedder, allow_empty=allow_empty, refresh=plan)
    # uvicorn's access log would print query strings (GET /ask?q=...): our middleware logs
    # method, path, status and time instead, and question text only when opted in.
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )
