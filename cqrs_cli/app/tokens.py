"""Access tokens for `cqrs serve`: make one for a user, list them, revoke one.

A token answers as its user (docs/serve.md). Its secret is in the `NewToken` returned
by `create_token` and nowhere else: the file keeps only its hash (`store/tokens.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cqrs_cli.app.answers.users import UserRef, Who
from cqrs_cli.app.read_model import ReadModel
from cqrs_cli.domain.durations import EXAMPLES, seconds_in
from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError
from cqrs_cli.store import tokens
from cqrs_cli.store.files import open_store

MAX_LABEL = 100
LONGEST_EXPIRY = timedelta(days=3653)


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as `cqrs tokens list --format json` shows it: never its secret."""

    id: int
    user: UserRef | None  # None: its user is no longer synced
    label: str | None
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    state: str  # active, expired, revoked


@dataclass(frozen=True, slots=True)
class NewToken:
    """A token just made: `secret` is shown once, then exists only with its holder."""

    info: TokenInfo
    secret: str


def parse_duration(text: str) -> timedelta | None:
    """`30d`, `12h`, `2w` (domain/durations.py, at most ten years) as a timedelta;
    `never` as None."""
    if text.strip().lower() == "never":
        return None
    seconds = seconds_in(text)
    if seconds is None or not 0 < seconds <= LONGEST_EXPIRY.total_seconds():
        raise CqrsError(
            f"--expires takes a duration of at most ten years ({EXAMPLES}) or never, got {text!r}",
            exit_code=EXIT_USAGE,
        )
    return timedelta(seconds=seconds)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def now_iso() -> str:
    return iso(datetime.now(UTC))


def _label(label: str | None) -> str | None:
    if label is None:
        return None
    if not label.strip() or len(label) > MAX_LABEL or not label.isprintable():
        raise CqrsError(f"--name takes 1 to {MAX_LABEL} printable characters", exit_code=EXIT_USAGE)
    return label


def _info(row: tokens.TokenRow, users: dict[int, UserRef], now: str) -> TokenInfo:
    state = "revoked" if row.revoked_at else ("active" if row.usable(now) else "expired")
    return TokenInfo(
        row.id,
        users.get(row.user_id),
        row.label,
        row.created_at,
        row.expires_at,
        row.revoked_at,
        state,
    )


def create_token(
    path: Path, who: Who, *, expires: timedelta | None, label: str | None = None
) -> NewToken:
    """A new token for the synced, active user `who`."""
    label = _label(label)
    with open_store(path, write=True, create=False) as store:
        model = ReadModel(store, behind="catch_up")
        user = model.user(who)
        if model.active_user(user.id) is None:
            raise CqrsError(f"{user.login} is archived in Odoo: no token for them")
        created = datetime.now(UTC)
        until = None if expires is None else iso(created + expires)
        secret = tokens.new_secret()
        with store.transaction() as conn:
            token_id = tokens.add(conn, user.id, label, secret, iso(created), until)
            row = tokens.get(conn, token_id)
    assert row is not None
    return NewToken(_info(row, {user.id: user}, iso(created)), secret)


def list_tokens(path: Path) -> tuple[TokenInfo, ...]:
    with open_store(path, write=True, create=False) as store:
        users = {u.id: u for u in ReadModel(store, behind="catch_up").users()}
        now = now_iso()
        return tuple(_info(row, users, now) for row in tokens.listing(store.conn))


def revoke_token(path: Path, token_id: int) -> TokenInfo:
    """Revoke token `token_id` (at once: the server's next request refuses it)."""
    with open_store(path, write=True, create=False) as store:
        with store.transaction() as conn:
            if tokens.get(conn, token_id) is None:
                raise CqrsError(f"no token has the id {token_id}")
            tokens.revoke(conn, token_id, now_iso())
            row = tokens.get(conn, token_id)
        assert row is not None
        users = {u.id: u for u in ReadModel(store, behind="catch_up").users()}
        return _info(row, users, now_iso())
