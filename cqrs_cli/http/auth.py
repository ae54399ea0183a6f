"""Who is asking: a token (a header or the page's cookie), or an Odoo sign-in's session.

Every request is checked against the file: a token revoked, expired, or whose user was
archived since (by a sync in another process) is refused from the next request on.
Secrets are compared by their hash (`store/tokens.py`) and never logged or echoed.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

from fastapi import HTTPException, Request

from cqrs_cli.app.answers.users import UserRef
from cqrs_cli.app.read_model import ReadModel
from cqrs_cli.app.tokens import now_iso
from cqrs_cli.http.limits import SignInLimit
from cqrs_cli.http.readers import Readers

TOKEN_COOKIE = "cqrs_token"
SESSION_COOKIE = "cqrs_session"
SESSION_SECONDS = 12 * 3600
UNAUTHORIZED = "sign in first: send a valid token as `Authorization: Bearer TOKEN`"


class Sessions:
    """Odoo sign-ins: a random id (the cookie) → the user it maps to, in memory only, so
    a restart signs everyone out and the file never holds a session."""

    def __init__(self, seconds: float = SESSION_SECONDS) -> None:
        self.seconds = seconds
        self._found: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def start(self, user_id: int) -> str:
        sid = secrets.token_urlsafe(32)
        with self._lock:
            now = time.monotonic()
            self._found = {k: v for k, v in self._found.items() if v[1] > now}
            self._found[sid] = (user_id, now + self.seconds)
        return sid

    def user_id(self, sid: str) -> int | None:
        with self._lock:
            found = self._found.get(sid)
        if found is None or found[1] <= time.monotonic():
            return None
        return found[0]

    def end(self, sid: str) -> None:
        with self._lock:
            self._found.pop(sid, None)


@dataclass
class OdooSignIn:
    url: str
    database: str
    timeout: float = 10.0


@dataclass
class Serving:
    """What the app's handlers share (`app.state.serving`)."""

    readers: Readers
    odoo: OdooSignIn | None = None
    sessions: Sessions = field(default_factory=Sessions)
    limit: SignInLimit = field(default_factory=SignInLimit)


def serving(request: Request) -> Serving:
    found: Serving = request.app.state.serving
    return found


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else ""


def caller(request: Request) -> UserRef | None:
    """The user this request answers as, or None. Call it in the thread that then asks
    the model (`asking`): a thread's model is never handed to another thread, where it
    would be used beside its own thread's questions."""
    state = serving(request)
    model = state.readers.get()
    secret = bearer(request)
    if secret is None:
        secret = request.cookies.get(TOKEN_COOKIE)
    if secret is not None:
        return model.token_holder(secret, now_iso()) if secret else None
    sid = request.cookies.get(SESSION_COOKIE)
    if sid and state.odoo is not None:
        user_id = state.sessions.user_id(sid)
        if user_id is not None:
            return model.active_user(user_id)
    return None


def asking(request: Request) -> tuple[UserRef, ReadModel]:
    """The caller (else 401) and this thread's read model, to ask as them."""
    user = caller(request)
    if user is None:
        raise HTTPException(401, UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
    return user, serving(request).readers.get()
