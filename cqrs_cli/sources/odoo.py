"""The live Odoo source, through odoorpc's JSON-RPC client.

Only `execute_kw` with `search_read` / `search` and explicit field lists (docs/sync.md):
`browse()` and `env.user` read every field and break on Odoo 16+. Every call carries
`active_test: False` so archived users and lost opportunities are seen.

Records are read in two steps: first the ids (`search`, paged by `id > last`, every page
checked to advance), then the records by pages of those ids (`search_read` with `id in`,
every answer checked to hold only ids it was asked for). A server or proxy that ignores
the paging cannot loop the sync, and is caught before the first record of the model is
handed over, so nothing of that model is written.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import logging
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any
from urllib.parse import urlsplit

from cqrs_cli.domain.odoo_ids import denoted_id, is_id
from cqrs_cli.sources.base import (
    ID_PAGE_SIZE,
    PAGE_SIZE,
    Domain,
    Raw,
    SourceAccessError,
    SourceAuthError,
    SourceError,
)

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
            return SourceAuthError(
                f"Odoo denied access {where} (session or credentials): {message}"
            )
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


def logged_in(url: OdooUrl, database: str, user: str, password: str, timeout: float) -> Any:
    """An odoorpc session of `user` on `database`: SourceAuthError when Odoo refuses the
    login, SourceError when it cannot be asked. The password is never in an error."""
    import odoorpc

    errors = (odoorpc.error.Error, *_NETWORK_ERRORS)
    try:
        odoo = odoorpc.ODOO(url.host, protocol=url.protocol, port=url.port, timeout=timeout)
    except errors as exc:
        raise _describe(exc, f"at {url}") from None
    try:
        odoo.login(database, user, password)
    except odoorpc.error.RPCError as exc:
        if str(exc) == "Wrong login ID or password":
            raise SourceAuthError(f"Odoo refused the login for {user} on {database}") from None
        raise _describe(exc, f"logging in to {database}") from None
    except errors as exc:
        raise _describe(exc, f"logging in to {database}") from None
    return odoo


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
        id_page_size: int = ID_PAGE_SIZE,
    ) -> None:
        import odoorpc

        self.url = parse_url(url)
        self.timeout = timeout
        self.id_page_size = id_page_size
        self.database = database
        self.user = user
        self.cursor_key = f"odoo {self.url}/{database}"
        self._rpc_errors: tuple[type[BaseException], ...] = (
            odoorpc.error.Error,
            *_NETWORK_ERRORS,
        )
        self._odoo = logged_in(self.url, database, user, password, timeout)
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

    def _listing(self, model: str, domain: Domain) -> list[Any]:
        """Every id matching `domain`, each once, in Odoo's order, as Odoo sent them (an odd
        id too: reading it back reports its record invalid)."""
        target = self._model(model)
        pages: list[list[Any]] = []
        last = 0
        while True:
            page = self._list(
                target,
                "search",
                [[*domain, ("id", ">", last)]],
                {"limit": self.id_page_size, "order": "id", "context": CONTEXT},
            )
            pages.append(page)
            if len(page) < self.id_page_size:
                break
            last = _advance(model, page, last)
        listed = [entry for page in pages for entry in page]
        if all(is_id(entry) for entry in listed):  # what Odoo sends: plain ids
            return list(dict.fromkeys(listed))
        for entry in listed:
            if not isinstance(entry, str | int | float | bool):
                raise SourceError(
                    f"Odoo sent a malformed answer reading {model}: search listed "
                    f"{type(entry).__name__} where an id belongs"
                )
        # Each once, telling "7" from 7 and true from 1.
        return list({(type(e), e): e for e in listed}.values())

    def search_read(
        self, model: str, domain: Domain, fields: Sequence[str], *, page_size: int = PAGE_SIZE
    ) -> Iterator[list[Raw]]:
        listing = self._listing(model, domain)  # whole before the first page is handed over
        target = self._model(model)
        valid = sorted(i for i in listing if is_id(i))
        odd = [i for i in listing if not is_id(i)]
        chunks = [valid[i : i + page_size] for i in range(0, len(valid), page_size)]
        chunks += [odd[i : i + page_size] for i in range(0, len(odd), page_size)]
        for chunk in chunks:
            page: list[Raw] = self._list(
                target,
                "search_read",
                [[*domain, ("id", "in", chunk)]],
                {"fields": list(fields), "order": "id", "context": CONTEXT},
            )
            _check_asked(model, chunk, page)
            if page:
                yield page

    def search_ids(self, model: str, domain: Domain) -> list[int]:
        listed = self._listing(model, domain)
        if all(is_id(i) for i in listed):
            return sorted(listed)
        named = {denoted_id(i) for i in listed}
        return sorted(i for i in named if i is not None)

    def clock_skew(self) -> float | None:
        """Seconds our clock is ahead of Odoo's, from the Date header of an answer to the
        same small request odoorpc starts with. Nothing secret is sent."""
        request = urllib.request.Request(
            f"{self.url}/web/webclient/version_info",
            data=b'{"jsonrpc": "2.0", "method": "call", "params": {}}',
            headers={"Content-Type": "application/json"},
        )
        before = time.time()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                date = answer.headers.get("Date")
        except urllib.error.HTTPError as exc:  # an error page still tells the time
            date = exc.headers.get("Date") if exc.headers else None
        except (OSError, HTTPException, ValueError):
            return None
        after = time.time()
        try:
            server = email.utils.parsedate_to_datetime(str(date)).timestamp()
        except (TypeError, ValueError, IndexError):
            return None
        # The header is cut to the second: on average the answer left half a second later.
        return (before + after) / 2 - (server + 0.5)

    def close(self) -> None:
        with contextlib.suppress(*self._rpc_errors):
            self._odoo.logout()


def _advance(model: str, page: list[Any], last: int) -> int:
    """The paging bound after `page`; every id on it must lie beyond `last`."""
    numbers = page if all(is_id(i) for i in page) else [denoted_id(i) for i in page]
    named = [n for n in numbers if n is not None]
    low = min(named, default=None)
    if low is None or low <= last:
        raise SourceError(
            f"Odoo's list of {model} ids does not advance (a page starting at id {low} "
            f"after id {last}): the server or a proxy ignores `id > last` paging; "
            f"no {model} record was written"
        )
    return max(named)


def _check_asked(model: str, chunk: list[Any], page: Any) -> None:
    """Every record of `page` is one of the ids asked for (an odd id may come back as the
    id it names), so an answer that ignores `id in` cannot slip in other records."""
    if all(is_id(i) for i in chunk):  # what Odoo sends: plain ids, every one asked for
        plain = set(chunk)
        if all(type(r) is dict and is_id(r.get("id")) and r["id"] in plain for r in page):
            return
    asked = {(type(i), i) for i in chunk}
    named = {denoted_id(i) for i in chunk} - {None}
    for record in page:
        if not isinstance(record, dict):
            raise SourceError(
                f"Odoo sent a malformed answer reading {model}: a record is "
                f"{type(record).__name__}, not an object"
            )
        rid = record.get("id")
        if isinstance(rid, str | int | float | bool) and (
            (type(rid), rid) in asked or denoted_id(rid) in named
        ):
            continue
        shown = repr(rid) if len(repr(rid)) <= 40 else repr(rid)[:37] + "..."
        raise SourceError(
            f"Odoo answered {model} records it was not asked for (id {shown}): the server "
            f"or a proxy ignores the ids of the request; that answer was not written"
        )
