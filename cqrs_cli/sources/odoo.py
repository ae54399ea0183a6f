"""The live Odoo source, through odoorpc's JSON-RPC client.

Only `execute_kw` with `search_read` / `search` and explicit field lists (DESIGN.md §4):
`browse()` and `env.user` read every field and break on Odoo 16+. Every call carries
`active_test: False` so archived users and lost opportunities are seen.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import urllib.error
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any
from urllib.parse import urlsplit

from cqrs_cli.sources.base import PAGE_SIZE, Domain, Raw, SourceAccessError, SourceError

# odoorpc logs every request at DEBUG, password included (it only hides a `password`
# key, while login and execute_kw pass it positionally). Keep that logger quiet whatever
# the root logger's level is, so the password never reaches a log.
logging.getLogger("odoorpc").setLevel(logging.WARNING)

DEFAULT_TIMEOUT = 60.0
FALLBACK_MODELS = {"hr.employee": "hr.employee.public"}
CONTEXT = {"active_test": False}


@dataclass(frozen=True)
class OdooUrl:
    host: str
    port: int
    protocol: str  # jsonrpc or jsonrpc+ssl

    def __str__(self) -> str:
        scheme = "https" if self.protocol == "jsonrpc+ssl" else "http"
        return f"{scheme}://{self.host}:{self.port}"


def parse_url(url: str) -> OdooUrl:
    """`https://crm.example.com`, `http://localhost:8069`, or a bare host (http, 8069)."""
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError(f"not an Odoo URL: {url!r} (expected http(s)://host[:port])")
    try:
        explicit = parts.port
    except ValueError as exc:
        raise SourceError(f"not an Odoo URL: {url!r} ({exc})") from exc
    ssl = parts.scheme == "https"
    port = explicit if explicit is not None else (443 if ssl else 8069)
    return OdooUrl(parts.hostname, port, "jsonrpc+ssl" if ssl else "jsonrpc")


def _describe(exc: BaseException, where: str) -> SourceError:
    """One readable line for a failure talking to Odoo. Never includes the password."""
    import odoorpc

    if isinstance(exc, odoorpc.error.RPCError):
        info: Any = exc.info if isinstance(exc.info, dict) else {}
        data = info.get("data") or {}
        name = str(data.get("name") or "")
        message = str(data.get("message") or exc)
        if name.endswith("AccessError"):
            return SourceAccessError(f"Odoo refused access {where}: {message}")
        if name.endswith("AccessDenied"):
            return SourceError(f"Odoo denied access {where} (session or credentials): {message}")
        return SourceError(f"Odoo error {where}: {name or 'error'}: {message}")
    if isinstance(exc, urllib.error.HTTPError):
        return SourceError(f"Odoo answered HTTP {exc.code} {where}")
    if isinstance(exc, TimeoutError | socket.timeout):
        return SourceError(f"Odoo did not answer in time {where}")
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, TimeoutError | socket.timeout):
            return SourceError(f"Odoo did not answer in time {where}")
        detail = getattr(reason, "strerror", None) or reason
        return SourceError(f"cannot reach Odoo {where}: {detail}")
    if isinstance(exc, json.JSONDecodeError | ValueError):
        return SourceError(f"Odoo sent a malformed answer {where}: {exc}")
    if isinstance(exc, OSError | HTTPException):
        return SourceError(f"connection to Odoo failed {where}: {exc}")
    return SourceError(f"Odoo call failed {where}: {type(exc).__name__}: {exc}")


_NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    HTTPException,
    ValueError,
    KeyError,
    TypeError,
)


class OdooSource:
    name = "odoo"
    incremental = True

    def __init__(
        self,
        url: str,
        database: str,
        user: str,
        password: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        import odoorpc

        self.url = parse_url(url)
        self.database = database
        self.user = user
        self.cursor_key = f"odoo {self.url}/{database}"
        self._rpc_errors: tuple[type[BaseException], ...] = (
            odoorpc.error.Error,
            *_NETWORK_ERRORS,
        )
        where = f"at {self.url}"
        try:
            self._odoo = odoorpc.ODOO(
                self.url.host, protocol=self.url.protocol, port=self.url.port, timeout=timeout
            )
        except self._rpc_errors as exc:
            raise _describe(exc, where) from None
        try:
            self._odoo.login(database, user, password)
        except odoorpc.error.RPCError as exc:
            if str(exc) == "Wrong login ID or password":
                raise SourceError(f"Odoo refused the login for {user} on {database}") from None
            raise _describe(exc, f"logging in to {database}") from None
        except self._rpc_errors as exc:
            raise _describe(exc, f"logging in to {database}") from None
        self._models: dict[str, str] = {}

    def _call(self, model: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        try:
            return self._odoo.execute_kw(model, method, args, kwargs)
        except self._rpc_errors as exc:
            raise _describe(exc, f"reading {model}") from None

    def _model(self, model: str) -> str:
        """The model to read for `model`: hr.employee.public without HR rights."""
        if model in self._models:
            return self._models[model]
        chosen = model
        fallback = FALLBACK_MODELS.get(model)
        if fallback:
            try:
                self._call(model, "search", [[]], {"limit": 1, "context": CONTEXT})
            except SourceAccessError:
                chosen = fallback
        self._models[model] = chosen
        return chosen

    def provides(self, model: str) -> bool:
        return True  # every model the sync reads exists with the CRM (and HR) apps

    def search_count(self, model: str, domain: Domain) -> int:
        count: int = self._call(
            self._model(model), "search_count", [list(domain)], {"context": CONTEXT}
        )
        return count

    def _list(self, model: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> list[Any]:
        result = self._call(model, method, args, kwargs)
        # A proxy or a broken server can answer 200 with valid JSON but no list: taking that
        # for "no more records" would make every stored record look deleted.
        if not isinstance(result, list):
            raise SourceError(
                f"Odoo sent a malformed answer reading {model}: {method} returned "
                f"{type(result).__name__}, not a list"
            )
        return result

    def search_read(
        self, model: str, domain: Domain, fields: Sequence[str], *, page_size: int = PAGE_SIZE
    ) -> Iterator[list[Raw]]:
        target = self._model(model)
        last = 0
        while True:
            page: list[Raw] = self._list(
                target,
                "search_read",
                [[*domain, ("id", ">", last)]],
                {"fields": list(fields), "limit": page_size, "order": "id", "context": CONTEXT},
            )
            if not page:
                return
            yield page
            if len(page) < page_size:
                return
            last = max(int(r["id"]) for r in page)

    def search_ids(self, model: str, domain: Domain, *, page_size: int = PAGE_SIZE) -> list[int]:
        target = self._model(model)
        ids: list[int] = []
        last = 0
        size = max(page_size, 5000)  # ids are tiny: fewer round trips
        while True:
            page: list[int] = self._list(
                target,
                "search",
                [[*domain, ("id", ">", last)]],
                {"limit": size, "order": "id", "context": CONTEXT},
            )
            ids.extend(page)
            if len(page) < size:
                return ids
            last = max(page)

    def close(self) -> None:
        with contextlib.suppress(*self._rpc_errors):
            self._odoo.logout()
