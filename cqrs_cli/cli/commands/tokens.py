"""`cqrs tokens create | list | revoke`: who may ask `cqrs serve`, as whom (docs/serve.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from cqrs_cli.cli.context import AS_HELP, FORMAT_HELP, info, state

if TYPE_CHECKING:
    from cqrs_cli.app.tokens import TokenInfo

app = typer.Typer(
    help="Tokens for `cqrs serve`: each answers as one user (docs/serve.md).",
    no_args_is_help=True,
)

COLUMNS = ["id", "user", "label", "state", "created_at", "expires_at", "revoked_at"]


def _row(token: TokenInfo) -> dict[str, Any]:
    return {
        "id": token.id,
        "user": token.user.login if token.user else None,
        "label": token.label,
        "state": token.state,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
    }


@app.command("create")
def create(
    ctx: typer.Context,
    as_user: Annotated[str, typer.Option("--as", help=AS_HELP)],
    expires: Annotated[
        str,
        typer.Option(
            "--expires", help="Valid for this long (12h, 30d, 2w; at most ten years) or never."
        ),
    ] = "90d",
    name: Annotated[
        str | None, typer.Option("--name", help="A label to tell tokens apart by.")
    ] = None,
) -> None:
    """Make a token that answers as USER; print it once (only its hash is kept)."""
    from cqrs_cli.app.tokens import create_token, parse_duration
    from cqrs_cli.cli.terminal import out, shown

    made = create_token(state(ctx).db, as_user, expires=parse_duration(expires), label=name)
    user = made.info.user
    assert user is not None
    info(
        ctx,
        f"Token {made.info.id} for {shown(user.login)}"
        + (f", valid until {made.info.expires_at}" if made.info.expires_at else ", no expiry")
        + ". It is shown only now: keep it somewhere safe.",
    )
    out(made.secret)


@app.command("list")
def list_(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "table",
) -> None:
    """Every token, with its user and state (never a secret)."""
    from cqrs_cli.app.tokens import list_tokens
    from cqrs_cli.cli.output import check_format, emit_rows

    check_format(fmt)
    found = list_tokens(state(ctx).db)
    emit_rows([_row(t) for t in found], COLUMNS, fmt, title="tokens", json_value=found)


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    token_id: Annotated[int, typer.Argument(help="The token's id (`cqrs tokens list`).")],
) -> None:
    """Revoke a token: the server refuses it from its next request."""
    from cqrs_cli.app.tokens import revoke_token

    done = revoke_token(state(ctx).db, token_id)
    info(ctx, f"Token {done.id} revoked.")
