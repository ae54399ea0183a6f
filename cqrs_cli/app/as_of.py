"""`--as-of WHEN`: the read model's questions as they stood right after a position of the
log (docs/past.md).

`ReadModel.as_of(when)` gives a `PastModel`: a `ReadModel` whose questions (`user`,
`opportunities`, `stream_opportunities`, `can_see`, `metrics`, `profiles`, `hierarchy`)
are answered by `ReadModel`'s own code over a copy of the views at that position. The
copy is built for the question, in memory, by the projections' own code
(`cqrs_cli/projections/past.py`): one set of rules, nothing to drift. The answers are the
current ones' types; `can_see` and `metrics` add `as_of` (`answers/past.py`). A WHEN at
or after the head gives the current answer, from the live views. The file is only read.

For a filter of events by what a user could see (webhooks: "only events about
opportunities USER could see right before or right after the event"): `visible_at`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

from cqrs_cli.app.answers.opportunities import (
    Opportunities,
    OpportunityFilter,
    OpportunityStream,
)
from cqrs_cli.app.answers.past import (
    CanSeeAsOf,
    CanSeeExplainedAsOf,
    MetricsAsOf,
    Moment,
)
from cqrs_cli.app.answers.users import UserRef, Who
from cqrs_cli.app.answers.visibility import CanSee, CanSeeExplained, Reason
from cqrs_cli.app.read_model import (
    CAN_SEE_VIEWS,
    METRICS_VIEWS,
    OPPORTUNITY_VIEWS,
    ReadModel,
    UnknownUser,
    ViewsBehind,
)
from cqrs_cli.app.when import AsOf, resolve
from cqrs_cli.projections import readiness
from cqrs_cli.store.files import Store
from cqrs_cli.store.log import EventLog

if TYPE_CHECKING:
    from cqrs_cli.app.answers.metrics import Metrics
    from cqrs_cli.app.answers.people import OrgChart, Profiles
    from cqrs_cli.projections.past import PastOrg, PastOrgs, PastViews

# What the past is read from, besides the log: checked (and caught up) as any view is.
PAST_VIEWS = ("opportunity_versions",)
SEE_VIEWS = ("user_access_matrix",)  # what `reasons` builds


def at_position(model: ReadModel, when: str | int | None, *, option: str = "--as-of") -> AsOf:
    """The position WHEN (text, a position, or None for the head) stands for, for
    `model`'s answers: the head is where its views stand (behind the log's, for a model
    answering from views as they stand)."""
    with model.reading(PAST_VIEWS):
        head, found = readiness.status(model.store, PAST_VIEWS)
        head = min(head, *(view.position for view in found))
        text = f"#{head if when is None else when}" if not isinstance(when, str) else when
        return resolve(model.store.log, text, option=option, head=head)


class NotSyncedYet(UnknownUser):
    """The user exists now but not at the position asked about."""


class PastModel(ReadModel):
    """The questions as of `at`; the current answers when it is the head.

    What a question needs is built once (the org at that position, a user's views) and
    kept until `close`. Closing it closes `live` too when `owns_live`. The org comes from
    `orgs` when given, shared with the questions asked at other positions (a filter of
    events asks at each one), else from a cache of its own.
    """

    def __init__(
        self,
        live: ReadModel,
        at: AsOf,
        *,
        owns_live: bool = False,
        orgs: PastOrgs | None = None,
    ) -> None:
        from cqrs_cli.projections.past import PastOrgs

        super().__init__(live.store, behind=live.behind)
        self.live = live
        self.at = at
        self.owns_live = owns_live
        self._own_orgs = orgs is None
        self.orgs = PastOrgs(live.store.log, keep=1) if orgs is None else orgs
        self._org: PastOrg | None = None
        self._profiles_copy: _Copy | None = None
        self._copies: dict[int, _Copy] = {}

    @property
    def moment(self) -> Moment:
        assert self.at is not None
        return self.at.moment()

    @property
    def current(self) -> bool:
        return self.at is None or self.at.current

    def close(self) -> None:
        for copy in [*self._copies.values(), self._profiles_copy]:
            if copy is not None:
                copy.close()
        self._copies.clear()
        self._profiles_copy = None
        if self._own_orgs:
            self.orgs.close()
        if self.owns_live:
            self.live.close()

    def __enter__(self) -> PastModel:
        return self

    # -- the questions, as of the position ------------------------------------------------

    def user(self, who: Who) -> UserRef:
        """The user `who` names, as they were then: named among the users of that time
        (docs/access.md, "Naming the user"); when nobody fits then, among today's (a
        login changed since), provided that user existed then."""
        if self.current:
            return self.live.user(who)
        then = self._org_model()
        try:
            return then.user(who)
        except UnknownUser as at_then:
            try:
                today = self.live.user(who)
            except UnknownUser:
                raise at_then from None
            try:
                return then.user(today.id)
            except UnknownUser:
                assert self.at is not None
                raise NotSyncedYet(
                    f"{today.login} was not synced yet at {self.at.label()}"
                ) from None

    def stream_opportunities(
        self, who: Who, filters: OpportunityFilter | None = None
    ) -> AbstractContextManager[OpportunityStream]:
        if self.current:
            return self.live.stream_opportunities(who, filters)
        user = self.user(who)
        return self._copy(user.id, OPPORTUNITY_VIEWS).stream_opportunities(user.id, filters)

    def opportunities(self, who: Who, filters: OpportunityFilter | None = None) -> Opportunities:
        if self.current:
            return self.live.opportunities(who, filters)
        user = self.user(who)
        return self._copy(user.id, OPPORTUNITY_VIEWS).opportunities(user.id, filters)

    def can_see(self, who: Who, *, explain: bool = False) -> CanSee:
        if self.current:
            found = self.live.can_see(who, explain=explain)
        else:
            user = self.user(who)
            found = self._copy(user.id, CAN_SEE_VIEWS).can_see(user.id, explain=explain)
        at = self.moment
        if isinstance(found, CanSeeExplained):
            return CanSeeExplainedAsOf(
                found.user, found.opportunities, found.accounts, found.reasons, at
            )
        return CanSeeAsOf(found.user, found.opportunities, found.accounts, at)

    def metrics(self, who: Who) -> Metrics:
        if self.current:
            found = self.live.metrics(who)
        else:
            user = self.user(who)
            found = self._copy(user.id, METRICS_VIEWS).metrics(user.id)
        return MetricsAsOf(found.user, found.own, found.team, self.moment)

    def profiles(self) -> Profiles:
        return self.live.profiles() if self.current else self._org_model().profiles()

    def hierarchy(self, root: Who | None = None) -> OrgChart:
        if self.current:
            return self.live.hierarchy(root)
        return self._org_model().hierarchy(None if root is None else self.user(root).id)

    def reasons(self, user_id: int, only: Iterable[int]) -> dict[int, Reason]:
        """Which of the opportunities `only` user `user_id` saw, with the reasons (none
        for a user not synced then): over the access matrix of the org with these
        opportunities alone, whose rows for them are the ones it has with every other
        opportunity there too. The org's share of the matrix is built once per org
        (`PastOrgs.views`); the opportunities and their accounts are added to it for the
        question and taken back. Read with the query `ReadModel.can_see` runs
        (`reads.visible_sql`), without `user_profiles`, which would double the cost and
        only names the user."""
        from cqrs_cli.projections import reads
        from cqrs_cli.projections.opportunity_versions import OpportunityVersions
        from cqrs_cli.projections.past import question_records

        wanted = set(only)
        position = self.moment.position
        with self.live.reading(PAST_VIEWS):
            versions = OpportunityVersions().versions_at(self.store.conn, wanted, position)
            kept = [p for p, _, _, present in versions.values() if present]
            org = self.org()
            fed = question_records(self.store.log, org, kept)
        with self.orgs.views(org, SEE_VIEWS).adding(fed) as conn:
            sql, params = reads.visible_sql(conn, user_id)
            rows = conn.execute(sql, params).fetchall()
        return {
            oid: ({"reason": reason, "via": via} if via else {"reason": reason})
            for oid, reason, via, _ in rows
            if oid in wanted
        }

    # -- what is built ----------------------------------------------------------------------

    def org(self) -> PastOrg:
        """The org at the position: its records and the chart they form."""
        if self._org is None:
            with self.live.reading(PAST_VIEWS):
                self._org = self.orgs.at(self.moment.position)
        return self._org

    def _org_model(self) -> ReadModel:
        """The read model over the views that depend on the org alone (`user_profiles`)."""
        from cqrs_cli.projections.past import org_views

        if self._profiles_copy is None:
            self._profiles_copy = _Copy(org_views(self.org(), ("user_profiles",)))
        return self._profiles_copy.model

    def _copy(self, user_id: int, names: Sequence[str]) -> ReadModel:
        """The read model over `names` as they stood, built from the records that can
        matter to `user_id` (rebuilt with more views when a question needs them)."""
        from cqrs_cli.projections.opportunity_versions import OpportunityVersions
        from cqrs_cli.projections.past import opportunities_for

        found = self._copies.get(user_id)
        if found is not None and set(names) <= found.names:
            return found.model
        wanted = sorted(set(names) | (found.names if found else set()))
        with self.live.reading(PAST_VIEWS):
            positions = opportunities_for(
                self.store.conn, self.org(), user_id, OpportunityVersions()
            )
            built = _Copy(self._build(wanted, positions))
        if found is not None:
            found.close()
        self._copies[user_id] = built
        return built.model

    def _build(self, names: Sequence[str], positions: Iterable[int]) -> PastViews:
        from cqrs_cli.projections.past import PastViews, records_for

        return PastViews(names, records_for(self.store.log, self.org(), positions))


class _Copy:
    """Views built as of a position, and a read model over them (no checkpoints)."""

    def __init__(self, views: PastViews) -> None:
        self.views = views
        self.names = set(views.names)
        store = Store(Path(":memory:"), views.conn, EventLog(views.conn))
        self.model = ReadModel(store, copy=True)

    def close(self) -> None:
        self.views.close()

    def __enter__(self) -> _Copy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def past_model(
    live: ReadModel, when: str | int, *, owns_live: bool = False, orgs: PastOrgs | None = None
) -> PastModel:
    """`live`'s questions as of WHEN (see `ReadModel.as_of`); the org from `orgs` when
    given (see `PastModel`)."""
    return PastModel(live, at_position(live, when), owns_live=owns_live, orgs=orgs)


def visible_at(
    store: Store,
    user_id: int,
    position: int,
    *,
    only: Iterable[int] | None = None,
    orgs: PastOrgs | None = None,
) -> dict[int, Reason]:
    """What user `user_id` could see right after `position`: opportunity id -> its
    reason (`{"reason"}`, or `{"reason", "via"}` for a subordinate's). Nothing for 0 or
    less (the log was empty) or for a user not synced yet then; a position past the head
    is the head. With `only`, just among these opportunities.

    "Could USER see opportunity O right before or right after the event at p" (a filter
    of webhooks): O in `visible_at(store, uid, p - 1, only=[O])` or in
    `visible_at(store, uid, p, only=[O])`.

    Cost, read-only, one read transaction per step: the org at that position (the newest
    event of each user, employee, team, member and stage at or before it, found on the
    log's `events_by_type` index), then the views built in memory by the projections'
    code. With `only`, from those opportunities alone (their versions found on
    `opportunity_versions`' key), added to the views of the org alone: about 50 ms on
    the 1,000-user org of `benchmarks/history.py`, nearly all of it the org and its
    views, which `orgs` (a `PastOrgs`) keeps for the next question: asked again at a
    position with no org event in between, well under a millisecond. Without `only`,
    from every opportunity that can matter to the user, read by position: about 0.3 s
    for a manager seeing 2,400 of 100,000. `store` may be any open store whose
    `opportunity_versions` view has reached `position` (a writer's, after its catch-up);
    before that, `ViewsBehind`.
    """
    if position < 1:
        return {}
    with past_model(ReadModel(store, behind="answer"), position, orgs=orgs) as past:
        wanted = min(position, store.log.head())
        if past.moment.position < wanted:
            raise ViewsBehind(
                f"view opportunity_versions is at position {past.moment.position}: it cannot"
                f" say what was visible at {wanted} before it is caught up"
            )
        try:
            if only is not None:
                return past.reasons(user_id, only)
            found = past.can_see(user_id, explain=True)
        except UnknownUser:  # no such user, or not synced yet then
            return {}
    assert isinstance(found, CanSeeExplained)
    return {int(oid): why for oid, why in found.reasons.items()}
