"""The org chart and sales access of docs/access.md, from plain user and employee records.

The hierarchy is the employee tree (`parent_id`), archived employees included. Every
function here is pure so the views and the tests share one definition of "manager" and
"subordinate".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# The access a user gets from their groups (domain/access.py), named here too.
from cqrs_cli.domain.access import ADMINISTRATOR as ADMINISTRATOR
from cqrs_cli.domain.access import ALL_DOCUMENTS as ALL_DOCUMENTS
from cqrs_cli.domain.access import NO_ACCESS as NO_ACCESS
from cqrs_cli.domain.access import OWN_DOCUMENTS as OWN_DOCUMENTS

Record = Mapping[str, Any]

SALESMAN = "sales_team.group_sale_salesman"
ALL_LEADS = "sales_team.group_sale_salesman_all_leads"
SALE_MANAGER = "sales_team.group_sale_manager"


def access_of(user: Record) -> str:
    """The sales access of a user; an archived user cannot log in, so sees nothing."""
    if not user.get("active", True):
        return NO_ACCESS
    groups = set(user.get("groups") or ())
    # Only the sales groups open crm.lead (Odoo's crm/security/ir.model.access.csv):
    # base.group_system (Settings) is synced and shown but gives no sales access.
    if SALE_MANAGER in groups:
        return ADMINISTRATOR
    if ALL_LEADS in groups:
        return ALL_DOCUMENTS
    if SALESMAN in groups:
        return OWN_DOCUMENTS
    return NO_ACCESS


@dataclass
class Hierarchy:
    employee_of: dict[int, int | None] = field(default_factory=dict)  # user -> chosen employee
    manager_of: dict[int, int | None] = field(default_factory=dict)  # user -> manager user
    direct: dict[int, list[int]] = field(default_factory=dict)  # user -> direct subordinates
    below: dict[int, list[int]] = field(default_factory=dict)  # user -> all subordinates
    in_cycle: set[int] = field(default_factory=set)  # users whose employee chain loops


def chosen_employees(
    users: Mapping[int, Record], employees: Mapping[int, Record]
) -> dict[int, int | None]:
    """A user's employee: their active one with the lowest id, else their archived lowest id."""
    best: dict[int, tuple[bool, int]] = {}
    for emp_id, emp in employees.items():
        uid = emp.get("user_id")
        if uid is None or uid not in users:
            continue
        key = (not emp.get("active", True), emp_id)  # active first, then lowest id
        if uid not in best or key < best[uid]:
            best[uid] = key
    return {uid: (best[uid][1] if uid in best else None) for uid in users}


def build(users: Mapping[int, Record], employees: Mapping[int, Record]) -> Hierarchy:
    employee_of = chosen_employees(users, employees)
    children: dict[int, list[int]] = {}
    for emp_id, emp in employees.items():
        parent = emp.get("parent_id")
        if parent is not None and parent != emp_id:
            children.setdefault(parent, []).append(emp_id)
    for kids in children.values():
        kids.sort()

    def user_of(emp_id: int | None) -> int | None:
        """The user an employee stands for: only a user's own (chosen) employee does. Any
        other record linked to the same user (an old one left in a former team, a wrongly
        linked one) counts as an employee without a user, so it gives nobody the user."""
        if emp_id is None or emp_id not in employees:
            return None
        uid = employees[emp_id].get("user_id")
        return uid if uid is not None and employee_of.get(uid) == emp_id else None

    h = Hierarchy(employee_of=employee_of)
    for uid in users:
        h.direct[uid] = []
    for uid in sorted(users):
        mine = employee_of[uid]
        parent = employees[mine].get("parent_id") if mine is not None else None
        manager = user_of(parent)
        if manager == uid:
            manager = None
        h.manager_of[uid] = manager
        if manager is not None:
            h.direct[manager].append(uid)
    for uid in users:
        top = employee_of[uid]
        found: set[int] = set()
        if top is not None:
            # Walk the employee tree below theirs; `seen` makes a cycle end the walk.
            seen = {top}
            stack = list(children.get(top, ()))
            while stack:
                current: int = stack.pop()
                if current in seen:
                    continue
                seen.add(current)
                sub = user_of(current)
                if sub is not None:
                    found.add(sub)
                stack.extend(children.get(current, ()))
            if _loops(top, employees):
                h.in_cycle.add(uid)
        found.discard(uid)
        h.below[uid] = sorted(found)
    return h


def _loops(emp_id: int, employees: Mapping[int, Record]) -> bool:
    """True when following parent_id from `emp_id` comes back to an employee already met."""
    seen: set[int] = set()
    step: int | None = emp_id
    while step is not None and step in employees:
        if step in seen:
            return True
        seen.add(step)
        step = employees[step].get("parent_id")
    return False
