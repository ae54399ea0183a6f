"""The app `cqrs serve` runs: the API, the pages, safe headers and JSON errors.

Safe by default (docs/serve.md, "Security"): every response carries a strict
Content-Security-Policy and no server banner; no CORS unless origins are given; every
error is `{"detail": ...}` (422 naming the parameter), and anything unexpected is logged
here and answered 500 with no traceback, path or internals.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cqrs_cli import __version__
from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError
from cqrs_cli.http import api, pages
from cqrs_cli.http.auth import OdooSignIn, Serving
from cqrs_cli.http.readers import Readers

log = logging.getLogger("cqrs.serve")
HERE = Path(__file__).parent

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# /docs is Swagger UI, served from here (fastapi-offline vendors it): its page starts
# the UI with an inline script, and the UI draws some icons as data: images.
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)
WORKER_THREADS = 8  # threads answering requests, each with its own read-only connection
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


@dataclass(frozen=True)
class ServeOptions:
    path: Path
    odoo: OdooSignIn | None = None  # --auth odoo: sign in with an Odoo login
    cors_origins: Sequence[str] = ()


class SafeHeaders:
    """Adds the security headers to every response (plain ASGI: no per-request task)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = (DOCS_CSP if scope["path"] == "/docs" else CSP).encode()

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                headers += [(b"content-security-policy", policy), *HEADERS]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def _where(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("query", "path", "header", "cookie", "body"):
        kind, rest = parts[0], parts[1:]
        return f"{kind} parameter {'.'.join(rest)}" if rest else kind
    return ".".join(parts) or "the request"


def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {}
    message = f"{_where(first.get('loc', ()))}: {first.get('msg', 'invalid')}"
    return JSONResponse({"detail": message}, status_code=422)


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse(
        {"detail": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None)
    )


def _option_as_parameter(message: str) -> str:
    """The read model speaks the CLI's words (`--status must be ...`); the API names its
    query parameters, as the 422s FastAPI makes do (`query parameter status: ...`)."""
    found = re.match(r"--([a-z][a-z-]*):?\s+(.*)", message, re.DOTALL)
    if found is None:
        return message
    rest = re.sub(r"--([a-z][a-z-]*)", lambda m: m.group(1).replace("-", "_"), found.group(2))
    return f"query parameter {found.group(1).replace('-', '_')}: {rest}"


def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CqrsError)
    if exc.exit_code == EXIT_USAGE:
        return JSONResponse({"detail": _option_as_parameter(exc.message)}, status_code=422)
    # Views paused or behind, a damaged file: the message may name the path. Logged here.
    log.error("cannot answer %s: %s", request.url.path, exc.message)
    return JSONResponse(
        {"detail": "the data cannot be read right now; the server's log says why"},
        status_code=503,
    )


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("error answering %s", request.url.path, exc_info=exc)
    return JSONResponse({"detail": "internal error; the server's log says more"}, status_code=500)


def create_app(options: ServeOptions) -> FastAPI:
    readers = Readers(options.path)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Each worker thread holds a connection and its page cache: a few threads keep
        # the cores busy (SQLite reads release the GIL) without a cache per request.
        anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
        yield
        readers.close()

    app = FastAPIOffline(
        title="cqrs",
        version=__version__,
        description="The Odoo CRM of one cqrs file, as each person may see it.",
        lifespan=lifespan,
        redoc_url=None,
    )
    app.state.serving = Serving(readers, options.odoo)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(CqrsError, _app_error)
    app.add_exception_handler(Exception, _unexpected)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    if options.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(options.cors_origins),
            allow_methods=["GET"],
            allow_headers=["Authorization"],
        )
    app.add_middleware(SafeHeaders)
    return app
