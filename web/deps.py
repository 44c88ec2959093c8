"""Typed dependency shortcuts shared by the JSON routes and the pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from assistant.answer import Answerer
from assistant.settings import Settings
from index.live import LiveIndex
from index.store import IndexVersion


async def get_version(request: Request) -> IndexVersion:
    """The index version this request answers from (one reference for the whole request)."""
    version = request.app.state.live.current()
    if version is None:
        live = request.app.state.live
        hint = live.last_error or "no index has been built yet"
        raise HTTPException(
            503,
            f"not ready: {hint}. Build one with `make serve DOCS=PATH` or "
            f"`stemcell-qa build --no-sources --docs PATH --index {live.index_dir}`",
            headers={"Retry-After": "5"},
        )
    return version


async def get_live(request: Request) -> LiveIndex:
    """The process's live index (the version served and the state of its reload checks)."""
    live: LiveIndex = request.app.state.live
    return live


async def get_answerer(request: Request) -> Answerer:
    """The process's answerer (model loaded once in the lifespan)."""
    return request.app.state.answerer


async def get_settings(request: Request) -> Settings:
    """The app's settings."""
    return request.app.state.settings


VersionDep = Annotated[IndexVersion, Depends(get_version)]
LiveDep = Annotated[LiveIndex, Depends(get_live)]
AnswererDep = Annotated[Answerer, Depends(get_answerer)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
