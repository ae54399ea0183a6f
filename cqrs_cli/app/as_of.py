"""`--as-of WHEN`: the answers of `view`, `whoami-can-see`, `metrics` and `users` as they
stood right after a position of the log (docs/past.md).

Each function returns the JSON of the current command, plus the position it is as of:
`whoami_can_see` and `metrics` put `"as_of": {"position", "recorded_at"}` in their
object; `view` and `users`, whose JSON is a list, return it beside the list. A WHEN at
or after the head gives the current answer, from the live views.

The past is computed by the projections' own code (`cqrs_cli/projections/past.py`): the
views rebuilt, in memory, from the records that existed at that position and matter to
the question. The file is only read. Open it with `AS_OF_VIEWS` current (`open_current`).

For a filter of events by what a user could see (webhooks, "only events about
opportunities USER could see before or after the event"): `visible_at(store, user_id,
position)` is the set the user saw right after `position`, with the reasons. Its cost is
one as-of answer: the org at that position (the events of users, employees, teams and
stages, read on the `events_by_type` index) plus the user's opportunities, read by
position (`benchmarks/history.py`: ~0.35 s for a manager seeing 2,400 of 100,000). With
`only=ids` it feeds just those opportunities, which is all an event filter needs:
opportunity O was visible before or after the event at p when O is in
`visible_at(store, uid, p - 1, only=[O])` or in `visible_at(store, uid, p, only=[O])`
(~50 ms each on the benchmark's 1,000-user org, nearly all of it the org).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cqrs_cli.app.queries import (
    STATUSES,
    UnknownUser,
    can_see,
    metrics_of,
    profiles,
    resolve_user,
    visible_opportunities,
)
from cqrs_cli.app.when import AsOf, resolve
from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError
from cqrs_cli.projections.opportunity_versions import OpportunityVersions
from cqrs_cli.projections.past import (
    PastOrg,
    PastViews,
    opportunities_for,
    org_views,
    records_for,
)
from cqrs_cli.store.files import Store
from cqrs_cli.store.log import EventLog

# The views an as-of question reads: the live ones for an answer at the head, and the
# temporal index for the past.
AS_OF_VIEWS = (
    "user_profiles",
    "opportunity_view",
    "user_access_matrix",
    "dashboard_metrics",
    "opportunity_versions",
)
VIEW_NAMES = ("opportunity_view", "user_access_matrix")
SEE_NAMES = ("user_access_matrix",)
METRICS_NAMES = ("dashboard_metrics",)
# The fields of `cqrs users --format json` (cqrs_cli/cli/commands/users.py).
USER_FIELDS = (
    "id",
    "login",
    "name",
    "active",
    "employee_id",
    "manager_id",
    "subordinates",
    "all_subordinates",
    "teams",
    "access",
)


def _scratch_store(views: PastViews) -> Store:
    """The in-memory views as a Store, for the read functions of `queries`."""
    return Store(Path(":memory:"), views.conn, EventLog(views.conn))


class Past:
    """The answers as of one position; the current ones when it is the head.

    Builds what each question needs once (the org, a user's views) and keeps it until
    `close`. Only reads the file.
    """

    def __init__(self, store: Store, at: AsOf) -> None:
        self.store = store
        self.at = at
        self._org: PastOrg | None = None
        self._profiles: PastViews | None = None
        self._views: dict[tuple[int, tuple[str, ...]], PastViews] = {}

    def __enter__(self) -> Past:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for views in [*self._views.values(), *([self._profiles] if self._profiles else [])]:
            views.close()
        self._views.clear()
        self._profiles = None

    # -- what is built ----------------------------------------------------------------------

    def org(self) -> PastOrg:
        if self._org is None:
            self._org = PastOrg(self.store.log, self.at.position)
        return self._org

    def _profiles_store(self) -> Store:
        if self.at.current:
            return self.store
        if self._profiles is None:
            self._profiles = org_views(self.org(), ("user_profiles",))
        return _scratch_store(self._profiles)

    def _views_of(self, user_id: int, names: Sequence[str]) -> Store:
        if self.at.current:
            return self.store
        key = (user_id, tuple(names))
        if key not in self._views:
            positions = opportunities_for(
                self.store.conn, self.org(), user_id, OpportunityVersions()
            )
            self._views[key] = self._build(names, positions)
        return _scratch_store(self._views[key])

    def _build(self, names: Sequence[str], positions: Iterable[int]) -> PastViews:
        return PastViews(names, records_for(self.store.log, self.org(), positions))

    # -- the questions ------------------------------------------------------------------------

    def person(self, text: str) -> dict[str, Any]:
        """The user `text` names, as they were at this position: `{"id", "login", "name"}`.

        Named among the users of that time (docs/access.md, "Naming the user"); when
        nobody fits then, among today's (a login changed since), provided that user
        existed then."""
        then = self._profiles_store()
        try:
            return resolve_user(then.conn, text)
        except UnknownUser as at_then:
            if self.at.current:
                raise
            try:
                today = resolve_user(self.store.conn, text)
            except UnknownUser:
                raise at_then from None
            found = self.user_then(today["id"])
            if found is None:
                raise CqrsError(
                    f"{today['login']} was not synced yet at {self.at.label()}"
                ) from None
            return found

    def user_then(self, user_id: int) -> dict[str, Any] | None:
        """`{"id", "login", "name"}` of the user at this position, None when not synced yet."""
        row = (
            self._profiles_store()
            .conn.execute(
                "SELECT user_id, login, name FROM user_profiles WHERE user_id = ?", (user_id,)
            )
            .fetchone()
        )
        return None if row is None else {"id": row[0], "login": row[1], "name": row[2]}

    def view(
        self, user_id: int, *, status: str | None = None, stage: str | None = None
    ) -> list[dict[str, Any]]:
        """`cqrs view`'s items."""
        return visible_opportunities(
            self._views_of(user_id, VIEW_NAMES), user_id, status=status, stage=stage
        )

    def seen(self, user_id: int) -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
        """`view`'s items by id, and the reasons (with `via`) by id, from one build."""
        views = self._views_of(user_id, VIEW_NAMES)
        items = {item["id"]: item for item in visible_opportunities(views, user_id)}
        reasons = can_see(views, user_id, explain=True)["reasons"]
        return items, {int(oid): why for oid, why in reasons.items()}

    def can_see(self, user_id: int, *, explain: bool = False) -> dict[str, Any]:
        """`queries.can_see`: visible opportunity ids, accounts, and reasons on request."""
        return can_see(self._views_of(user_id, SEE_NAMES), user_id, explain=explain)

    def reasons(self, user_id: int, only: Iterable[int]) -> dict[int, dict[str, Any]]:
        """Which of the opportunities `only` the user saw, with the reasons: the views
        built from these opportunities alone (and the org), whose rows for them are the
        same as with every other opportunity there."""
        wanted = set(only)
        if self.at.current:
            found = can_see(self.store, user_id, explain=True)["reasons"]
        else:
            versions = OpportunityVersions().versions_at(self.store.conn, wanted, self.at.position)
            positions = [position for position, _, _, present in versions.values() if present]
            with self._build(SEE_NAMES, positions) as views:
                found = can_see(_scratch_store(views), user_id, explain=True)["reasons"]
        return {int(oid): why for oid, why in found.items() if int(oid) in wanted}

    def metrics(self, user_id: int) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        return metrics_of(self._views_of(user_id, METRICS_NAMES), user_id)

    def users(self) -> list[dict[str, Any]]:
        """`queries.profiles` (every field)."""
        return profiles(self._profiles_store())


@dataclass(frozen=True)
class ViewAsOf:
    """`cqrs view --as-of`: the user as they were, the items of `view --format json`."""

    user: dict[str, Any]
    items: list[dict[str, Any]]
    as_of: AsOf


@dataclass(frozen=True)
class UsersAsOf:
    """`cqrs users --as-of`: the items of `users --format json`, and every profile field."""

    items: list[dict[str, Any]]
    profiles: list[dict[str, Any]]
    as_of: AsOf


def view(
    store: Store, as_user: str, when: str, *, status: str | None = None, stage: str | None = None
) -> ViewAsOf:
    if status is not None and status not in STATUSES:
        raise CqrsError(
            f"--status must be one of {', '.join(STATUSES)}, got {status!r}", exit_code=EXIT_USAGE
        )
    with Past(store, resolve(store.log, when)) as past:
        user = past.person(as_user)
        return ViewAsOf(user, past.view(user["id"], status=status, stage=stage), past.at)


def whoami_can_see(
    store: Store, as_user: str, when: str, *, explain: bool = False
) -> dict[str, Any]:
    """`cqrs whoami-can-see --format json`, plus `as_of`."""
    with Past(store, resolve(store.log, when)) as past:
        user = past.person(as_user)
        found = past.can_see(user["id"], explain=True)
        reasons = found.pop("reasons")
        value: dict[str, Any] = {"user": user, **found}
        if explain:
            value["reasons"] = reasons
        value["as_of"] = past.at.as_json()
        return value


def metrics(store: Store, as_user: str, when: str) -> dict[str, Any]:
    """`cqrs metrics --format json`, plus `as_of`."""
    with Past(store, resolve(store.log, when)) as past:
        user = past.person(as_user)
        own, team = past.metrics(user["id"])
        return {"user": user, "own": own, "team": team, "as_of": past.at.as_json()}


def users(store: Store, when: str) -> UsersAsOf:
    with Past(store, resolve(store.log, when)) as past:
        found = past.users()
        items = [{k: p[k] for k in USER_FIELDS} for p in found]
        return UsersAsOf(items, found, past.at)


def visible_at(
    store: Store, user_id: int, position: int, *, only: Iterable[int] | None = None
) -> dict[int, dict[str, Any]]:
    """What `user_id` could see right after `position` (0 or less: nothing, the log was
    empty): opportunity id -> `{"reason"}` or `{"reason", "via"}`. With `only`, just
    among these opportunities (cheaper: see the module's docstring)."""
    if position < 1:
        return {}
    head = store.log.head()
    at = min(position, head)
    with Past(store, AsOf(at, None, at == head)) as past:
        if only is not None:
            return past.reasons(user_id, only)
        reasons: dict[str, dict[str, Any]] = past.can_see(user_id, explain=True)["reasons"]
        return {int(oid): why for oid, why in reasons.items()}
