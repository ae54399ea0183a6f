"""The org chart rules of DESIGN.md §6 on small hand-made charts."""

from __future__ import annotations

from typing import Any

from cqrs_cli.domain.hierarchy import build


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
