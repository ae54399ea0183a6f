"""`cqrs webhooks add | list | remove`: send new events to other systems (docs/webhooks.md)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cqrs_cli.cli.context import AS_HELP, Format, info, open_for
from cqrs_cli.cli.output import check_format, emit_rows
from cqrs_cli.domain.numbers import counted

if TYPE_CHECKING:
    from cqrs_cli.app.answers.users import UserRef
    from cqrs_cli.app.read_model import ReadModel
    from cqrs_cli.bus.delivery import RunReport
    from cqrs_cli.bus.webhooks.registry import Webhook
    from cqrs_cli.bus.webhooks.run import DeliveryReport

app = typer.Typer(
    help="Send each new event to other systems as a signed CloudEvent (docs/webhooks.md).",
    no_args_is_help=True,
)

COLUMNS = [
    "id",
    "name",
    "url",
    "types",
    "secret_env",
    "as_user",
    "position",
    "lag",
    "pending",
    "state",
    "failures",
    "error",
    "created_at",
]
# A terminal is narrow: the table keeps what tells a webhook's health; csv and json say all.
TABLE_COLUMNS = ["id", "name", "url", "types", "as_user", "state", "pending", "error"]
# How long `remove` waits for a delivery under way (bounded by its budget) to finish.
REMOVE_WAIT = 60.0


@app.command("add")
def add(
    ctx: typer.Context,
    url: Annotated[
        str, typer.Argument(help="The http:// or https:// URL each event is POSTed to.")
    ],
    types: Annotated[
        list[str] | None,
        typer.Option(
            "--type",
            help="Send only events of this type, e.g. OdooOpportunityUpdated (repeat for "
            "more); every type by default.",
        ),
    ] = None,
    secret_env: Annotated[
        str | None,
        typer.Option(
            "--secret-env",
            help="The NAME of the environment variable holding the HMAC-SHA256 signing key; "
            "read at each delivery, never stored in the file.",
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="A label to tell webhooks apart by.")
    ] = None,
    max_attempts: Annotated[
        int,
        typer.Option(
            "--max-attempts",
            min=1,
            max=100,
            help="Failed attempts at one event before it becomes a dead letter and the "
            "webhook pauses there.",
        ),
    ] = 5,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, max=600, help="Seconds one request may take.")
    ] = 10.0,
    as_user: Annotated[
        str | None,
        typer.Option(
            "--as",
            metavar="USER",
            help="Send only events USER could see: about an opportunity USER could see just "
            "before or just after the event (a reassignment away is sent, then nothing more "
            "about it), about an account of such an opportunity; about users and the "
            f"organisation only while USER is a sales administrator. {AS_HELP}",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="Also print the new webhook as data on stdout in this format: table, json, "
            "csv or any tabulate format.",
        ),
    ] = None,
) -> None:
    """Add a webhook. It starts at the log's head: it gets the events appended from now on."""
    from cqrs_cli.bus.webhooks.registry import Webhooks, check_env_name, check_types, check_url

    fmt = None if fmt is None else check_format(fmt)
    check_url(url)
    wanted = check_types(types or [])
    if secret_env is not None:
        check_env_name(secret_env)
    with open_for(ctx, write=True, create=False) as store:
        user = None
        if as_user is not None:
            from cqrs_cli.app.read_model import ReadModel

            user = ReadModel(store, behind="catch_up").user(as_user)
        webhook, head = Webhooks(store).add(
            url,
            types=wanted,
            secret_env=secret_env,
            name=name,
            max_attempts=max_attempts,
            timeout=timeout,
            as_user=None if user is None else user.id,
        )
        rows = [_row(webhook, head, head, 0, None, user)]
    already = (
        f", not the {head} already in the log"
        if head
        else " (the log is empty: the first sync sends the whole CRM)"
    )
    info(
        ctx,
        f"Added {webhook.label}. It starts at position {head}: it gets the events appended "
        f"from now on{already}, delivered after each sync.",
    )
    if user is not None:
        info(
            ctx,
            f"Only the events about what {user.login} could see right before or right after "
            "each one are sent (docs/webhooks.md, 'Who sees what').",
        )
    if secret_env is not None and not os.environ.get(secret_env):
        info(
            ctx,
            f"Warning: {secret_env} is not set here; deliveries to {webhook.label} are "
            "skipped until it is set where `cqrs sync` runs.",
        )
    if fmt is not None:
        _emit(rows, fmt, json_value=rows[0], title="webhook")


@app.command("list")
def list_(
    ctx: typer.Context,
    fmt: Format = None,
) -> None:
    """The webhooks with their checkpoint, lag, pending events and state (no secrets)."""
    from cqrs_cli.app.read_model import ReadModel
    from cqrs_cli.bus.checkpoints import SubscriberCheckpoints
    from cqrs_cli.bus.delivery import pending
    from cqrs_cli.bus.webhooks.registry import Webhooks

    fmt = check_format(fmt)
    with open_for(ctx, write=False) as store:
        head = store.log.head()
        checkpoints = SubscriberCheckpoints(store).all()
        people = ReadModel(store, behind="answer")
        rows = []
        for webhook in Webhooks(store).all():
            checkpoint = checkpoints.get(webhook.subscriber)
            position = checkpoint.position if checkpoint else 0
            waiting = pending(store, webhook.types, position, head)
            user = None if webhook.as_user is None else _user(people, webhook.as_user)
            rows.append(_row(webhook, head, position, waiting, checkpoint, user))
            if webhook.secret_env and not os.environ.get(webhook.secret_env):
                info(ctx, f"Warning: {webhook.label} needs {webhook.secret_env}, not set here")
    _emit(rows, fmt, json_value=rows, title="webhooks")


def _user(people: ReadModel, user_id: int) -> UserRef:
    from cqrs_cli.app.answers.users import UserRef
    from cqrs_cli.app.read_model import UnknownUser

    try:
        return people.user(user_id)
    except UnknownUser:  # no longer synced: the filter then lets nothing through
        return UserRef(user_id, "(not synced)", None)


def _as(user: dict[str, Any] | None) -> str:
    return "" if user is None else f"{user['login']} ({user['id']})"


def _emit(rows: list[dict[str, Any]], fmt: str, *, json_value: Any, title: str) -> None:
    # Outside JSON, a list of types reads as words, and no list at all as "all".
    flat = [
        {**r, "types": ", ".join(r["types"]) if r["types"] else "all", "as_user": _as(r["as_user"])}
        for r in rows
    ]
    columns = TABLE_COLUMNS if fmt == "table" else COLUMNS
    emit_rows(flat, columns, fmt, json_value=json_value, title=title)


@app.command("remove")
def remove(
    ctx: typer.Context,
    id: Annotated[str, typer.Argument(metavar="ID", help="The webhook's id or name.")],
) -> None:
    """Remove a webhook with its checkpoint and its dead letters."""
    from cqrs_cli.bus.webhooks.registry import Webhooks
    from cqrs_cli.bus.webhooks.run import LOCK
    from cqrs_cli.store.locks import hold

    with open_for(ctx, write=True, create=False) as store:
        webhooks = Webhooks(store)
        webhook = webhooks.find(id)
        # Not under a delivery to it: that one would go on writing its checkpoint.
        with hold(store.path, LOCK, wait=REMOVE_WAIT):
            letters = webhooks.remove(webhook)
    also = f" and its {counted(letters, 'dead letter')}" if letters else ""
    info(ctx, f"Removed {webhook.label}{also}.")


def _row(
    webhook: Webhook,
    head: int,
    position: int,
    waiting: int,
    checkpoint: Any,
    user: UserRef | None,
) -> dict[str, Any]:
    from cqrs_cli.bus.webhooks.registry import redacted

    if checkpoint is not None and checkpoint.paused:
        status = "paused"
    else:
        status = "current" if waiting == 0 else "behind"
    return {
        "id": webhook.id,
        "name": webhook.name,
        "url": redacted(webhook.url),
        "types": sorted(webhook.types) if webhook.types is not None else None,
        "secret_env": webhook.secret_env,
        "as_user": None if user is None else {"id": user.id, "login": user.login},
        "position": position,
        "lag": head - position,
        "pending": waiting,
        "state": status,
        "failures": checkpoint.failures if checkpoint is not None else 0,
        "error": checkpoint.error if checkpoint is not None else None,
        "created_at": webhook.created_at,
    }


def delivery_lines(report: DeliveryReport, *, resumed: bool = False) -> list[str]:
    """One line per webhook that has something to say, for stderr."""
    if report.busy is not None:
        return [f"Webhooks: not delivered now: {report.busy} is delivering them"]
    lines = []
    for entry in report.runs:
        label = entry.webhook.label
        if entry.crashed is not None:
            lines.append(f"Warning: {label}: delivery failed: {entry.crashed}")
        elif entry.skipped is not None:
            lines.append(
                f"Warning: {label} skipped: {entry.skipped}; "
                f"{counted(entry.waiting, 'event')} waiting"
            )
        elif entry.run is not None:
            line = _run_line(label, entry.run, report.budget, resumed)
            if line:
                lines.append(line)
    return lines


def _run_line(label: str, run: RunReport, budget: float, resumed: bool) -> str | None:
    from cqrs_cli.bus.delivery import CAUGHT_UP, OUT_OF_TIME, PAUSED

    delivered = f"delivered {counted(run.delivered, 'event')}"
    at = f"position {run.error_position} ({run.error_type})"
    if run.outcome == CAUGHT_UP:
        if resumed:
            return f"{label}: resumed, {delivered}, caught up"
        return f"{label}: {delivered}" if run.delivered else None
    if run.outcome == OUT_OF_TIME:
        line = (
            f"Warning: {label}: {delivered}, {run.left} left for the next sync "
            f"(the {budget:g} s delivery budget ran out)"
        )
        if run.failures:
            line += f"; {counted(run.failures, 'failed attempt')} at {at} so far: {run.error}"
        return line
    if run.outcome == PAUSED:
        return (
            f"Warning: {label}: {delivered}, then paused at {at} after "
            f"{counted(run.failures, 'failed attempt')}: {run.error}; it is a dead "
            f"letter and {counted(run.left, 'event')} waiting: fix the receiver, then run "
            "`cqrs dead-letters --retry`"
        )
    return (
        f"Warning: {label} is paused at {at}: {run.error}; {counted(run.left, 'event')} waiting: "
        "`cqrs dead-letters --retry` resumes it"
    )
