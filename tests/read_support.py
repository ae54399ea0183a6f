"""Building organisations for read-side tests by appending events straight to the log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from cqrs_cli.app.answers.opportunities import OpportunityFilter
from cqrs_cli.app.read_model import ReadModel
from cqrs_cli.domain.event_types import event_type
from cqrs_cli.domain.records import RECORD_BY_MODEL
from cqrs_cli.store.envelope import EventMetadata, NewEvent
from cqrs_cli.store.files import Store, open_store

SALESMAN = "sales_team.group_sale_salesman"
ALL_LEADS = "sales_team.group_sale_salesman_all_leads"
MANAGER = "sales_team.group_sale_manager"
SYSTEM = "base.group_system"

USERS, EMPLOYEES, TEAMS, MEMBERS = "res.users", "hr.employee", "crm.team", "crm.team.member"
STAGES, ACCOUNTS, LEADS = "crm.stage", "res.partner", "crm.lead"


class Org:
    """Turns record dicts into Created / Updated / Deleted events, validated by records.py."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.known: dict[tuple[str, int], dict[str, Any]] = {}

    def put(self, model: str, **fields: Any) -> dict[str, Any]:
        """Create the record, or update it with `fields` merged into the last known one."""
        key = (model, int(fields["id"]))
        old = self.known.get(key)
        merged = {**(old or {}), **fields}
        record = RECORD_BY_MODEL[model].model_validate(merged).model_dump(mode="json")
        if old is None:
            data: dict[str, Any] = {"record": record}
            change = "Created"
        else:
            changes = {k: [old.get(k), v] for k, v in record.items() if old.get(k) != v}
            if not changes:
                return record
            data = {"record": record, "changes": changes}
            change = "Updated"
        self._append(model, key[1], change, data)
        self.known[key] = record
        return record

    def delete(self, model: str, rid: int) -> None:
        record = self.known.pop((model, rid))
        self._append(model, rid, "Deleted", {"record": record})

    def _append(self, model: str, rid: int, change: str, data: dict[str, Any]) -> None:
        event = NewEvent(
            type=event_type(model, change),
            data=data,
            metadata=EventMetadata(source="test"),
        )
        self.store.log.append(model, str(rid), [event])

    def user(self, uid: int, login: str, groups: list[str] | None = None, **kw: Any) -> None:
        kw.setdefault("name", login.title())
        kw.setdefault("company_id", 1)
        kw.setdefault("company_ids", [1])
        self.put(USERS, id=uid, login=login, groups=sorted(groups or []), **kw)

    def employee(
        self, eid: int, user_id: int | None, parent_id: int | None = None, **kw: Any
    ) -> None:
        kw.setdefault("name", f"Employee {eid}")
        self.put(EMPLOYEES, id=eid, user_id=user_id, parent_id=parent_id, **kw)

    def opp(self, oid: int, user_id: int | None, **kw: Any) -> None:
        kw.setdefault("name", f"Opportunity {oid}")
        kw.setdefault("company_id", 1)
        self.put(LEADS, id=oid, user_id=user_id, **kw)


def new_store(tmp_path: Path, name: str = "cqrs.db") -> Store:
    return open_store(tmp_path / name, write=True)


# The demo organisation of docs/demo.md, rebuilt by hand: 7 users, 23 opportunities.
# The pinned keys of a `view` row, in order (`view --format json`, the API's items).
VIEW_KEYS = [
    "id",
    "name",
    "status",
    "stage",
    "expected_revenue",
    "probability",
    "salesperson",
    "manager",
    "account",
    "reason",
    "via",
]

SUPERADMIN, VINSHA, ZAKARIYA, MITCHELL, MARC, LISA, JOEL = 2, 6, 7, 8, 9, 10, 11
STAGE_NEW, STAGE_QUALIFIED, STAGE_PROPOSITION, STAGE_WON = 1, 2, 3, 4


def demo_like(org: Org) -> None:
    org.user(SUPERADMIN, "admin", [SALESMAN, ALL_LEADS, MANAGER, SYSTEM], name="Mitchell Admin")
    org.user(VINSHA, "vinsha", [SALESMAN], name="Vinsha")
    org.user(ZAKARIYA, "zakariya", [SALESMAN], name="Zakariya")
    org.user(MITCHELL, "mitchell", [SALESMAN], name="Mitch Lead")
    org.user(MARC, "marc", [SALESMAN], name="Marc Demo")
    org.user(LISA, "lisa", [SALESMAN], name="Lisa")
    org.user(JOEL, "joel", [SALESMAN], name="Joel")
    org.employee(1, SUPERADMIN)
    org.employee(2, VINSHA, 1)
    org.employee(3, ZAKARIYA, 2)
    org.employee(4, MITCHELL, 1)
    org.employee(5, MARC, 4)
    org.employee(6, LISA, 4)
    org.employee(7, JOEL, 4)
    org.put(TEAMS, id=1, name="Direct Sales", user_id=VINSHA)
    org.put(TEAMS, id=2, name="Partners", user_id=MITCHELL)
    for mid, (team, uid) in enumerate([(1, ZAKARIYA), (2, MARC), (2, LISA), (2, JOEL)], start=1):
        org.put(MEMBERS, id=mid, crm_team_id=team, user_id=uid)
    for sid, name, won in [
        (STAGE_NEW, "New", False),
        (STAGE_QUALIFIED, "Qualified", False),
        (STAGE_PROPOSITION, "Proposition", False),
        (STAGE_WON, "Won", True),
    ]:
        org.put(STAGES, id=sid, name=name, sequence=sid * 10, is_won=won)
    for aid in range(1, 6):
        org.put(ACCOUNTS, id=aid, name=f"Account {aid}", is_company=True)
    owners = [VINSHA] * 2 + [ZAKARIYA] * 2 + [MITCHELL] * 5 + [MARC] * 5 + [LISA] * 5 + [JOEL] * 4
    stages = [STAGE_NEW, STAGE_QUALIFIED, STAGE_PROPOSITION, STAGE_WON]
    for oid, owner in enumerate(owners, start=1):
        org.opp(
            oid,
            owner,
            stage_id=stages[oid % 4],
            partner_id=1 + oid % 5,
            team_id=1 if owner in (VINSHA, ZAKARIYA) else 2,
            expected_revenue=1000.0 * oid,
            probability=10.0 * (oid % 10),
            active=oid % 7 != 0,  # a few lost ones
        )


# --- the read model's answers as the JSON the commands print ---------------------------


def as_json(value: Any) -> Any:
    """An answer in its JSON form: what a face prints, and what these tests compare."""
    return orjson.loads(orjson.dumps(value))


def answers(store: Store) -> ReadModel:
    """The read model over `store`, answering from the views as they stand (these tests
    catch up, or leave the views behind, on purpose)."""
    return ReadModel(store, behind="answer")


def visible_opportunities(
    store: Store, user_id: int, *, status: str | None = None, stage: str | None = None
) -> list[dict[str, Any]]:
    """The items of `cqrs view --as USER --format json`."""
    found = answers(store).opportunities(user_id, OpportunityFilter(status, stage))
    items: list[dict[str, Any]] = as_json(found.items)
    return items


def can_see(store: Store, user_id: int, *, explain: bool = False) -> dict[str, Any]:
    """`cqrs whoami-can-see --as USER --format json` without its "user"."""
    found: dict[str, Any] = as_json(answers(store).can_see(user_id, explain=explain))
    del found["user"]
    return found


def metrics_of(store: Store, user_id: int) -> tuple[Any, Any]:
    """The own and team figures of `cqrs metrics --as USER --format json`."""
    found = as_json(answers(store).metrics(user_id))
    return found["own"], found["team"]


def profiles(store: Store) -> list[dict[str, Any]]:
    """The items of `cqrs users --format json`."""
    found: list[dict[str, Any]] = as_json(answers(store).profiles().items)
    return found


def apply_change(org: Org, kind: str, target: Any, value: Any) -> None:
    """One change of the property tests' random sequences (kind, target id, value); a
    change to an opportunity or account that does not exist (yet, or any more) is none."""
    known = (LEADS, target) in org.known
    if kind == "owner" and known:
        org.put(LEADS, id=target, user_id=value)
    elif kind == "parent":
        org.put(EMPLOYEES, id=target, parent_id=value)
    elif kind == "user":
        org.put(USERS, id=target, **value)
    elif kind == "archive":
        org.put(EMPLOYEES, id=target, active=value)
    elif kind == "relink":
        org.put(EMPLOYEES, id=target, user_id=value)
    elif kind == "delete" and known:
        org.delete(LEADS, target)
    elif kind == "create":
        org.opp(target, **value)  # a new one, or an update of one created earlier
    elif kind == "stage":
        org.put(STAGES, id=target, name=value[0], is_won=value[1])
    elif kind == "opp_active" and known:
        org.put(LEADS, id=target, active=value)
    elif kind == "opp_stage" and known:
        org.put(LEADS, id=target, stage_id=value)
    elif kind == "opp_company" and known:
        org.put(LEADS, id=target, company_id=value)
    elif kind == "new_user":
        org.user(target, f"user{target}", **value)
        org.employee(120, target, 100)
    elif kind == "opp_account" and known:
        org.put(LEADS, id=target, partner_id=value)
    elif kind == "account":
        org.put(ACCOUNTS, id=target, name=value)  # a rename, or back after a deletion
    elif kind == "account_delete" and (ACCOUNTS, target) in org.known:
        org.delete(ACCOUNTS, target)
    elif kind == "team":
        org.put(TEAMS, id=target, name=value)
    elif kind == "member":
        org.put(MEMBERS, id=target, active=value)
