"""Report (never fail on) odd employee trees: a manager that does not exist, a cycle."""

from __future__ import annotations

import sqlite3

from cqrs_cli.domain.records import EmployeeRecord
from cqrs_cli.store.sync_state import alive_field


def employee_warnings(conn: sqlite3.Connection) -> list[str]:
    parent: dict[int, int | None] = {
        i: (int(p) if p is not None else None)
        for i, p in alive_field(conn, EmployeeRecord.MODEL, "parent_id").items()
    }
    warnings = [
        f"employee {eid}: manager employee {pid} does not exist"
        for eid, pid in sorted(parent.items())
        if pid is not None and pid not in parent
    ]
    reported: set[int] = set()
    for eid in sorted(parent):
        path: list[int] = []
        on_path: set[int] = set()
        node: int | None = eid
        while node is not None and node in parent and node not in on_path:
            if node in reported:
                break
            path.append(node)
            on_path.add(node)
            node = parent[node]
        if node is not None and node in on_path:
            cycle = path[path.index(node) :]
            if not reported.intersection(cycle):
                warnings.append(
                    "employee manager cycle: " + " → ".join(str(c) for c in [*cycle, node])
                )
            reported.update(cycle)
        reported.update(path)
    return warnings
