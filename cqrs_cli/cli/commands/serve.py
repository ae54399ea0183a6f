"""`cqrs serve`: the query API and the dashboard page over HTTP (docs/serve.md)."""

from __future__ import annotations

import ipaddress
import socket
from enum import StrEnum
from typing import Annotated

import typer

from cqrs_cli.cli.context import info, read_model, state
from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError


class Auth(StrEnum):
    token = "token"
    odoo = "odoo"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option("--host", help="The address to listen on (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="The port (0: any free port).")
    ] = 8000,
    auth: Annotated[
        Auth,
        typer.Option(
            "--auth",
            help="token: tokens only (`cqrs tokens create`); odoo: people may also sign in "
            "on the page with their own Odoo login and password.",
        ),
    ] = Auth.token,
    odoo_url: Annotated[
        str | None, typer.Option("--odoo-url", help="Odoo's URL, for --auth odoo.")
    ] = None,
    odoo_db: Annotated[
        str | None, typer.Option("--odoo-db", help="Odoo's database, for --auth odoo.")
    ] = None,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--cors-origin",
            help="Let pages from this origin call the API (repeat for more); none by default.",
        ),
    ] = None,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log each request on stderr.")
    ] = True,
) -> None:
    """Serve the file read-only: the API at /api/v2, the dashboard at /, OpenAPI at /docs.
    Every request answers as the user of its token (or Odoo sign-in)."""
    import uvicorn

    from cqrs_cli.http.auth import OdooSignIn
    from cqrs_cli.http.server import ServeOptions, create_app

    odoo = None
    if auth is Auth.odoo:
        if not odoo_url or not odoo_db:
            raise CqrsError("--auth odoo needs --odoo-url and --odoo-db", exit_code=EXIT_USAGE)
        from cqrs_cli.sources.odoo import parse_url

        parse_url(odoo_url)  # a bad URL is refused now, not at the first sign-in
        odoo = OdooSignIn(odoo_url, odoo_db)
    elif odoo_url or odoo_db:
        raise CqrsError("--odoo-url and --odoo-db go with --auth odoo", exit_code=EXIT_USAGE)
    path = state(ctx).db
    # Opened once by the command (which migrates a file at an older schema, as every
    # command does) and checked answerable; the server then only reads.
    with read_model(ctx) as model:
        model.freshness()
    if not _loopback(host):
        info(
            ctx,
            f"Warning: listening on {host}, beyond this machine: put TLS in front "
            "(a reverse proxy), or tokens and cookies cross the network in clear",
        )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit it: a response written in two parts (head, then
        # body) is not held back ~40 ms waiting for the client's delayed ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise CqrsError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    info(ctx, f"Serving {path} at http://{shown}:{bound}/ (Ctrl-C stops)")
    app = create_app(ServeOptions(path, odoo, tuple(cors_origin or ())))
    config = uvicorn.Config(
        app,
        log_level="warning" if state(ctx).quiet else "info",
        access_log=access_log and not state(ctx).quiet,
        server_header=False,
        # A reverse proxy on this host (the TLS in front, docs/serve.md) gives the client's
        # address and scheme: failed sign-ins count per client, and the cookie is Secure
        # over HTTPS. Only from 127.0.0.1: nobody else can claim to be a proxy.
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
