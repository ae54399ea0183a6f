"""Running projections: catch-up by checkpoint, pausing on errors, status and rebuild.

`catch_up(store)` is the one call the rest of the program makes: after every sync, and
before a query finds a view behind the log. It reads the log once from the lowest
checkpoint and feeds each projection the events past its own checkpoint; a batch commits
for every projection at once, with their checkpoints (docs/architecture.md).
"""

from __future__ import annotations

import gc
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from cqrs_cli.domain.errors import CqrsError
from cqrs_cli.projections import NAMES
from cqrs_cli.projections.base import Projection
from cqrs_cli.projections.readiness import BEHIND, state_of

# Where the views stand is read by `readiness.py`; these stay importable from here.
from cqrs_cli.projections.readiness import require_current as require_current
from cqrs_cli.projections.readiness import status as status
from cqrs_cli.projections.registry import make
from cqrs_cli.store.checkpoints import Checkpoint, load_checkpoint, save_checkpoint
from cqrs_cli.store.db import roomy_cache
from cqrs_cli.store.files import Store
from cqrs_cli.store.locks import REBUILD, hold, holder
from cqrs_cli.store.log import RecordedEvent

BATCH = 5000
# A rebuild commits less often: each commit writes every page the batch touched to the
# WAL, and a 10k batch touches nearly the same pages as a 5k one.
REBUILD_BATCH = 10_000
# Scratch tables are `<table>__rebuild_<run>`: private to one rebuild (or deep validation),
# so two runs never write into each other's copy. Only one runs at a time anyway: they
# hold the REBUILD_LOCK on the file, and record their suffix in it, so whoever finds
# scratch tables can tell the running one's from those a killed run left behind.
SCRATCH = "__rebuild"
REBUILD_LOCK = REBUILD


@dataclass
class CatchUpReport:
    applied: dict[str, int] = field(default_factory=dict)  # events applied per projection
    paused: dict[str, str] = field(default_factory=dict)  # projection -> error


def _ensure_tables(conn: sqlite3.Connection, projection: Projection) -> None:
    # Bulk (scratch) tables get their secondary indexes at the swap: building an index once
    # over the finished table is cheaper than keeping it up to date through a replay.
    for sql in projection.create_sql() + ([] if projection.bulk else projection.index_sql()):
        conn.execute(sql)


class _Runner:
    """Feeds batches of events to projections: one transaction per batch for all of them,
    each projection inside its own savepoint.

    So views move together (a reader sees every view at the same position, never one
    ahead of another), and a projection that fails rolls back alone and pauses while the
    others commit. Each batch reads the checkpoints again under the write lock: a
    catch-up running in another process at the same time may have moved them, and a batch
    must never be applied twice.
    """

    def __init__(self, store: Store, items: list[tuple[Projection, Checkpoint]]) -> None:
        self.store = store
        self.items = items
        self.report = CatchUpReport()

    def feed(self, events: Sequence[RecordedEvent]) -> None:
        with self.store.transaction() as conn:
            for projection, cp in self.items:
                self._feed_one(conn, projection, cp, events)

    def _feed_one(
        self,
        conn: sqlite3.Connection,
        projection: Projection,
        cp: Checkpoint,
        events: Sequence[RecordedEvent],
    ) -> None:
        stored = load_checkpoint(conn, cp.name)
        if stored != cp:
            # Someone else moved this view since we last read it: what we hold in memory
            # (mirrors of its tables) is stale, and their position is the one to go on from.
            projection.discard()
            cp.position, cp.version, cp.status = stored.position, stored.version, stored.status
            cp.error, cp.error_position = stored.error, stored.error_position
        if cp.status == "paused" or cp.version != projection.version:
            return
        todo = [e for e in events if e.position > cp.position]
        if not todo:
            return
        try:
            self._apply(projection, cp, todo)
        except Exception:
            # Find the event that fails by applying one event per savepoint.
            projection.discard()
            for event in todo:
                try:
                    self._apply(projection, cp, [event])
                except Exception as exc:
                    projection.discard()
                    self._pause(conn, cp, event, exc)
                    break

    def _apply(self, projection: Projection, cp: Checkpoint, events: list[RecordedEvent]) -> None:
        with self.store.transaction() as conn:  # a savepoint inside the batch's transaction
            projection.begin(conn)
            for event in events:
                projection.apply(event)
            projection.flush(conn)
            new = Checkpoint(cp.name, events[-1].position, projection.version)
            save_checkpoint(conn, new)
        cp.position, cp.version = new.position, new.version
        self.report.applied[cp.name] = self.report.applied.get(cp.name, 0) + len(events)

    def _pause(
        self, conn: sqlite3.Connection, cp: Checkpoint, event: RecordedEvent, exc: Exception
    ) -> None:
        cp.status = "paused"
        cp.error = f"{event.type} at position {event.position}: {type(exc).__name__}: {exc}"
        cp.error_position = event.position
        save_checkpoint(conn, cp)
        self.report.paused[cp.name] = cp.error


def catch_up(
    store: Store,
    names: Sequence[str] = NAMES,
    *,
    batch: int = BATCH,
) -> CatchUpReport:
    """Bring every runnable projection to the head of the log.

    Paused projections and those whose version changed are left alone (see `status`).
    Cheap when nothing is new: one query for the head and one per checkpoint. Call it
    outside any open transaction (after the sync committed): each batch must be able to
    roll back on its own for a failing event to pause only its projection.
    """
    if store.conn.in_transaction:
        raise RuntimeError("catch_up must run outside an open transaction")
    roomy_cache(store.conn)  # the query that follows reads the same view pages again
    drop_orphans(store)  # cheap when there are none: one look at the schema
    head = store.log.head()
    items: list[tuple[Projection, Checkpoint]] = []
    for name in names:
        projection = make(name)
        cp = load_checkpoint(store.conn, name)
        if cp.version is None:
            with store.transaction() as conn:
                # Again under the write lock: another catch-up may have created it meanwhile.
                cp = load_checkpoint(conn, name)
                if cp.version is None:
                    _ensure_tables(conn, projection)
                    cp.version = projection.version
                    save_checkpoint(conn, cp)
        if state_of(cp, projection.version, head) == BEHIND:
            items.append((projection, cp))
    runner = _Runner(store, items)
    if not items:
        return runner.report
    start = min(cp.position for _, cp in items)
    _replay(store, start, runner.feed, batch)
    return runner.report


def _replay(
    store: Store,
    after: int,
    feed: Callable[[list[RecordedEvent]], None],
    batch: int,
    progress: Callable[[int], None] | None = None,
) -> int:
    roomy_cache(store.conn)
    count = 0
    for page in store.log.projection_pages(after, batch):
        feed(page)
        count += len(page)
        if progress:
            progress(len(page))
    return count


def resume(store: Store, name: str) -> None:
    """Clear a pause so the next catch-up retries the event that failed."""
    with store.transaction() as conn:
        cp = load_checkpoint(conn, name)
        cp.status, cp.error, cp.error_position = "running", None, None
        save_checkpoint(conn, cp)


# -- rebuild ------------------------------------------------------------------------------------


@dataclass
class RebuildReport:
    names: list[str]
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("inf")


def _drop(conn: sqlite3.Connection, projection: Projection) -> None:
    for index in projection.index_names():
        conn.execute(f"DROP INDEX IF EXISTS {index}")
    for table in projection.table_names():
        conn.execute(f"DROP TABLE IF EXISTS {table}")


def new_suffix() -> str:
    """The scratch suffix of one run."""
    return f"{SCRATCH}_{uuid.uuid4().hex[:12]}"


def scratch_tables(conn: sqlite3.Connection) -> list[str]:
    """Every scratch table in the file (`__rebuild` alone: those of older versions)."""
    return [
        str(r[0])
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            " AND (name GLOB ? OR name GLOB ?) ORDER BY name",
            (f"*{SCRATCH}", f"*{SCRATCH}_*"),
        )
    ]


def orphan_tables(store: Store) -> list[str]:
    """Scratch tables no running rebuild owns: what a killed rebuild left behind."""
    names = scratch_tables(store.conn)  # listed first: a rebuild starting later gets new names
    if not names:
        return []
    owner = holder(store.path, REBUILD_LOCK)
    if owner is None:
        return names
    running = owner.detail.get("scratch")
    if running is None:
        return []  # a holder that has not said which are its: leave them all
    return [n for n in names if not n.endswith(running)]


def drop_orphans(store: Store) -> list[str]:
    """Drop the scratch tables a killed run left (their indexes go with them)."""
    orphans = orphan_tables(store)
    if orphans:
        with store.transaction() as conn:
            for name in orphans:
                conn.execute(f"DROP TABLE IF EXISTS {_quoted(name)}")
    return orphans


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@contextmanager
def rebuild_lock(store: Store, suffix: str) -> Iterator[None]:
    """One rebuild or deep validation per file at a time; a second one is refused with a
    one-line error that names the first. Orphaned scratch tables are dropped on entry."""
    with hold(store.path, REBUILD_LOCK, detail={"scratch": suffix}):
        drop_orphans(store)
        yield


def rebuild_into_scratch(
    store: Store,
    names: Sequence[str],
    *,
    batch: int = REBUILD_BATCH,
    progress: Callable[[int], None] | None = None,
    suffix: str | None = None,
) -> tuple[list[Projection], int]:
    """Replay the whole log into fresh `<table>__rebuild_<run>` tables; the live views are
    untouched. Hold `rebuild_lock` with the same suffix around it.

    Returns the scratch projections (their `table_names()` say where the rows are) and the
    position they reached. `drop_scratch` removes them; `swap_in` makes them live.
    """
    suffix = suffix or new_suffix()
    scratch = [make(name, suffix=suffix) for name in names]
    for projection in scratch:
        projection.bulk = True
        projection.defer = True  # the scratch tables are empty and nobody reads them yet
    with store.transaction() as conn:
        for projection in scratch:
            _drop(conn, projection)
            _ensure_tables(conn, projection)
    position = 0

    def feed(events: list[RecordedEvent]) -> None:
        nonlocal position
        with store.transaction() as conn:
            for projection in scratch:
                projection.begin(conn)
                # `apply` without the method call: its handler table, looked up inline.
                handler_of = projection.handlers().get
                for event in events:
                    handler = handler_of(event.type)
                    if handler is None:
                        continue
                    try:
                        handler(projection, event)
                    except Exception as exc:
                        raise CqrsError(
                            f"rebuild of {projection.name} failed on {event.type} at position "
                            f"{event.position}: {type(exc).__name__}: {exc}"
                        ) from exc
                projection.flush(conn)
        position = events[-1].position

    try:
        with pause_cyclic_gc():
            _replay(store, 0, feed, batch, progress)
            with store.transaction() as conn:
                for projection in scratch:
                    projection.end_replay(conn)
    except BaseException:
        drop_scratch(store, scratch)
        raise
    return scratch, position


@contextmanager
def pause_cyclic_gc() -> Iterator[None]:
    """Pause the cycle collector while building many containers that hold no cycles.

    A replay allocates millions of short-lived dicts and lists (decoded payloads) that
    reference counting frees on its own, but each allocation counts towards the
    collector's thresholds, and its generation-2 passes walk every live object again and
    again: a quarter of a rebuild's time (and a tenth of a `view` query's). The collector
    resumes afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def drop_scratch(store: Store, scratch: Sequence[Projection]) -> None:
    with store.transaction() as conn:
        for projection in scratch:
            projection.discard()
            _drop(conn, projection)


def swap_in(
    store: Store, scratch: Sequence[Projection], position: int, *, batch: int = BATCH
) -> None:
    """Catch the scratch tables up to the head and make them live, in one transaction."""
    with store.transaction() as conn:
        events = [e for page in store.log.projection_pages(position, batch) for e in page]
        if events:
            for projection in scratch:
                projection.begin(conn)
                for event in events:
                    projection.apply(event)
                projection.flush(conn)
            position = events[-1].position
        for projection in scratch:
            live = make(projection.name)
            _drop(conn, live)
            for index in projection.index_names():
                conn.execute(f"DROP INDEX IF EXISTS {index}")
            for base in projection.tables:
                conn.execute(f"ALTER TABLE {projection.t(base)} RENAME TO {base}")
            for sql in live.index_sql():
                conn.execute(sql)
            save_checkpoint(conn, Checkpoint(live.name, position, live.version))


def rebuild(
    store: Store,
    names: Sequence[str],
    *,
    batch: int = REBUILD_BATCH,
    progress: Callable[[int], None] | None = None,
) -> RebuildReport:
    """Replay from position 0 into fresh tables and swap them in; readers see the old view
    until the swap commits."""
    started = time.perf_counter()
    suffix = new_suffix()
    with rebuild_lock(store, suffix):
        scratch, position = rebuild_into_scratch(
            store, names, batch=batch, progress=progress, suffix=suffix
        )
        try:
            swap_in(store, scratch, position, batch=batch)
        except BaseException:
            drop_scratch(store, scratch)
            raise
    seconds = time.perf_counter() - started
    return RebuildReport(list(names), store.log.head(), seconds)
