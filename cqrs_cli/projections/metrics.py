"""`dashboard_metrics`: pipeline figures per user, own and team (docs/access.md for "team").

The writer keeps every row exact as of the checkpoint; a read never computes anything.
`dm_owners` keeps each owner's figures as exact sums (see `figures.py`), so a batch only
changes the sums of the owners of the opportunities it touched (old values out, new
ones in) and recomputes the rows of those owners and everyone above them, and of the
users whose subordinates changed: a manager's team adds up a few numbers per owner below
them, not every opportunity. A changed stage (name, order, won or not) recomputes its
owners' sums from their opportunities. A rebuild computes every owner and user once, at
the end of its replay.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any, ClassVar

import orjson

from cqrs_cli.projections import reads
from cqrs_cli.projections.base import Index, Mirror, dumps
from cqrs_cli.projections.figures import OwnerSums, Tally, add_up
from cqrs_cli.projections.org import (
    OpportunityProjection,
    Pending,
    managers_of,
    write_closure,
    write_pending,
)
from cqrs_cli.store.log import utc_now_iso

_ROW = "user_id, active, stage_id, expected_revenue, probability"


class DashboardMetrics(OpportunityProjection):
    name = "dashboard_metrics"
    mirrored = ("res.users", "hr.employee", "crm.stage")
    mirror_table = "dm_records"
    tables: ClassVar[dict[str, str]] = {
        "dashboard_metrics": """(
            user_id INTEGER PRIMARY KEY, own TEXT NOT NULL, team TEXT, computed_at TEXT NOT NULL
        )""",
        "dm_opportunities": """(
            id INTEGER PRIMARY KEY, user_id INTEGER, active INTEGER NOT NULL, stage_id INTEGER,
            expected_revenue REAL NOT NULL, probability REAL NOT NULL
        )""",
        "dm_owners": "(user_id INTEGER PRIMARY KEY, sums TEXT NOT NULL)",
        "dm_subordinates": """(
            user_id INTEGER NOT NULL, sub_id INTEGER NOT NULL, PRIMARY KEY (user_id, sub_id)
        ) WITHOUT ROWID""",
        "dm_records": Mirror.DDL,
    }
    indexes = (
        Index("ix_dm_opportunities_user", "dm_opportunities", "user_id"),
        Index("ix_dm_subordinates_sub", "dm_subordinates", "sub_id"),
    )

    @staticmethod
    def keep(record: dict[str, Any]) -> tuple[Any, ...]:
        return (
            record.get("user_id"),
            1 if record.get("active", True) else 0,
            record.get("stage_id"),
            float(record.get("expected_revenue") or 0.0),
            float(record.get("probability") or 0.0),
        )

    def flush(self, conn: sqlite3.Connection) -> None:
        opps, table = self.take_opportunities(), self.t("dm_opportunities")
        if self.defer:  # a deferred replay computes everything once, in `end_replay`
            if opps:
                write_pending(conn, table, _COLUMNS, opps)
            if self.hierarchy_changed():
                self._write_users(conn)
            self.end_batch(conn)
            return
        touched: set[int] = set()
        if opps:
            before = self._stored(conn, opps)
            write_pending(conn, table, _COLUMNS, opps)
            if self.changed["crm.stage"]:
                # Old values were counted under the old stages: count the owners afresh.
                owners = {r[0] for r in before.values()} | {v[0] for v in opps.values() if v}
                touched |= self._recount(conn, {o for o in owners if o is not None})
            else:
                touched |= self._move(conn, before, opps)
        if self.changed["crm.stage"]:
            touched |= self._recount(conn, self._owners_in(conn, self.changed["crm.stage"]))
        if self.hierarchy_changed():
            touched |= self._write_users(conn)
        if touched:
            self._compute(conn, touched | managers_of(conn, self.t("dm_subordinates"), touched))
        self.end_batch(conn)

    def end_replay(self, conn: sqlite3.Connection) -> None:
        conn.execute(f"DELETE FROM {self.t('dm_owners')}")
        self._recount(conn, None)
        self._compute(conn, None)
        super().end_replay(conn)

    # -- owners' sums -------------------------------------------------------------------------

    def _stored(self, conn: sqlite3.Connection, opps: Pending) -> dict[int, tuple[Any, ...]]:
        """The stored columns of the batch's opportunities, before the batch."""
        return {
            r[0]: r[1:]
            for r in conn.execute(
                f"SELECT id, {_ROW} FROM {self.t('dm_opportunities')} "
                "WHERE id IN (SELECT value FROM json_each(?))",
                (dumps(sorted(opps)),),
            )
        }

    def _move(
        self, conn: sqlite3.Connection, before: dict[int, tuple[Any, ...]], opps: Pending
    ) -> set[int]:
        """Take the old values out of their owners' sums and put the new ones in; return
        the owners whose opportunities changed."""
        tally = Tally(self.records("crm.stage"))
        touched: set[int] = set()
        for oid, new in opps.items():
            old = before.get(oid)
            if old == new:
                continue
            if old is not None and old[0] is not None:
                tally.add(old[0], old[1:], -1)
                touched.add(old[0])
            if new is not None and new[0] is not None:
                tally.add(new[0], new[1:])
                touched.add(new[0])
        owners = tally.owners()
        if owners:
            sums = self._sums(conn, owners)
            self._save_sums(conn, {o: tally.apply(o, sums.get(o)) for o in owners})
        return touched

    def _recount(self, conn: sqlite3.Connection, owners: set[int] | None) -> set[int]:
        """Count the sums of `owners` (None: of every owner) afresh from their
        opportunities; return the owners counted."""
        table = self.t("dm_opportunities")
        if owners is None:
            found = conn.execute(f"SELECT {_ROW} FROM {table} WHERE user_id IS NOT NULL")
        elif owners:
            found = conn.execute(
                f"SELECT {_ROW} FROM {table} WHERE user_id IN (SELECT value FROM json_each(?))",
                (dumps(sorted(owners)),),
            )
        else:
            return set()
        tally = Tally(self.records("crm.stage"))
        add = tally.add
        for owner, active, stage_id, revenue, probability in found:
            add(owner, (active, stage_id, revenue, probability))
        counted = tally.owners()
        self._save_sums(
            conn, {o: tally.apply(o) for o in counted}, gone=(owners or set()) - counted
        )
        return counted if owners is None else owners

    def _owners_in(self, conn: sqlite3.Connection, stage_ids: set[int]) -> set[int]:
        # Rare enough to scan for: no index on stage_id to keep up on every write.
        return {
            r[0]
            for r in conn.execute(
                f"SELECT DISTINCT user_id FROM {self.t('dm_opportunities')} "
                "WHERE user_id IS NOT NULL AND stage_id IN (SELECT value FROM json_each(?))",
                (dumps(sorted(stage_ids)),),
            )
        }

    def _sums(self, conn: sqlite3.Connection, owners: set[int]) -> dict[int, OwnerSums]:
        return {
            r[0]: OwnerSums.from_json(orjson.loads(r[1]))
            for r in conn.execute(
                f"SELECT user_id, sums FROM {self.t('dm_owners')} "
                "WHERE user_id IN (SELECT value FROM json_each(?))",
                (dumps(sorted(owners)),),
            )
        }

    def _save_sums(
        self, conn: sqlite3.Connection, sums: dict[int, OwnerSums], gone: Iterable[int] = ()
    ) -> None:
        table = self.t("dm_owners")
        empty = set(gone) | {o for o, s in sums.items() if s.empty()}
        if empty:
            conn.executemany(f"DELETE FROM {table} WHERE user_id = ?", [(o,) for o in empty])
        conn.executemany(
            f"INSERT INTO {table} (user_id, sums) VALUES (?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET sums = excluded.sums",
            # orjson writes floats as their shortest exact repr: the parts read back as is.
            [
                (o, orjson.dumps(s.as_json()).decode())
                for o, s in sorted(sums.items())
                if o not in empty
            ],
        )

    # -- users' rows --------------------------------------------------------------------------

    def _write_users(self, conn: sqlite3.Connection) -> set[int]:
        """Bring the closure up to date and drop the rows of users gone; return the users
        whose figures change: new ones, gone ones and those whose subordinates changed."""
        table = self.t("dashboard_metrics")
        users = self.records("res.users")
        stored = {r[0] for r in conn.execute(f"SELECT user_id FROM {table}")}
        gone = stored - users.keys()
        if gone:
            conn.executemany(f"DELETE FROM {table} WHERE user_id = ?", [(u,) for u in gone])
        moved = write_closure(conn, self.t("dm_subordinates"), self.hierarchy())
        return (users.keys() - stored) | moved

    def _compute(self, conn: sqlite3.Connection, users: set[int] | None) -> None:
        """Compute the rows of `users` (None: of every user) from the owners' sums."""
        known = self.records("res.users")
        chosen = sorted(known if users is None else users & known.keys())
        if not chosen:
            return
        stages = self.records("crm.stage")
        subs_table, owners_table = self.t("dm_subordinates"), self.t("dm_owners")
        below: dict[int, list[int]] = {}
        if users is None:
            pairs = conn.execute(f"SELECT user_id, sub_id FROM {subs_table}")
        else:
            pairs = conn.execute(
                f"SELECT user_id, sub_id FROM {subs_table} "
                "WHERE user_id IN (SELECT value FROM json_each(?))",
                (dumps(chosen),),
            )
        for uid, sub in pairs:
            below.setdefault(uid, []).append(sub)
        if users is None:
            found = conn.execute(f"SELECT user_id, sums FROM {owners_table}")
            sums = {r[0]: OwnerSums.from_json(orjson.loads(r[1])) for r in found}
        else:
            sums = self._sums(conn, set(chosen).union(*below.values()))
        nothing = OwnerSums()
        now = utc_now_iso()
        out = []
        for uid in chosen:
            own = sums.get(uid, nothing)
            subs = below.get(uid)
            team = add_up([own, *(sums[s] for s in subs if s in sums)], stages) if subs else None
            out.append(
                (uid, dumps(add_up([own], stages)), None if team is None else dumps(team), now)
            )
        conn.executemany(
            f"INSERT INTO {self.t('dashboard_metrics')} (user_id, own, team, computed_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET own = excluded.own, "
            "team = excluded.team, computed_at = excluded.computed_at",
            out,
        )

    # -- reading -----------------------------------------------------------------------------

    def read(self, conn: sqlite3.Connection, user_id: int) -> tuple[Any, Any] | None:
        """(own, team) figures of `user_id` in this projection's tables: see
        `reads.metrics`."""
        return reads.metrics(conn, user_id, suffix=self.suffix)


_COLUMNS = ("user_id", "active", "stage_id", "expected_revenue", "probability")
