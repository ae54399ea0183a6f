"""`/api/v2/...`: the questions of the read model as JSON, answered as the caller.

Each endpoint parses, makes one call to the read model, and writes the answer with
orjson: the same typed answers, so the same JSON, as the commands (`--format json`).
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError

from cqrs_cli.app.answers.opportunities import Opportunity, OpportunityFilter
from cqrs_cli.app.answers.people import Profile
from cqrs_cli.app.answers.users import UserRef
from cqrs_cli.app.read_model import ReadModel, UnknownUser, resolve_user
from cqrs_cli.domain.access import ADMINISTRATOR
from cqrs_cli.http.auth import asking

router = APIRouter(prefix="/api/v2", tags=["api"])
NOT_FOUND_OPPORTUNITY = "no opportunity with this id that you may see"
NOT_FOUND_USER = "no user you may see matches the parameter user"
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000  # items a page of /opportunities holds


class JSONAnswer(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def profile_of(found: ReadModel, user_id: int) -> Profile:
    for p in found.profiles().items:
        if p.id == user_id:
            return p
    raise HTTPException(404, NOT_FOUND_USER)


def is_admin(found: ReadModel, user: UserRef) -> bool:
    return profile_of(found, user.id).access == ADMINISTRATOR


def visible(found: ReadModel, user: UserRef, opportunity_id: int) -> Opportunity:
    """The opportunity when `user` may see it, else 404, the same whether it exists or
    not (never saying that it does)."""
    item = None
    if -(2**63) <= opportunity_id < 2**63:  # beyond SQLite's integers: no such id
        item = found.opportunity(user.id, opportunity_id)
    if item is None:
        raise HTTPException(404, NOT_FOUND_OPPORTUNITY)
    return item


@router.get("/dashboard", response_class=JSONAnswer, summary="Pipeline figures: own and team")
def dashboard(request: Request) -> JSONAnswer:
    user, found = asking(request)
    return JSONAnswer(found.metrics(user.id))


@router.get("/opportunities", response_class=JSONAnswer, summary="What the caller can see")
def opportunities(
    request: Request,
    status: Annotated[Literal["open", "won", "lost"] | None, Query()] = None,
    stage: Annotated[str | None, Query(max_length=200, description="name or id")] = None,
    search: Annotated[
        str | None, Query(max_length=200, description="in the name or account")
    ] = None,
    salesperson: Annotated[
        str | None, Query(min_length=1, max_length=200, description="a user, as --as")
    ] = None,
    team: Annotated[str | None, Query(max_length=200, description="name or id")] = None,
    sort: Annotated[str | None, Query(max_length=40, description="FIELD or FIELD:desc")] = None,
    limit: Annotated[int, Query(ge=0, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JSONAnswer:
    user, found = asking(request)
    filters = OpportunityFilter(status, stage, search, salesperson, team, sort, limit, offset)
    try:
        answer = found.opportunities(user.id, filters)
    except UnknownUser:
        # Its message lists the users there are: not for a caller who may not see them.
        raise RequestValidationError(
            [{"loc": ("query", "salesperson"), "msg": "no such user", "type": "value_error"}]
        ) from None
    return JSONAnswer({"items": answer.items, "total": answer.total})


@router.get(
    "/opportunities/{opportunity_id}",
    response_class=JSONAnswer,
    summary="One opportunity the caller can see (404 otherwise)",
)
def opportunity(request: Request, opportunity_id: int) -> JSONAnswer:
    user, found = asking(request)
    return JSONAnswer(visible(found, user, opportunity_id))


@router.get(
    "/opportunities/{opportunity_id}/history",
    response_class=JSONAnswer,
    summary="One opportunity's timeline, oldest first (404 when the caller may not see it)",
)
def opportunity_history(request: Request, opportunity_id: int) -> JSONAnswer:
    user, found = asking(request)
    visible(found, user, opportunity_id)
    return JSONAnswer(found.history(str(opportunity_id)))


@router.get(
    "/changes", response_class=JSONAnswer, summary="What changed in what the caller can see"
)
def changes(
    request: Request,
    since: Annotated[
        str, Query(min_length=1, max_length=64, description="#POSITION, an ISO date, or 7d")
    ],
    until: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> JSONAnswer:
    user, found = asking(request)
    return JSONAnswer(found.changes(user.id, since, until))


@router.get("/users/profile", response_class=JSONAnswer, summary="The caller, or someone below")
def profile(
    request: Request,
    who: Annotated[str | None, Query(alias="user", min_length=1, max_length=200)] = None,
) -> JSONAnswer:
    user, found = asking(request)
    everyone = found.profiles().items
    me = next((p for p in everyone if p.id == user.id), None)
    if me is None:
        raise HTTPException(404, NOT_FOUND_USER)
    if who is None:
        return JSONAnswer(me)
    allowed = (
        {p.id for p in everyone} if me.access == ADMINISTRATOR else {me.id, *me.all_subordinates}
    )
    # Named among those the caller may see only: an error never tells who else exists.
    mine = [UserRef(p.id, p.login, p.name) for p in everyone if p.id in allowed]
    try:
        target = resolve_user(mine, who)
    except UnknownUser:
        raise HTTPException(404, NOT_FOUND_USER) from None
    return JSONAnswer(next(p for p in everyone if p.id == target.id))


@router.get("/users/hierarchy", response_class=JSONAnswer, summary="The caller's org chart")
def hierarchy(request: Request) -> JSONAnswer:
    user, found = asking(request)
    return JSONAnswer(found.hierarchy(None if is_admin(found, user) else user.id))


@router.get("/status", response_class=JSONAnswer, summary="The file's state (administrators)")
def status(request: Request) -> JSONAnswer:
    user, found = asking(request)
    if not is_admin(found, user):
        raise HTTPException(403, "administrators only")
    answer = found.status()
    # A lock's command line may name the file's path: not for a response.
    locks = tuple(dataclasses.replace(lock, command=None, host=None) for lock in answer.locks)
    return JSONAnswer(dataclasses.replace(answer, locks=locks))
