"""`cqrs changes --as USER --since WHEN [--until WHEN]`: what changed in what USER can see.

The difference of two as-of answers of `view` (`ReadModel.as_of`, docs/past.md): the
opportunities USER saw at `until` and not at `since` (`gained`, with the reason, and
`new` when created in between), those seen at `since` and not any more (`lost`, with
why), and those seen at both whose fields moved (`changed`: stage, won or lost,
expected revenue, ...).

Why one was lost is read from the records at both ends, first that applies:
`deleted` (deleted in Odoo, or turned back into a lead), `archived` (USER was archived),
`access` (USER's sales access changed, or USER is gone), `reassigned` (another
salesperson), `company` (the opportunity's company, or USER's companies, changed),
`hierarchy moved` (same salesperson, no longer below USER in the org chart).
"""

from __future__ import annotations

from cqrs_cli.app.answers.opportunities import Opportunity
from cqrs_cli.app.answers.past import Changed, Changes, FieldChange, Gained, Lost
from cqrs_cli.app.answers.users import UserRef, Who
from cqrs_cli.app.answers.visibility import CanSeeExplained, Reason
from cqrs_cli.app.as_of import PastModel, at_position
from cqrs_cli.app.read_model import ReadModel, UnknownUser
from cqrs_cli.app.when import AsOf
from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError

# The fields of a `view` item compared between both ends, in this order.
FIELDS = ("name", "status", "stage", "expected_revenue", "probability", "salesperson", "account")
WHYS = ("deleted", "archived", "access", "reassigned", "company", "hierarchy moved")


def span(model: ReadModel, since: str, until: str | None) -> tuple[AsOf, AsOf]:
    """The two positions, `until` defaulting to the head; `since` after it is refused."""
    start = at_position(model, since, option="--since")
    end = at_position(model, until, option="--until")
    if start.position > end.position:
        raise CqrsError(
            f"--since {since} ({start.label()}) is after --until {until} ({end.label()})",
            exit_code=EXIT_USAGE,
        )
    return start, end


def _person(before: PastModel, after: PastModel, who: Who) -> UserRef:
    """USER as they were at `until`, else as they were at `since`."""
    try:
        return after.user(who)
    except UnknownUser as at_end:
        try:
            return before.user(who)
        except UnknownUser:
            raise at_end from None


def _seen(past: PastModel, user_id: int) -> dict[int, Opportunity]:
    """`view`'s items by id; none for a user not synced yet then."""
    try:
        return {item.id: item for item in past.opportunities(user_id).items}
    except UnknownUser:
        return {}


def changes(model: ReadModel, who: Who, since: str, until: str | None = None) -> Changes:
    """The pinned JSON of `cqrs changes`."""
    from cqrs_cli.projections.opportunity_versions import OpportunityVersions

    start, end = span(model, since, until)
    with PastModel(model, start) as before, PastModel(model, end) as after:
        user = _person(before, after, who)
        uid = user.id
        old, new = _seen(before, uid), _seen(after, uid)
        reasons: dict[str, Reason] = {}
        if new:
            found = after.can_see(uid, explain=True)
            assert isinstance(found, CanSeeExplained)
            reasons = dict(found.reasons)
        gained_ids = sorted(new.keys() - old.keys())
        lost_ids = sorted(old.keys() - new.keys())
        with model.reading(("opportunity_versions",)):
            created = OpportunityVersions().first_positions(model.store.conn, gained_ids)
        gained: list[Gained] = []
        for oid in gained_ids:
            why = reasons[str(oid)]
            item: Gained = {"id": oid, "name": new[oid].name, "reason": why["reason"]}
            if "via" in why:
                item["via"] = why["via"]
            if created.get(oid, 0) > start.position:
                item["new"] = True
            gained.append(item)
        whys = _whys(model, before, after, uid, lost_ids)
        lost = tuple(Lost(oid, old[oid].name, whys[oid]) for oid in lost_ids)
        changed = []
        for oid in sorted(old.keys() & new.keys()):
            fields: dict[str, FieldChange] = {
                f: {"old": getattr(old[oid], f), "new": getattr(new[oid], f)}
                for f in FIELDS
                if getattr(old[oid], f) != getattr(new[oid], f)
            }
            if fields:
                changed.append(Changed(oid, new[oid].name, fields))
    return Changes(user, start.moment(), end.moment(), tuple(gained), lost, tuple(changed))


def _whys(
    model: ReadModel, before: PastModel, after: PastModel, uid: int, ids: list[int]
) -> dict[int, str]:
    from cqrs_cli.projections.opportunity_versions import OpportunityVersions

    if not ids:
        return {}
    versions = OpportunityVersions()
    with model.reading(("opportunity_versions",)):
        was = versions.versions_at(model.store.conn, ids, before.moment.position)
        now = versions.versions_at(model.store.conn, ids, after.moment.position)
    user = after.org().user(uid)
    access_then, access_now = before.org().access(uid), after.org().access(uid)
    out: dict[int, str] = {}
    for oid in ids:
        _, owner_then, company_then, _ = was[oid]
        current = now.get(oid)
        if current is None or not current[3]:
            out[oid] = "deleted"
        elif user is not None and not user.get("active", True):
            out[oid] = "archived"
        elif user is None or access_now != access_then:
            out[oid] = "access"
        elif current[1] != owner_then:
            out[oid] = "reassigned"
        elif current[2] != company_then or (
            current[2] is not None and current[2] not in (user.get("company_ids") or [])
        ):
            out[oid] = "company"
        else:
            out[oid] = "hierarchy moved"
    return out
