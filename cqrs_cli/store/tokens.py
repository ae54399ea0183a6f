"""The `access_tokens` table: who may ask `cqrs serve`, as whom. This module owns it.

A token's secret is shown once when made and never stored: the table keeps its SHA-256.
A secret is 32 random bytes, so a plain hash is enough (nothing to guess a dictionary
from), and looking a hash up tells an attacker nothing about a secret they do not hold.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from dataclasses import dataclass

PREFIX = "cqrs_"  # tells a cqrs token apart in a password manager or a leak scanner
_COLUMNS = "id, user_id, label, created_at, expires_at, revoked_at"


@dataclass(frozen=True, slots=True)
class TokenRow:
    id: int
    user_id: int
    label: str | None
    created_at: str
    expires_at: str | None  # None: never
    revoked_at: str | None

    def usable(self, now: str) -> bool:
        """Not revoked and not expired at `now` (ISO 8601 UTC, as the times are kept)."""
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def add(
    conn: sqlite3.Connection,
    user_id: int,
    label: str | None,
    secret: str,
    created_at: str,
    expires_at: str | None,
) -> int:
    """Store a token (inside the caller's transaction); its id."""
    cursor = conn.execute(
        "INSERT INTO access_tokens (user_id, label, secret_sha256, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (user_id, label, digest(secret), created_at, expires_at),
    )
    assert cursor.lastrowid is not None
    return int(cursor.lastrowid)


def listing(conn: sqlite3.Connection) -> list[TokenRow]:
    return [
        TokenRow(*row)
        for row in conn.execute(f"SELECT {_COLUMNS} FROM access_tokens ORDER BY id").fetchall()
    ]


def get(conn: sqlite3.Connection, token_id: int) -> TokenRow | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM access_tokens WHERE id = ?", (token_id,)).fetchone()
    return None if row is None else TokenRow(*row)


def revoke(conn: sqlite3.Connection, token_id: int, at: str) -> None:
    conn.execute(
        "UPDATE access_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
        (at, token_id),
    )


def find(conn: sqlite3.Connection, secret: str) -> TokenRow | None:
    """The token whose secret is `secret`, whatever its state, or None."""
    wanted = digest(secret)
    row = conn.execute(
        f"SELECT {_COLUMNS}, secret_sha256 FROM access_tokens WHERE secret_sha256 = ?",
        (wanted,),
    ).fetchone()
    # The index finds the row; the final word is a constant-time comparison.
    if row is None or not hmac.compare_digest(str(row[6]), wanted):
        return None
    return TokenRow(*row[:6])
