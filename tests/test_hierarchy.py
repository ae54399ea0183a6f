"""The org chart rules of docs/access.md on small hand-made charts."""

from __future__ import annotations

from typing import Any

from cqrs_cli.projections.hierarchy import build


def users(*ids: int) -> dict[int, dict[str, Any]]:
    return {i: {"id": i, "login": f"u{i}", "active": True} for i in ids}


def emp(eid: int, user: int | None, parent: int | None, active: bool = True) -> dict[str, Any]:
    return {"id": eid, "user_id": user, "parent_id": parent, "active": active}


def chart(*rows: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {r["id"]: r for r in rows}


def test_users_employee_is_the_active_one_with_lowest_id() -> None:
    emps = chart(
        emp(1, 10, None),
        emp(2, 20, None),
        emp(3, 30, 1, active=False),
        emp(4, 30, 2),
        emp(5, 30, 1),
    )
    h = build(users(10, 20, 30), emps)
    assert h.employee_of[30] == 4  # 3 is archived; 4 and 5 active, 4 lowest
    assert h.manager_of[30] == 20
    only_archived = chart(
        emp(1, 10, None), emp(7, 30, 1, active=False), emp(6, 30, 1, active=False)
    )
    assert build(users(10, 30), only_archived).employee_of[30] == 6


def test_transitive_through_employees_without_users_and_archived_ones() -> None:
    emps = chart(emp(1, 10, None), emp(2, None, 1), emp(3, 30, 2, active=False), emp(4, 40, 3))
    h = build(users(10, 30, 40), emps)
    assert h.manager_of[30] is None  # parent employee 2 has no user
    assert h.direct[10] == [] and h.below[10] == [30, 40]
    assert h.manager_of[40] == 30 and h.below[30] == [40]


def test_a_cycle_ends_and_is_reported() -> None:
    emps = chart(emp(1, 10, 3), emp(2, 20, 1), emp(3, 30, 2), emp(4, 40, None))
    h = build(users(10, 20, 30, 40), emps)
    assert h.below[10] == [20, 30] and h.below[20] == [10, 30]
    assert h.in_cycle == {10, 20, 30}
    assert h.manager_of[10] == 30 and h.manager_of[40] is None


def test_only_the_chosen_employee_stands_for_its_user() -> None:
    # 30 moved from 10's team to 20's: the archived old record 3 still sits under 10, and
    # an employee (5) still hangs below that old record.
    moved = chart(
        emp(1, 10, None),
        emp(2, 20, None),
        emp(3, 30, 1, active=False),
        emp(4, 30, 2),
        emp(5, 50, 3),
    )
    h = build(users(10, 20, 30, 50), moved)
    assert h.employee_of[30] == 4
    assert h.manager_of[30] == 20 and h.direct[20] == [30] and h.below[20] == [30]
    # Record 3 counts as an employee without a user: no manager for 50, and 10 reaches
    # 50 through it but never 30.
    assert h.manager_of[50] is None
    assert h.direct[10] == [] and h.below[10] == [50]
    assert h.direct[30] == [] and h.below[30] == []


def test_a_wrongly_linked_employee_gives_nobody_access() -> None:
    # Record 7 belongs to someone else but was linked to user 60, whose own record is 6.
    wrong = chart(emp(1, 10, None), emp(6, 60, None), emp(7, 60, 1), emp(8, 80, 7))
    h = build(users(10, 60, 80), wrong)
    assert h.employee_of[60] == 6
    assert h.below[10] == [80]  # through record 7, which counts as having no user
    assert 60 not in h.below[10] and h.direct[10] == []
    assert h.manager_of[80] is None and h.direct[60] == [] and h.below[60] == []
