"""The read model: every question the faces ask of the file, each answered from one state.

A `ReadModel` answers over one open `Store`. Each question declares the views it reads
(the constants below; no face lists them) and runs in ONE read transaction: the user is
resolved and the rows are read from the same state of the file, so a sync committing
in between can never give half of each. Before reading, the question checks where its
views stand (checkpoints only, `projections/readiness.py`): a paused view, or one that
needs a rebuild, is an error; a view behind the log is handled by `behind`:

- `"catch_up"`: catch the views up first (through a writer connection of its own), then
  answer. What a face does on a file it can write: a sync killed between its pages and
  its catch-up is mended by the next question.
- `"refuse"`: raise `ViewsBehind`, naming the position, the head and what fixes it. What
  a face does on a file it cannot write (reads never write).
- `"answer"`: answer from the views as they stand: exact as of their checkpoint, all of
  them at the same position (views move together). What a server does while a sync
  appends to its file: the views are behind until the sync's catch-up commits, and every
  answer meanwhile is the state before the sync, whole.

Threads: the questions of one `ReadModel` take its store's transaction lock (the lock
the store's writers take), so one model may be shared by threads; they then wait for
each other. For answers in parallel (a threaded server), give each thread its own model
over its own read-only connection: `open_read_model(path, behind="answer")` per thread
(SQLite's WAL lets readers and one writer work at once).

Answers as of a past position: the same questions over a copy of the views at that
position. A copy in another file (or in memory) is another `Store`, passed with `copy`;
a copy in this file is tables named `<view><suffix>`, passed as `suffix`. A copy has no
checkpoints of its own: its answers are not checked against the log, and `behind` does
not apply. `as_of(when)` gives a model whose questions build such a copy, in memory, for
each question (`app/as_of.py`, docs/past.md).

Plain sqlite3, the store and the views' read API only: no pydantic, no projection code,
so a query starts fast (tests/test_read_imports.py, benchmarks/startup.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import orjson

from cqrs_cli.app.answers.opportunities import (
    Account,
    Opportunities,
    Opportunity,
    OpportunityFilter,
    OpportunityStream,
    Person,
)
from cqrs_cli.app.answers.users import UserRef, Who
from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError
from cqrs_cli.domain.numbers import whole_number
from cqrs_cli.projections import readiness, reads
from cqrs_cli.projections.catalog import NAMES
from cqrs_cli.store.db import can_write, roomy_cache
from cqrs_cli.store.files import NeedsMigration, Store, open_store

# The answers of the other questions load with their question: a query pays only for its own.
if TYPE_CHECKING:
    from cqrs_cli.app.answers.file import Freshness, Status
    from cqrs_cli.app.answers.log import Event, EventQuery
    from cqrs_cli.app.answers.metrics import Metrics
    from cqrs_cli.app.answers.past import Changes, History
    from cqrs_cli.app.answers.people import OrgChart, Profile, Profiles
    from cqrs_cli.app.answers.visibility import CanSee
    from cqrs_cli.app.as_of import PastModel
    from cqrs_cli.app.when import AsOf
    from cqrs_cli.store.log import RecordedEvent

Behind = Literal["catch_up", "refuse", "answer"]

# The views each question reads.
USER_VIEWS = ("user_profiles",)
OPPORTUNITY_VIEWS = ("user_profiles", "opportunity_view", "user_access_matrix")
CAN_SEE_VIEWS = ("user_profiles", "user_access_matrix")
METRICS_VIEWS = ("user_profiles", "dashboard_metrics")
PROFILE_VIEWS = ("user_profiles",)

_PAGE = 1000  # rows fetched at a time by a streamed answer

# The columns each sort field orders by (then the id). A stage sorts as the pipeline runs;
# a missing value sorts last either way (NULLS LAST: SQLite 3.30). The id is the visible
# set's (`a`), equal to the view's but in the order the visible set is read: ordering by
# it needs no sort, so a page by id stops after its rows instead of reading and sorting
# all that the user sees (a manager's first 50 of 2,374: 0.9 ms down to 0.1 ms).
_ID_SQL = "a.opportunity_id"
_SORT_SQL = {
    "revenue": ("v.expected_revenue",),
    "probability": ("v.probability",),
    "stage": ("v.stage_sequence", "v.stage_id"),
    "name": ("v.name COLLATE NOCASE",),
    "id": (_ID_SQL,),
}


class UnknownUser(CqrsError):
    """No user, or more than one, matches the name given."""


class ViewsBehind(CqrsError):
    """A view a question needs is behind the log, and this process may not catch it up."""


class ReadModel:
    """The questions of docs/architecture.md, "The application layer", over one store."""

    def __init__(
        self,
        store: Store,
        *,
        behind: Behind = "refuse",
        suffix: str = "",
        owns_store: bool = False,
        copy: bool = False,
    ) -> None:
        assert store.tx is not None
        self.store = store
        self.behind: Behind = behind
        self.suffix = suffix
        self.copy = copy  # the views are a copy in another store: nothing to check
        self.at: AsOf | None = None  # the position the answers are as of; None: now
        self.owns_store = owns_store  # close() closes it
        self._lock = store.tx.lock

    # -- opening and closing ------------------------------------------------------------

    @property
    def migrated(self) -> tuple[str, ...]:
        """Migrations applied to the file while opening it (only a writable file)."""
        return tuple(m.name for m in self.store.migrated)

    def close(self) -> None:
        """Close the store, when this model owns it (`open_read_model`)."""
        if self.owns_store:
            self.store.close()

    def __enter__(self) -> ReadModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def as_of(self, when: str | int, *, owns: bool = False) -> PastModel:
        """These questions as of WHEN (docs/past.md): a log position (an int, or `#P`), an
        ISO date or date-time, or a time before now (`7d`). Its answers are those of views
        rebuilt from events 1..P, P the last position recorded by then; at or after the
        head, the current answers. Before the first event: an error. With `owns`,
        closing the past's model closes this one."""
        from cqrs_cli.app.as_of import past_model

        return past_model(self, when, owns_live=owns)

    # -- questions about users ----------------------------------------------------------

    def user(self, who: Who) -> UserRef:
        """The one synced user `who` names (docs/access.md, "Naming the user")."""
        with self._reading(USER_VIEWS) as conn:
            return self._resolve(conn, who)

    def users(self) -> tuple[UserRef, ...]:
        """Every synced user (archived ones too), by id."""
        with self._reading(USER_VIEWS) as conn:
            return tuple(
                UserRef(uid, login, name)
                for uid, login, name in conn.execute(
                    f"SELECT user_id, login, name FROM user_profiles{self.suffix} ORDER BY user_id"
                )
            )

    def active_user(self, user_id: int) -> UserRef | None:
        """The synced user `user_id` when active in Odoo, else None."""
        with self._reading(USER_VIEWS) as conn:
            return self._active(conn, user_id)

    def token_holder(self, secret: str, now: str) -> UserRef | None:
        """The user a token answers as: None when the token is unknown, revoked or
        expired at `now`, or its user is archived or no longer synced (app/tokens.py)."""
        from cqrs_cli.store import tokens

        with self._reading(USER_VIEWS) as conn:
            row = tokens.find(conn, secret)
            if row is None or not row.usable(now):
                return None
            return self._active(conn, row.user_id)

    def _active(self, conn: sqlite3.Connection, user_id: int) -> UserRef | None:
        row = conn.execute(
            f"SELECT user_id, login, name FROM user_profiles{self.suffix}"
            " WHERE user_id = ? AND active",
            (user_id,),
        ).fetchone()
        return None if row is None else UserRef(row[0], row[1], row[2])

    def opportunities(self, who: Who, filters: OpportunityFilter | None = None) -> Opportunities:
        """The opportunities `who` can see (open, won and lost), with the reason for each,
        in id order (or `filters.sort`), and how many the filters keep before the page
        (`limit`, `offset`) is cut out of them."""
        filters = filters or OpportunityFilter()
        with self._reading(OPPORTUNITY_VIEWS) as conn:
            user = self._resolve(conn, who)
            chosen, params, narrowed = self._chosen(conn, user.id, filters)
            items = tuple(self._opportunity_items(conn, chosen, params, filters))
            if not filters.paged:
                total = len(items)
            elif narrowed:
                total = conn.execute(f"SELECT count(*) FROM {chosen}", params).fetchone()[0]
            else:
                # The visible set alone: the two views keep the same opportunities
                # (`projections/org.py`, `standing`), so the join would only add a
                # lookup per row (a manager's 2,374: 0.7 ms, against 0.05 ms).
                sql, visible = reads.visible_sql(conn, user.id, suffix=self.suffix, count=True)
                total = conn.execute(sql, visible).fetchone()[0]
        return Opportunities(user, items, total)

    def stream_opportunities(
        self, who: Who, filters: OpportunityFilter | None = None
    ) -> AbstractContextManager[OpportunityStream]:
        """`opportunities`, one item at a time, for answers too large to hold: the read
        transaction lasts as long as the `with` block. No total (it would cost a second
        pass over the rows)."""
        return self._stream_opportunities(who, filters or OpportunityFilter())

    @contextmanager
    def _stream_opportunities(
        self, who: Who, filters: OpportunityFilter
    ) -> Iterator[OpportunityStream]:
        with self._reading(OPPORTUNITY_VIEWS) as conn:
            user = self._resolve(conn, who)
            chosen, params, _ = self._chosen(conn, user.id, filters)
            yield OpportunityStream(user, self._opportunity_items(conn, chosen, params, filters))

    def opportunity(self, who: Who, opportunity_id: int) -> Opportunity | None:
        """One opportunity `who` can see, with the reason; None when they cannot (or it
        does not exist: the answer never tells the two apart)."""
        everything = OpportunityFilter()
        with self._reading(OPPORTUNITY_VIEWS) as conn:
            user = self._resolve(conn, who)
            chosen, params, _ = self._chosen(conn, user.id, everything)
            one = f"{chosen} WHERE v.id = :opportunity_id"
            params["opportunity_id"] = opportunity_id
            return next(self._opportunity_items(conn, one, params, everything), None)

    def _chosen(
        self, conn: sqlite3.Connection, user_id: int, filters: OpportunityFilter
    ) -> tuple[str, dict[str, Any], bool]:
        """The FROM and WHERE of the rows `filters` keeps of what `user_id` sees (`a`, the
        visible set, joined to `v`, opportunity_view), its parameters, and whether a filter
        narrows the visible set. Names are resolved to ids first, so that the filters are
        index lookups and comparisons."""
        sql, params = reads.visible_sql(conn, user_id, suffix=self.suffix)
        where = []
        if filters.status is not None:
            where.append("v.status = :status")
            params["status"] = filters.status
        if filters.stage is not None:
            ids = self._named_ids(conn, "crm.stage", "--stage", "stages", filters.stage)
            where.append(f"v.stage_id IN ({', '.join(map(str, ids))})")
        if filters.team is not None:
            ids = self._named_ids(conn, "crm.team", "--team", "teams", filters.team)
            where.append(f"v.team_id IN ({', '.join(map(str, ids))})")
        if filters.salesperson is not None:
            where.append("v.user_id = :salesperson")
            params["salesperson"] = self._resolve(conn, filters.salesperson).id
        if filters.search is not None and filters.search.strip():
            where.append(_search_sql(conn))
            params["search"] = filters.search.strip().casefold()
        return (
            f"({sql}) a JOIN opportunity_view{self.suffix} v ON v.id = a.opportunity_id"
            + (" WHERE " + " AND ".join(where) if where else ""),
            params,
            bool(where),
        )

    def _named_ids(
        self, conn: sqlite3.Connection, model: str, option: str, plural: str, wanted: str
    ) -> list[int]:
        """The ids of the stages (or teams) `wanted` names: an id, or a name in any case
        (several stages may share a name). None is a usage error listing the names."""
        known = reads.names(conn, model, suffix=self.suffix)
        text = wanted.strip()
        number = whole_number(text)
        ids = [
            i for i, name in known if i == number or str(name or "").casefold() == text.casefold()
        ]
        if ids:
            return ids
        listed = ", ".join(dict.fromkeys(str(name) for _, name in known if name))
        raise CqrsError(
            f"{option}: no {plural[:-1]} is named {wanted!r}; "
            + (f"{plural}: {listed} (or an id)" if listed else f"no {plural} synced yet"),
            exit_code=EXIT_USAGE,
        )

    def _opportunity_items(
        self,
        conn: sqlite3.Connection,
        chosen: str,
        params: dict[str, Any],
        filters: OpportunityFilter,
    ) -> Iterator[Opportunity]:
        field, descending = filters.order()
        way = " DESC" if descending else ""
        order = ", ".join(f"{c}{way} NULLS LAST" for c in _SORT_SQL[field])
        page = ""
        if filters.paged:
            page = " LIMIT :limit OFFSET :offset"
            params = {**params, "limit": -1 if filters.limit is None else filters.limit}
            params["offset"] = filters.offset
        cursor = conn.execute(
            "SELECT v.id, v.name, v.status, v.stage, v.expected_revenue, v.probability,"
            " v.user_id, v.salesperson_login, v.salesperson_name, v.manager_id,"
            " v.manager_login, v.manager_name, v.partner_id, v.account, a.reason, a.via"
            f" FROM {chosen} ORDER BY {order}, {_ID_SQL}{page}",
            params,
        )
        while rows := cursor.fetchmany(_PAGE):
            # The hot loop of a large answer: one flat expression per row.
            for (
                oid,
                name,
                st,
                stage,
                revenue,
                probability,
                uid,
                ulogin,
                uname,
                mid,
                mlogin,
                mname,
                pid,
                account,
                reason,
                via,
            ) in rows:
                yield Opportunity(
                    oid,
                    name,
                    st,
                    stage,
                    revenue,
                    probability,
                    None if uid is None else Person(uid, ulogin, uname),
                    None if mid is None else Person(mid, mlogin, mname),
                    None if pid is None else Account(pid, account),
                    reason,
                    via,
                )

    def can_see(self, who: Who, *, explain: bool = False) -> CanSee:
        """The ids of the opportunities and accounts `who` can see; with `explain`, why
        (a `CanSeeExplained`)."""
        from cqrs_cli.app.answers.visibility import CanSee, CanSeeExplained, Reason

        with self._reading(CAN_SEE_VIEWS) as conn:
            user = self._resolve(conn, who)
            sql, params = reads.visible_sql(conn, user.id, suffix=self.suffix)
            rows = conn.execute(sql, params).fetchall()
        opportunities = tuple(r[0] for r in rows)
        accounts = tuple(sorted({r[3] for r in rows if r[3] is not None}))
        if not explain:
            return CanSee(user, opportunities, accounts)
        reasons: dict[str, Reason] = {
            str(r[0]): ({"reason": r[1], "via": r[2]} if r[2] else {"reason": r[1]}) for r in rows
        }
        return CanSeeExplained(user, opportunities, accounts, reasons)

    def metrics(self, who: Who) -> Metrics:
        """Pipeline figures of `who`: own, and team (everyone below them)."""
        from cqrs_cli.app.answers.metrics import Metrics

        with self._reading(METRICS_VIEWS) as conn:
            user = self._resolve(conn, who)
            found = reads.metrics(conn, user.id, suffix=self.suffix)
        if found is None:
            raise CqrsError(f"no metrics for user {user.id}")
        return Metrics(user, found[0], found[1])

    def profiles(self) -> Profiles:
        """Every synced user, archived ones too, by id."""
        with self._reading(PROFILE_VIEWS) as conn:
            return self._profiles(conn)

    def hierarchy(self, root: Who | None = None) -> OrgChart:
        """The org chart: everyone, or `root` and the people below them."""
        with self._reading(PROFILE_VIEWS) as conn:
            top = None if root is None else self._resolve(conn, root)
            found = self._profiles(conn)
        return org_chart(found.items, None if top is None else top.id)

    def _profiles(self, conn: sqlite3.Connection) -> Profiles:
        from cqrs_cli.app.answers.people import Profile, Profiles

        rows = conn.execute(
            "SELECT user_id, login, name, active, employee_id, manager_id, subordinates,"
            " all_subordinates, teams, access, in_cycle"
            f" FROM user_profiles{self.suffix} ORDER BY user_id"
        ).fetchall()
        items = tuple(
            Profile(
                uid,
                login,
                name,
                bool(active),
                employee,
                manager,
                tuple(orjson.loads(direct)),
                tuple(orjson.loads(below)),
                tuple(orjson.loads(teams)),
                access,
            )
            for (
                uid,
                login,
                name,
                active,
                employee,
                manager,
                direct,
                below,
                teams,
                access,
                _,
            ) in rows
        )
        return Profiles(items, tuple(r[1] for r in rows if r[10]))

    # -- questions about the past (docs/past.md) ----------------------------------------

    def history(self, opportunity: str) -> History:
        """The timeline of one opportunity (an id, or a unique part of its name)."""
        from cqrs_cli.app.history import timeline

        return timeline(self, opportunity)

    def changes(self, who: Who, since: str, until: str | None = None) -> Changes:
        """What changed in what `who` can see between two WHENs (`until`: now)."""
        from cqrs_cli.app.changes import changes

        return changes(self, who, since, until)

    # -- questions about the file -------------------------------------------------------

    def status(self) -> Status:
        """The head of the log, where each view stands, the last sync run, the locks held
        on the file and what is amiss in it. Cheap: no replay, no integrity check."""
        from cqrs_cli.app.answers.file import HeldLock, LastSync, Status, ViewState
        from cqrs_cli.projections.runner import orphan_tables
        from cqrs_cli.store.health import cut_log
        from cqrs_cli.store.locks import FILE_LOCKS, holder
        from cqrs_cli.store.sync_state import last_run

        with self._reading(()) as conn:
            head, views = readiness.status(self.store, NAMES)
            run = last_run(conn)
            orphans = orphan_tables(self.store)
            problems = cut_log(conn)
        # Who works on the file now: a rebuild, a `sync --every` loop, a webhook delivery.
        held = [
            HeldLock(name, h.pid, h.host, h.command, h.since, h.detail.get("scratch"))
            for name in FILE_LOCKS
            if (h := holder(self.store.path, name)) is not None
        ]
        return Status(
            head,
            tuple(ViewState(v.name, v.version, v.position, v.lag, v.state, v.error) for v in views),
            None
            if run is None
            else LastSync(
                run.id,
                run.source,
                run.mode,
                run.status,
                run.started_at,
                run.finished_at,
                run.events_appended,
                run.error,
                run.head_position,
            ),
            tuple(orphans),
            tuple(held),
            tuple(problems),
        )

    def freshness(self) -> Freshness:
        """Where the answers stand: the views' position in the log and the last sync run
        (cheap: checkpoints and one row, what a page shows at its foot)."""
        from cqrs_cli.app.answers.file import Freshness
        from cqrs_cli.store.sync_state import last_run

        with self._reading(OPPORTUNITY_VIEWS) as conn:
            head, views = readiness.status(self.store, OPPORTUNITY_VIEWS)
            run = last_run(conn)
        return Freshness(
            min((v.position for v in views), default=0),
            head,
            None if run is None else run.status,
            None if run is None else (run.finished_at or run.started_at),
        )

    def events(self, query: EventQuery | None = None) -> tuple[Event, ...]:
        """Events of the log, oldest first (or newest first)."""
        with self.stream_events(query) as found:
            return tuple(found)

    def stream_events(
        self, query: EventQuery | None = None
    ) -> AbstractContextManager[Iterator[Event]]:
        """`events`, one at a time, read in one transaction that lasts as long as the
        `with` block."""
        from cqrs_cli.app.answers.log import EventQuery

        return self._stream_events(query or EventQuery())

    @contextmanager
    def _stream_events(self, query: EventQuery) -> Iterator[Iterator[Event]]:
        with self._reading(()):
            yield self._events(query)

    def _events(self, query: EventQuery) -> Iterator[Event]:
        from cqrs_cli.app.answers.log import Event

        log = self.store.log
        types = set(query.types)
        found: Iterator[RecordedEvent]
        if query.stream is not None:
            stream_type, _, stream_id = query.stream.rpartition(":")
            found = (
                e
                for e in log.read_stream(stream_type, stream_id, backwards=query.newest)
                if e.position > query.after and (not types or e.type in types)
            )
        else:
            found = log.read_all(
                query.after, limit=query.limit, types=types or None, backwards=query.newest
            )
        for count, e in enumerate(found, 1):
            if query.limit is not None and count > query.limit:
                return
            yield Event(
                e.position,
                e.event_id,
                e.stream_type,
                e.stream_id,
                e.version,
                e.type,
                e.schema_version,
                e.data,
                e.metadata,
                e.recorded_at,
            )

    # -- one state of the file per question ---------------------------------------------

    def reading(self, views: Sequence[str]) -> AbstractContextManager[sqlite3.Connection]:
        """One read transaction over `views`, checked first (see the module's doc): for
        what reads the file around the questions (the past's builders)."""
        return self._reading(views)

    @contextmanager
    def _reading(self, views: Sequence[str]) -> Iterator[sqlite3.Connection]:
        """One read transaction over `views`, checked first (see the module's doc)."""
        conn = self.store.conn
        with self._lock:
            if conn.in_transaction:
                # Asked inside the caller's own write transaction: that is one state already.
                self._check(views, first=False)
                yield conn
                return
            conn.execute("BEGIN")
            try:
                if self._check(views, first=True):
                    conn.execute("ROLLBACK")
                    self._catch_up()
                    conn.execute("BEGIN")
                    # Behind again only means a writer appended since: answer as of the
                    # head the catch-up reached.
                    self._check(views, first=False)
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")  # a read ends writing nothing

    def _check(self, views: Sequence[str], *, first: bool) -> bool:
        """Raise when a view is not fit to answer; True when they are behind the log and
        this model catches them up first. Only a `first` check looks at being behind."""
        if self.copy or self.suffix or not views:
            return False
        head, found = readiness.status(self.store, views)
        readiness.require_ready(found)
        late = [st for st in found if st.state == readiness.BEHIND]
        if not late or not first or self.behind == "answer":
            return False
        if self.behind == "catch_up" and can_write(self.store.path):
            return True
        view, path = late[0], self.store.path
        raise ViewsBehind(
            f"view {view.name} is at position {view.position} but the log's head is "
            f"{head}, and this process cannot write {path} to catch it up; run "
            f"`cqrs --db {path} sync` (or `cqrs --db {path} rebuild --all`) as a user "
            "who can write it"
        )

    def _catch_up(self) -> None:
        # The projections' code loads only here: a question rarely finds its views behind.
        from cqrs_cli.projections.runner import catch_up

        with open_store(self.store.path, write=True, create=False) as writer:
            catch_up(writer)

    # -- naming the user ----------------------------------------------------------------

    def _resolve(self, conn: sqlite3.Connection, who: Who) -> UserRef:
        table = f"user_profiles{self.suffix}"
        if isinstance(who, int):
            row = conn.execute(
                f"SELECT user_id, login, name FROM {table} WHERE user_id = ?", (who,)
            ).fetchone()
            if row is None:
                raise UnknownUser(f"no user has the id {who}")
            return UserRef(row[0], row[1], row[2])
        users = [
            UserRef(uid, login, name)
            for uid, login, name in conn.execute(
                f"SELECT user_id, login, name FROM {table} ORDER BY user_id"
            )
        ]
        return resolve_user(users, who)


def _search_sql(conn: sqlite3.Connection) -> str:
    """The condition of `search`: in the name or the account's name, in any case.
    SQLite's own lower() and LIKE fold ASCII letters only; Python's casefold folds all."""
    conn.create_function("cqrs_fold", 1, _fold, deterministic=True)
    return "(instr(cqrs_fold(v.name), :search) OR instr(cqrs_fold(v.account), :search))"


def _fold(value: str | None) -> str:
    return "" if value is None else value.casefold()


def resolve_user(users: Sequence[UserRef], text: str) -> UserRef:
    """The one user of `users` that `text` names (docs/access.md, "Naming the user").

    Steps, each only when the one before found nobody: an Odoo id or an exact login; the
    exact names together with the login prefixes; the name prefixes (case-insensitive).
    Several users at one step are refused, never guessed between, so nobody can take a
    name over by renaming themself.
    """
    wanted = text.strip()
    if not wanted:
        raise CqrsError("--as needs a user: an Odoo id, a login or a name", exit_code=EXIT_USAGE)
    low = wanted.casefold()
    number = whole_number(wanted)

    def login(u: UserRef) -> str:
        return str(u.login).casefold()

    def name(u: UserRef) -> str:
        return str(u.name or "").casefold()

    steps: tuple[Callable[[UserRef], bool], ...] = (
        lambda u: u.id == number or login(u) == low,
        lambda u: name(u) == low or login(u).startswith(low),
        lambda u: name(u).startswith(low),
    )
    for matches in steps:
        found = [u for u in users if matches(u)]
        if len(found) == 1:
            return found[0]
        if found:
            raise UnknownUser(
                f"{text!r} is ambiguous: {_logins(found)}; give the exact login or the id"
            )
    if not users:
        raise UnknownUser(f"no user matches {text!r}: no users synced yet")
    raise UnknownUser(f"no user matches {text!r}; known logins: {_logins(users)}")


def _logins(users: Sequence[UserRef], limit: int = 20) -> str:
    shown = ", ".join(u.login for u in users[:limit])
    return shown + (f" (and {len(users) - limit} more)" if len(users) > limit else "")


def org_chart(profiles: Sequence[Profile], root: int | None = None) -> OrgChart:
    """The chart of `profiles`: from `root` down, or everyone from the top down."""
    from cqrs_cli.app.answers.people import OrgChart, OrgNode

    by_id = {p.id: p for p in profiles}
    drawn: set[int] = set()

    def grow(p: Profile) -> OrgNode:
        drawn.add(p.id)
        children = []
        for sub in p.subordinates:
            if sub in by_id and sub not in drawn:  # `drawn` stops a looping chain
                children.append(grow(by_id[sub]))
        return OrgNode(p.id, p.login, p.name, p.access, p.active, tuple(children))

    if root is not None:
        return OrgChart((grow(by_id[root]),) if root in by_id else ())
    roots = [grow(p) for p in profiles if p.manager_id is None or p.manager_id not in by_id]
    # Users only reachable through a loop.
    roots += [grow(p) for p in profiles if p.id not in drawn]
    return OrgChart(tuple(roots))


def open_read_model(
    path: Path, *, migrate: bool = True, behind: Behind | None = None, roomy: bool = False
) -> ReadModel:
    """Open `path` for questions: read-only, which is all a question needs when the views
    are current (the usual case: the writer catches them up in the batch that appends).

    Views found behind the log are met as `behind` says; by default they are caught up
    first on a file this process can write, and refused (`ViewsBehind`, naming the fix)
    on one it cannot. With `migrate`, a writable file at an older schema is migrated (and
    opened for writing); otherwise `NeedsMigration` says what to run. `roomy` gives the
    connection a page cache that holds a large view: worth it for a process that asks
    many questions (a server), not for one question, whose pages are read once (and
    whose memory then stays flat however many rows it streams). Close the model when
    done (it is a context manager).
    """
    writable = can_write(path)
    try:
        store = open_store(path)
    except NeedsMigration:
        if not (migrate and writable):
            raise
        store = open_store(path, write=True, create=False)
    try:
        if roomy:
            roomy_cache(store.conn)
        chosen: Behind = behind or ("catch_up" if writable else "refuse")
        return ReadModel(store, behind=chosen, owns_store=True)
    except BaseException:
        store.close()
        raise
