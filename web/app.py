"""`create_app(settings)`: wiring only — lifespan loads the model and index once."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.answer import Answerer, AskSettings, QuestionError
from assistant.scorer import Scorer
from assistant.settings import Settings
from index.batching import (
    BatchingEmbedder,
    BatchingSearch,
    BatchSettings,
    BatchTimeoutError,
    arrived,
)
from index.embed import Embedder
from index.live import LiveIndex
from index.threads import apply_in_thread, configure_serving
from web import api, pages
from web.guard import GuardMiddleware, RateLimiter

if TYPE_CHECKING:  # loaded only with a refresh plan: a plain server skips fetch and build code
    from index.refresh import RefreshPlan

log = logging.getLogger("stemcell_qa.web")
_HERE = Path(str(resources.files("web")))


class ArrivalMiddleware:
    """Records when each request came in (`index.batching.arrived`): the model-call queue
    serves the oldest request's calls first."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # the lifespan's warm-up is no request
            await self.app(scope, receive, send)
            return
        token = arrived.set(time.monotonic())
        try:
            await self.app(scope, receive, send)
        finally:
            arrived.reset(token)


def create_app(
    settings: Settings,
    embedder: Embedder | None = None,
    allow_empty: bool = False,
    refresh: RefreshPlan | None = None,
) -> FastAPI:
    """The web app; `embedder` may be injected (tests share one loaded model). With a
    `refresh` plan, the lifespan also runs the background rebuilds with the same model."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        model = embedder
        if model is None:
            from index.embed import MiniLMEmbedder
            from index.onnx import query_embedder

            model = query_embedder(
                settings.index_dir, settings.query_encoder, settings.threads, MiniLMEmbedder
            )
        log.info("query encoder: %s", type(model).__name__)
        live = LiveIndex(settings.index_dir, model.model_id, model.dim)
        try:
            live.refresh()
        except Exception as exc:
            waits = allow_empty or refresh is not None  # the background build will publish one
            if not waits or live.last_error:  # broken index: refuse to start
                raise
            if refresh is not None:  # not "run `stemcell-qa build` first": it builds now
                log.info("no index yet in %s: the start-up build publishes one", settings.index_dir)
            else:
                log.warning("starting without an index: %s", exc)
        live.start(settings.reload_interval)
        background = None
        if refresh is not None:
            from index.onnx import for_builds
            from index.refresh import Refresher

            background = Refresher(refresh, for_builds(model), _exporter(model))
            background.start()
        app.state.refresher = background
        undo_logging = _private_logging(settings.log_questions)
        threads = configure_serving(settings.threads)
        batching = BatchSettings(timeout_s=settings.answer_timeout)
        shared = BatchingEmbedder(
            model,
            replace(batching, lanes=settings.encode_lanes),
            init=lambda: apply_in_thread(threads),
        )
        search = BatchingSearch(batching, init=lambda: apply_in_thread(threads))
        app.state.live = live
        app.state.answerer = Answerer(
            shared,
            AskSettings(
                max_question_chars=settings.max_question_chars, max_history=settings.max_history
            ),
            Scorer.load(settings.scorer),
            dense_search=search,
        )
        _warm_up(app.state.answerer, live)
        yield
        if background is not None:
            background.stop()
        live.stop()
        shared.close()
        search.close()
        undo_logging()

    app = FastAPI(
        title="stemcell-qa",
        summary="Answers about stem cell product safety, quoted word for word from sources.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.templates = Jinja2Templates(directory=str(_HERE / "templates"))
    # the page's privacy line must match what the server does (STEMCELL_QA_LOG_QUESTIONS)
    app.state.templates.env.globals["log_questions"] = settings.log_questions
    app.mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)
    limiter = RateLimiter(settings.rate_limit) if settings.rate_limit > 0 else None
    app.add_middleware(
        GuardMiddleware,
        max_body=settings.body_limit,
        limiter=limiter,
        trusted_proxies=settings.trusted_proxies,
        refuse=lambda scope, status, detail, headers: _error_response(
            app, Request(scope), status, detail, headers
        ),
    )
    app.add_middleware(ArrivalMiddleware)  # outermost: the time a request came in
    _errors(app)
    app.openapi = lambda: _openapi(app, settings)  # type: ignore[method-assign]
    return app


def _exporter(model: Embedder) -> Callable[[Path], object] | None:
    """What a background rebuild exports the ONNX query encoders with: the torch model this
    server answers with, when it has no export yet (None otherwise)."""
    from index.embed import MiniLMEmbedder
    from index.onnx import export

    if not isinstance(model, MiniLMEmbedder):
        return None
    return lambda index_dir: export(index_dir, model)


def _openapi(app: FastAPI, settings: Settings) -> dict[str, Any]:
    """The OpenAPI schema with this server's configured limits in `AskRequest`, not the hard
    caps the model enforces whatever the configuration."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, summary=app.summary, routes=app.routes
        )
        ask = schema["components"]["schemas"]["AskRequest"]["properties"]
        ask["question"]["maxLength"] = settings.max_question_chars
        ask["history"]["maxItems"] = settings.max_history
        ask["history"]["items"]["maxLength"] = settings.max_question_chars
        for parameter in schema["paths"]["/ask"]["get"]["parameters"]:
            if parameter["name"] == "q":
                parameter["schema"]["maxLength"] = settings.max_question_chars
        app.openapi_schema = schema
    return app.openapi_schema


# A question with a word no source uses walks every stage, including wordfreq's table (read
# from disk on first use: ~0.8 s here) and the model's first call, before anyone is waiting.
_WARM_UP = "Is this treatment safe for a zebra?"


def _warm_up(answerer: Answerer, live: LiveIndex) -> None:
    """Answer one question before the server reports ready, so the first visitor does not
    pay for first-use loading."""
    version = live.current()
    if version is None:
        return
    try:
        answerer.ask(version, _WARM_UP)
    except Exception:  # a warm-up must never stop the server
        log.exception("warm-up question failed")


class _NoQueryString(logging.Filter):
    """Drops the query string from uvicorn's access log lines (`GET /ask?q=` holds a question)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def _private_logging(log_questions: bool) -> Callable[[], None]:
    """Keep questions out of the server's access log; when questions are opted in, make sure
    their log lines are written somewhere. Returns the undo."""
    access = logging.getLogger("uvicorn.access")
    strip = _NoQueryString()
    access.addFilter(strip)
    questions = logging.getLogger("stemcell_qa.questions")
    handler: logging.Handler | None = None
    if log_questions and not questions.hasHandlers():  # nothing configured: stderr
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        questions.addHandler(handler)
    level = questions.level
    if log_questions and questions.getEffectiveLevel() > logging.INFO:
        questions.setLevel(logging.INFO)

    def undo() -> None:
        access.removeFilter(strip)
        questions.setLevel(level)
        if handler is not None:
            questions.removeHandler(handler)

    return undo


def _wants_html(request: Request) -> bool:
    return request.url.path in ("/",) or (
        "text/html" in request.headers.get("accept", "") and request.url.path not in api.PATHS
    )


# What a person sees on the page for refusals whose JSON detail is written for programs.
_PAGE_TEXT = {
    413: "That was more text than this page accepts at once. Please shorten the question.",
    429: "Too many questions at once. Please wait a minute and try again.",
}


def _error_response(
    app: FastAPI,
    request: Request,
    status: int,
    detail: Any,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The one error shape: an HTML page for the browser's pages, JSON `{"detail"}` otherwise."""
    if _wants_html(request):
        page = _PAGE_TEXT.get(status, detail)
        response: Response = app.state.templates.TemplateResponse(
            request, "error.html", {"status": status, "detail": page}, status_code=status
        )
    else:
        response = JSONResponse({"detail": detail}, status_code=status)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _errors(app: FastAPI) -> None:
    """One place that turns exceptions into responses: JSON for the API, HTML for pages."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        return _error_response(app, request, exc.status_code, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Any:
        errors = [
            {"loc": list(e.get("loc", [])), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return _error_response(app, request, 422, errors)

    @app.exception_handler(QuestionError)
    async def bad_question(request: Request, exc: QuestionError) -> Any:
        return _error_response(app, request, 422, str(exc))

    @app.exception_handler(BatchTimeoutError)
    async def busy(request: Request, exc: BatchTimeoutError) -> Any:
        return _error_response(app, request, 503, str(exc), {"Retry-After": "2"})

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> Any:
        log.exception("unhandled error on %s", request.url.path)
        return JSONResponse({"detail": "internal error; the team has been told"}, status_code=500)
