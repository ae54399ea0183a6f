"""`cqrs changes --as USER --since WHEN [--until WHEN]`: what changed in what USER can see.

The difference of two as-of answers of `view` (docs/past.md): the opportunities USER
saw at `until` and not at `since` (`gained`, with the reason, and `new` when created in
between), those seen at `since` and not any more (`lost`, with why), and those seen at
both whose fields moved (`changed`: stage, won or lost, expected revenue, ...).

Why one was lost is read from the records at both ends, first that applies:
`deleted` (deleted in Odoo, or turned back into a lead), `archived` (USER was archived),
`access` (USER's sales access changed, or USER is gone), `reassigned` (another
salesperson), `company` (the opportunity's company, or USER's companies, changed),
`hierarchy moved` (same salesperson, no longer below USER in the org chart).
"""

from __future__ import annotations

from typing import Any

from cqrs_cli.app.as_of import Past
from cqrs_cli.app.when import AsOf, resolve
from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError
from cqrs_cli.projections.opportunity_versions import OpportunityVersions
from cqrs_cli.store.files import Store

# The fields of a `view` item compared between both ends, in this order.
FIELDS = ("name", "status", "stage", "expected_revenue", "probability", "salesperson", "account")
WHYS = ("deleted", "archived", "access", "reassigned", "company", "hierarchy moved")


def span(store: Store, since: str, until: str | None) -> tuple[AsOf, AsOf]:
    """The two positions, `until` defaulting to the head; `since` after it is refused."""
    start = resolve(store.log, since, option="--since")
    end = resolve(store.log, until if until is not None else "#" + str(store.log.head()),
                  option="--until")  # fmt: skip
    if start.position > end.position:
        raise CqrsError(
            f"--since {since} ({start.label()}) is after --until {until} ({end.label()})",
            exit_code=EXIT_USAGE,
        )
    return start, end


def _person(before: Past, after: Past, as_user: str) -> dict[str, Any]:
    """USER as they were at `until`, else as they were at `since`."""
    try:
        return after.person(as_user)
    except CqrsError as at_end:
        try:
            return before.person(as_user)
        except CqrsError:
            raise at_end from None


def changes(store: Store, as_user: str, since: str, until: str | None = None) -> dict[str, Any]:
    """The pinned JSON of `cqrs changes`."""
    start, end = span(store, since, until)
    with Past(store, start) as before, Past(store, end) as after:
        user = _person(before, after, as_user)
        uid = user["id"]
        old, _ = before.seen(uid)
        new, reasons = after.seen(uid)
        gained_ids = sorted(new.keys() - old.keys())
        lost_ids = sorted(old.keys() - new.keys())
        versions = OpportunityVersions()
        created = versions.first_positions(store.conn, gained_ids)
        gained = []
        for oid in gained_ids:
            item: dict[str, Any] = {"id": oid, "name": new[oid]["name"], **reasons[oid]}
            if created.get(oid, 0) > start.position:
                item["new"] = True
            gained.append(item)
        whys = _whys(store, before, after, uid, lost_ids)
        lost = [{"id": oid, "name": old[oid]["name"], "why": whys[oid]} for oid in lost_ids]
        changed = []
        for oid in sorted(old.keys() & new.keys()):
            fields = {
                f: {"old": old[oid][f], "new": new[oid][f]}
                for f in FIELDS
                if old[oid][f] != new[oid][f]
            }
            if fields:
                changed.append({"id": oid, "name": new[oid]["name"], "fields": fields})
    return {
        "user": user,
        "since": start.as_json(),
        "until": end.as_json(),
        "gained": gained,
        "lost": lost,
        "changed": changed,
    }


def _whys(store: Store, before: Past, after: Past, uid: int, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    versions = OpportunityVersions()
    was = versions.versions_at(store.conn, ids, before.at.position)
    now = versions.versions_at(store.conn, ids, after.at.position)
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
