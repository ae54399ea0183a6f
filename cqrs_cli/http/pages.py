"""The dashboard pages: server-rendered HTML (Jinja2, autoescaped), no script at all.

Signing in puts the token (or an Odoo sign-in's session id) in an HttpOnly,
SameSite=Strict cookie; every page then asks the read model as that user, like the API.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

import jinja2
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from cqrs_cli.app.answers.metrics import Figures
from cqrs_cli.app.answers.opportunities import OpportunityFilter
from cqrs_cli.app.answers.users import UserRef
from cqrs_cli.app.read_model import ReadModel
from cqrs_cli.app.tokens import now_iso
from cqrs_cli.http.api import is_admin, visible
from cqrs_cli.http.auth import SESSION_COOKIE, TOKEN_COOKIE, Serving, caller, serving

log = logging.getLogger("cqrs.serve")
router = APIRouter(include_in_schema=False)
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,  # names and stages come from Odoo: shown, never obeyed
)
_env.filters["money"] = lambda v: "" if v is None else f"{v:,.0f}"
_env.filters["shown"] = lambda v: _shown(v)
templates = Jinja2Templates(env=_env)


def _shown(value: Any) -> str:
    """A history field's value as a person reads it: a reference by its name."""
    if value is None:
        return "(none)"
    if isinstance(value, dict):
        return str(value.get("name") or value.get("login") or value.get("id"))
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


LIST_LIMIT = 200  # rows a page lists; the API pages through the rest
MAX_FORM = 8192
FAILED = "Sign-in failed."
TOO_MANY = "Too many failed sign-ins: try again in {} s."


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    value: float
    y: int
    width: float


def bars(figures: Figures | None) -> list[Bar]:
    """The by-stage chart's bars (an inline SVG: the page needs no script)."""
    if figures is None:
        return []
    rows = figures["by_stage"]
    top = max((r["value"] for r in rows), default=0.0) or 1.0
    return [
        Bar(
            r["stage"] or "(no stage)",
            r["count"],
            r["value"],
            28 * i,
            100 * max(r["value"], 0) / top,
        )
        for i, r in enumerate(rows)
    ]


def _page(
    request: Request, name: str, found: ReadModel | None, code: int = 200, **values: Any
) -> HTMLResponse:
    footer = None if found is None else found.freshness()
    return templates.TemplateResponse(
        request,
        name,
        {"freshness": footer, "odoo": serving(request).odoo is not None, **values},
        status_code=code,
    )


def _signed_in(request: Request) -> tuple[UserRef, ReadModel] | None:
    user = caller(request)
    return None if user is None else (user, serving(request).readers.get())


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request,
    scope: Annotated[Literal["own", "team"], Query()] = "own",
    status: Annotated[Literal["open", "won", "lost", ""], Query()] = "",
    stage: Annotated[str, Query(max_length=200)] = "",
    search: Annotated[str, Query(max_length=200)] = "",
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    found = _signed_in(request)
    if found is None:
        return _page(request, "sign_in.html", None)
    user, model = found
    metrics = model.metrics(user.id)
    figures = metrics.team if scope == "team" and metrics.team is not None else metrics.own
    filters = OpportunityFilter(
        status or None, stage or None, search or None, limit=LIST_LIMIT, offset=offset
    )
    listed = model.opportunities(user.id, filters)
    return _page(
        request,
        "dashboard.html",
        model,
        user=user,
        metrics=metrics,
        scope="team" if figures is metrics.team and metrics.team is not None else "own",
        figures=figures,
        bars=bars(figures),
        items=listed.items,
        total=listed.total,
        offset=offset,
        more=offset + len(listed.items) < listed.total,
        limit=LIST_LIMIT,
        status=status,
        stage=stage,
        search=search,
    )


@router.get("/opportunities/{opportunity_id}", response_class=HTMLResponse)
def opportunity_page(request: Request, opportunity_id: int) -> Response:
    found = _signed_in(request)
    if found is None:
        return RedirectResponse("/", status_code=303)
    user, model = found
    item = visible(model, user, opportunity_id)
    history = model.history(str(opportunity_id))
    return _page(request, "opportunity.html", model, user=user, item=item, history=history)


@router.get("/hierarchy", response_class=HTMLResponse)
def hierarchy_page(request: Request) -> Response:
    found = _signed_in(request)
    if found is None:
        return RedirectResponse("/", status_code=303)
    user, model = found
    chart = model.hierarchy(None if is_admin(model, user) else user.id)
    return _page(request, "hierarchy.html", model, user=user, chart=chart)


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM:
        raise HTTPException(413, "the form is too large")
    fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
    return {k: v[0] for k, v in fields.items() if v}


def _cookie(request: Request, response: Response, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


# Each in one worker thread, with that thread's own model.
def _token_user(state: Serving, token: str) -> UserRef | None:
    return state.readers.get().token_holder(token, now_iso())


def _odoo_user(state: Serving, login: str, password: str) -> UserRef | None:
    from cqrs_cli.app.sign_in import odoo_user

    assert state.odoo is not None
    odoo = state.odoo
    return odoo_user(state.readers.get(), odoo.url, odoo.database, login, password, odoo.timeout)


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    form = await _form(request)
    state = serving(request)
    client = request.client.host if request.client else ""
    token = form.get("token", "").strip()
    odoo = not token and state.odoo is not None and bool(form.get("login"))
    wait = state.limit.wait(client, odoo=odoo)
    if wait > 0:
        log.warning("sign-in refused: too many failures (%s)", "Odoo" if odoo else client)
        seconds = math.ceil(wait)
        page = _page(request, "sign_in.html", None, code=429, error=TOO_MANY.format(seconds))
        page.headers["Retry-After"] = str(seconds)
        return page
    if token:
        user = await run_in_threadpool(_token_user, state, token)
        if user is not None:
            state.limit.succeeded(client, odoo=False)
            response = RedirectResponse("/", status_code=303)
            _cookie(request, response, TOKEN_COOKIE, token)
            response.delete_cookie(SESSION_COOKIE, path="/")
            return response
    elif odoo and form.get("password"):
        user = await run_in_threadpool(_odoo_user, state, form["login"], form["password"])
        if user is not None:
            state.limit.succeeded(client, odoo=True)
            response = RedirectResponse("/", status_code=303)
            _cookie(request, response, SESSION_COOKIE, state.sessions.start(user.id))
            response.delete_cookie(TOKEN_COOKIE, path="/")
            return response
    state.limit.failed(client, odoo=odoo and bool(form.get("password")))
    return _page(request, "sign_in.html", None, code=401, error=FAILED)


@router.post("/sign-out")
def sign_out(request: Request) -> Response:
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        serving(request).sessions.end(sid)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(TOKEN_COOKIE, path="/")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
