"""The `webhooks` table: where to send which events, and the name of the environment
variable that holds the signing key (never the key: the file holds no secret)."""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from cqrs_cli.bus.checkpoints import SubscriberCheckpoints
from cqrs_cli.bus.dead_letters import DeadLetters
from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError
from cqrs_cli.domain.event_types import ENTITY_BY_MODEL, types_of
from cqrs_cli.store.files import Store
from cqrs_cli.store.log import utc_now_iso

EVENT_TYPES = frozenset(t for entity in ENTITY_BY_MODEL.values() for t in types_of(entity))
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_TIMEOUT = 10.0
MAX_URL = 2048
PREFIX = "webhook:"  # a webhook's name as a subscriber: its checkpoint, its dead letters
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_ENV = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_COLUMNS = "id, name, url, types, secret_env, max_attempts, timeout, created_at, as_user_id"


@dataclass(frozen=True)
class Webhook:
    id: int
    name: str | None
    url: str
    types: frozenset[str] | None  # None: every event type
    secret_env: str | None  # the NAME of the environment variable with the HMAC key
    max_attempts: int
    timeout: float  # seconds for one request
    created_at: str
    as_user: int | None = None  # only events this user could see (Odoo id); None: all

    @property
    def subscriber(self) -> str:
        return f"{PREFIX}{self.id}"

    @property
    def label(self) -> str:
        return f"webhook {self.id}" + (f" ({self.name})" if self.name else "")

    @classmethod
    def from_row(cls, row: tuple[object, ...]) -> Webhook:
        wid, name, url, types, secret_env, max_attempts, timeout, created_at, as_user = row
        listed = frozenset(json.loads(str(types))) if types is not None else None
        return cls(
            int(str(wid)),
            None if name is None else str(name),
            str(url),
            listed,
            None if secret_env is None else str(secret_env),
            int(str(max_attempts)),
            float(str(timeout)),
            str(created_at),
            None if as_user is None else int(str(as_user)),
        )


def _usage(message: str) -> CqrsError:
    return CqrsError(message, exit_code=EXIT_USAGE)


def check_url(url: str) -> str:
    """`url` if a webhook can be sent to it, else a one-line error saying why."""
    if not url or len(url) > MAX_URL:
        raise _usage(f"a webhook URL must have 1 to {MAX_URL} characters")
    if any(c.isspace() or not c.isprintable() for c in url):
        raise _usage("a webhook URL cannot hold spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _usage(f"not a usable URL: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        shown = f"{parts.scheme}:" if parts.scheme else "none"
        raise _usage(f"a webhook URL must start with http:// or https:// (scheme: {shown})")
    if not parts.hostname:
        raise _usage("a webhook URL needs a host (http://HOST/...)")
    if parts.username is not None or parts.password is not None:
        raise _usage(
            "a webhook URL cannot hold a user or password: the file would keep them; "
            "sign the requests with --secret-env instead"
        )
    if parts.fragment:
        raise _usage("a webhook URL cannot have a #fragment (it is never sent)")
    if port == 0:
        raise _usage("a webhook URL cannot use port 0")
    return url


def redacted(url: str) -> str:
    """The URL as listings show it: query values (often tokens) replaced by `***`."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = urlencode([(k, "***") for k, _ in parse_qsl(parts.query, keep_blank_values=True)])
    return urlunsplit(parts._replace(query=query.replace("%2A", "*")))


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name) or name.isdigit():
        raise _usage(
            f"webhook name {name!r}: use 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit, not only digits"
        )
    return name


def check_env_name(name: str) -> str:
    if not _ENV.fullmatch(name):
        raise _usage(
            f"--secret-env takes the NAME of an environment variable (like CQRS_HOOK_KEY), "
            f"not {name[:20]!r}{'...' if len(name) > 20 else ''}: the key itself never "
            "goes on the command line or into the file"
        )
    return name


def check_types(types: list[str]) -> frozenset[str] | None:
    if not types:
        return None
    unknown = sorted(set(types) - EVENT_TYPES)
    if unknown:
        raise _usage(
            f"unknown event type {unknown[0]!r}; types are Odoo<Entity><Change>, e.g. "
            "OdooOpportunityCreated (docs/architecture.md lists them)"
        )
    return frozenset(types)


class Webhooks:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add(
        self,
        url: str,
        *,
        types: frozenset[str] | None = None,
        secret_env: str | None = None,
        name: str | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        timeout: float = DEFAULT_TIMEOUT,
        as_user: int | None = None,
    ) -> tuple[Webhook, int]:
        """Add a webhook that starts at the log's head: it gets the events appended from
        now on (with `as_user`, only those that user could see). Returns it and that head."""
        check_url(url)
        if name is not None:
            check_name(name)
        if secret_env is not None:
            check_env_name(secret_env)
        if max_attempts < 1 or not 0 < timeout <= 600:
            raise _usage("max attempts must be >= 1 and the timeout in (0, 600] seconds")
        with self.store.transaction() as conn:
            head = self.store.log.head()
            try:
                cursor = conn.execute(
                    "INSERT INTO webhooks (name, url, types, secret_env, max_attempts, timeout,"
                    " created_at, as_user_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        name,
                        url,
                        None if types is None else json.dumps(sorted(types)),
                        secret_env,
                        max_attempts,
                        timeout,
                        utc_now_iso(),
                        as_user,
                    ),
                )
            except sqlite3.IntegrityError:
                raise CqrsError(f"a webhook named {name!r} already exists") from None
            webhook = self._get(conn, int(cursor.lastrowid or 0))
            SubscriberCheckpoints(self.store).start(conn, webhook.subscriber, head)
        return webhook, head

    def all(self) -> list[Webhook]:
        rows = self.store.conn.execute(f"SELECT {_COLUMNS} FROM webhooks ORDER BY id")
        return [Webhook.from_row(row) for row in rows]

    def find(self, ref: str) -> Webhook:
        """A webhook by id or by name."""
        sql = f"SELECT {_COLUMNS} FROM webhooks WHERE "
        if ref.isdigit():
            row = self.store.conn.execute(sql + "id = ?", (int(ref),)).fetchone()
        else:
            row = self.store.conn.execute(sql + "name = ?", (ref,)).fetchone()
        if row is None:
            raise CqrsError(f"no webhook {ref!r}; `cqrs webhooks list` shows them")
        return Webhook.from_row(row)

    def remove(self, webhook: Webhook) -> int:
        """Remove the webhook, its checkpoint and its dead letters; return how many
        dead letters went with it."""
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM webhooks WHERE id = ?", (webhook.id,))
            SubscriberCheckpoints(self.store).remove(conn, webhook.subscriber)
            return DeadLetters(self.store).remove_handler(webhook.subscriber)

    def _get(self, conn: sqlite3.Connection, wid: int) -> Webhook:
        row = conn.execute(f"SELECT {_COLUMNS} FROM webhooks WHERE id = ?", (wid,)).fetchone()
        return Webhook.from_row(row)
