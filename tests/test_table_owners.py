"""Each group of tables has one owning module (docs/architecture.md: The tables of the file).

The SQL that names a table lives only in its owner, so a change of schema or of a rule
(what a checkpoint means, how a raw row is diffed) is made in one place. Found by
reading the package's source: any `FROM`, `INTO`, `UPDATE`, `JOIN` or `TABLE` (upper case,
as all SQL here is written, so prose "built from events" does not count) followed by a
table's name, across Python's implicit string concatenation too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "cqrs_cli"
MIGRATIONS = "store/migrations.py"  # creates every table: the schema's own home
OWNERS: dict[str, set[str]] = {
    # The log's reads for the rest of the program are methods of EventLog; inside store/,
    # the chain check, the latest state per record and the health checks read it too.
    "events": {"store/log.py", "store/chain.py", "store/current_state.py"},
    "odoo_raw_data": {"store/sync_state.py"},
    "sync_cursors": {"store/sync_state.py"},
    "sync_runs": {"store/sync_state.py"},
    "checkpoints": {"store/checkpoints.py"},
    "dead_letters": {"bus/dead_letters.py"},
    "webhooks": {"bus/webhooks/registry.py"},
    "subscriber_checkpoints": {"bus/checkpoints.py"},
    "access_tokens": {"store/tokens.py"},
}


def _modules_naming(table: str) -> set[str]:
    # `"... FROM"\n  " events ..."` names the table as surely as `FROM events`.
    gap = r"""(?:\s|["']\s*(?:f|r|rf|fr)?["'])+"""
    pattern = re.compile(rf"\b(?:FROM|INTO|UPDATE|JOIN|TABLE){gap}{table}\b")
    found = set()
    for path in PACKAGE.rglob("*.py"):
        if pattern.search(path.read_text()):
            found.add(path.relative_to(PACKAGE).as_posix())
    return found - {MIGRATIONS}


@pytest.mark.parametrize("table", sorted(OWNERS))
def test_only_the_owner_queries_a_table(table: str) -> None:
    naming = _modules_naming(table)
    assert naming <= OWNERS[table], (
        f"{table} is queried outside its owner: {naming - OWNERS[table]}"
    )
    assert naming, f"the pattern finds no module naming {table}: the test would prove nothing"


def test_the_pattern_sees_sql_split_across_literals() -> None:
    gap = r"""(?:\s|["']\s*(?:f|r|rf|fr)?["'])+"""
    pattern = re.compile(rf"\b(?:FROM|INTO|UPDATE|JOIN|TABLE){gap}events\b")
    assert pattern.search('"SELECT 1 FROM"\n        " events WHERE"')
    assert pattern.search('f"INSERT INTO events ({x})"')
    assert not pattern.search('"Appended {n} events from the sync"')
    assert not pattern.search("# views are built from events")
