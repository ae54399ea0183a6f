"""Numbered schema migrations. `PRAGMA user_version` is the number of the last one applied.

Each migration runs in its own transaction together with the version bump, so a file is
never left half-migrated. Views own their tables (see projections); the tables here are
the log and the bookkeeping every part shares.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from cqrs_cli.store.db import APPLICATION_ID, StoreError


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "001_create_event_store",
        (
            f"PRAGMA application_id = {APPLICATION_ID}",
            """CREATE TABLE schema_migrations (
                number INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at TEXT NOT NULL
            )""",
            """CREATE TABLE events (
                position INTEGER PRIMARY KEY AUTOINCREMENT,
                event_id TEXT NOT NULL UNIQUE,
                stream_type TEXT NOT NULL,
                stream_id TEXT NOT NULL,
                version INTEGER NOT NULL CHECK (version >= 1),
                type TEXT NOT NULL,
                schema_version INTEGER NOT NULL CHECK (schema_version >= 1),
                data TEXT NOT NULL,
                metadata TEXT NOT NULL,
                recorded_at TEXT NOT NULL,
                hash TEXT NOT NULL,
                UNIQUE (stream_type, stream_id, version)
            )""",
            "CREATE INDEX events_by_type ON events (type, position)",
            """CREATE TRIGGER events_no_update BEFORE UPDATE ON events
               BEGIN SELECT RAISE(ABORT, 'events is append-only: UPDATE refused'); END""",
            """CREATE TRIGGER events_no_delete BEFORE DELETE ON events
               BEGIN SELECT RAISE(ABORT, 'events is append-only: DELETE refused'); END""",
        ),
    ),
    Migration(
        2,
        "002_create_sync_tables",
        (
            """CREATE TABLE odoo_raw_data (
                model TEXT NOT NULL,
                odoo_id INTEGER NOT NULL,
                payload TEXT NOT NULL,
                content_hash TEXT NOT NULL,
                write_date TEXT,
                first_seen TEXT NOT NULL,
                last_seen TEXT NOT NULL,
                deleted_at TEXT,
                PRIMARY KEY (model, odoo_id)
            ) WITHOUT ROWID""",
            """CREATE TABLE sync_runs (
                id TEXT PRIMARY KEY,
                source TEXT NOT NULL,
                mode TEXT NOT NULL,
                started_at TEXT NOT NULL,
                finished_at TEXT,
                status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
                counts TEXT NOT NULL DEFAULT '{}',
                events_appended INTEGER NOT NULL DEFAULT 0,
                error TEXT
            )""",
            """CREATE TABLE sync_cursors (
                source TEXT NOT NULL,
                model TEXT NOT NULL,
                write_date TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                PRIMARY KEY (source, model)
            )""",
        ),
    ),
    Migration(
        3,
        "003_create_projection_tables",
        (
            """CREATE TABLE checkpoints (
                projection TEXT PRIMARY KEY,
                position INTEGER NOT NULL DEFAULT 0,
                version INTEGER NOT NULL,
                status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'paused')),
                error TEXT,
                error_position INTEGER,
                updated_at TEXT NOT NULL
            )""",
            """CREATE TABLE dead_letters (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                handler TEXT NOT NULL,
                position INTEGER NOT NULL,
                event_id TEXT NOT NULL,
                event_type TEXT NOT NULL,
                error TEXT NOT NULL,
                attempts INTEGER NOT NULL,
                failed_at TEXT NOT NULL,
                UNIQUE (handler, event_id)
            )""",
        ),
    ),
    Migration(
        4,
        "004_sync_runs_interrupted_and_head",
        (
            # SQLite cannot change a CHECK constraint in place: the table is rebuilt with
            # every column it had, plus the process that runs it (so a run whose process
            # is gone can be marked `interrupted`) and the head of the log it reached (so
            # a log cut after it is noticed).
            """CREATE TABLE sync_runs_new (
                id TEXT PRIMARY KEY,
                source TEXT NOT NULL,
                mode TEXT NOT NULL,
                started_at TEXT NOT NULL,
                finished_at TEXT,
                status TEXT NOT NULL
                    CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
                counts TEXT NOT NULL DEFAULT '{}',
                events_appended INTEGER NOT NULL DEFAULT 0,
                error TEXT,
                pid INTEGER,
                host TEXT,
                head_position INTEGER,
                head_hash TEXT
            )""",
            """INSERT INTO sync_runs_new (id, source, mode, started_at, finished_at, status,
                counts, events_appended, error)
               SELECT id, source, mode, started_at, finished_at, status, counts,
                events_appended, error FROM sync_runs ORDER BY rowid""",
            "DROP TABLE sync_runs",
            "ALTER TABLE sync_runs_new RENAME TO sync_runs",
            # The last run (status), the furthest head (verify), the runs to check at start.
            "CREATE INDEX sync_runs_by_start ON sync_runs (started_at)",
            "CREATE INDEX sync_runs_by_head ON sync_runs (head_position)",
            "CREATE INDEX sync_runs_running ON sync_runs (status) WHERE status = 'running'",
        ),
    ),
    Migration(
        5,
        "005_sync_runs_clock_skew",
        # Seconds this machine's clock was ahead of Odoo's at the run (NULL: no clock).
        ("ALTER TABLE sync_runs ADD COLUMN clock_skew_seconds REAL",),
    ),
    Migration(
        6,
        "006_create_webhooks",
        (
            # A webhook's configuration. `secret_env` is the NAME of the environment
            # variable holding its signing key: the key itself never enters the file.
            # `types` is a JSON list of event types, NULL for every type.
            """CREATE TABLE webhooks (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                name TEXT UNIQUE,
                url TEXT NOT NULL,
                types TEXT,
                secret_env TEXT,
                max_attempts INTEGER NOT NULL CHECK (max_attempts >= 1),
                timeout REAL NOT NULL CHECK (timeout > 0),
                created_at TEXT NOT NULL
            )""",
            # Where each subscriber that runs after the commit (a webhook: `webhook:<id>`)
            # is in the log: the last position it handled, its failed attempts at the next
            # event, and whether it is paused on a dead letter. Projections keep theirs in
            # `checkpoints`, moved in the same transaction as their tables.
            """CREATE TABLE subscriber_checkpoints (
                subscriber TEXT PRIMARY KEY,
                position INTEGER NOT NULL CHECK (position >= 0),
                state TEXT NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'paused')),
                failures INTEGER NOT NULL DEFAULT 0,
                error TEXT,
                error_position INTEGER,
                updated_at TEXT NOT NULL
            )""",
        ),
    ),
    Migration(
        7,
        "007_create_access_tokens",
        (
            # The tokens `cqrs serve` accepts (docs/serve.md). Only the SHA-256 of each
            # secret is kept: the file never holds a token anyone could present.
            """CREATE TABLE access_tokens (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                user_id INTEGER NOT NULL,
                label TEXT,
                secret_sha256 TEXT NOT NULL UNIQUE,
                created_at TEXT NOT NULL,
                expires_at TEXT,
                revoked_at TEXT
            )""",
        ),
    ),
    Migration(
        8,
        "008_webhooks_as_user",
        # The Odoo id of the user whose view filters a webhook's events (`webhooks add
        # --as USER`): only what that user could see. NULL: every event of its types.
        ("ALTER TABLE webhooks ADD COLUMN as_user_id INTEGER",),
    ),
)

LATEST = MIGRATIONS[-1].number


def current_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def check_not_newer(conn: sqlite3.Connection, path: object) -> int:
    version = current_version(conn)
    if version > LATEST:
        raise StoreError(
            f"{path} has schema version {version}, newer than this cqrs knows ({LATEST}); "
            "upgrade cqrs to use it"
        )
    return version


def status(conn: sqlite3.Connection) -> list[tuple[Migration, str | None]]:
    """Each known migration with the time it was applied, or None when pending."""
    applied: dict[int, str] = {}
    if current_version(conn) >= 1:
        applied = dict(conn.execute("SELECT number, applied_at FROM schema_migrations"))
    return [(m, applied.get(m.number)) for m in MIGRATIONS]


def migrate(conn: sqlite3.Connection, path: object = "the file") -> list[Migration]:
    """Apply every pending migration, each in its own transaction. Idempotent."""
    check_not_newer(conn, path)
    done: list[Migration] = []
    for migration in MIGRATIONS:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process may have migrated meanwhile.
            if current_version(conn) >= migration.number:
                conn.execute("ROLLBACK")
                continue
            for statement in migration.statements:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (number, name, applied_at) VALUES (?, ?, ?)",
                (migration.number, migration.name, datetime.now(UTC).isoformat()),
            )
            conn.execute(f"PRAGMA user_version = {migration.number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        done.append(migration)
    return done
