"""The current state of each Odoo record, read straight from the log (no view involved).

A stream's state is the `record` of its newest event, unless that event is a Deleted one.
`validate` counts with this so that its figures do not depend on the projections it checks.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

from cqrs_cli.store.upcasting import UPCASTERS


def live_records(conn: sqlite3.Connection, stream_type: str) -> Iterator[dict[str, Any]]:
    """The latest record of every stream of `stream_type` that is not deleted."""
    rows = conn.execute(
        """SELECT e.type, e.schema_version, e.data FROM events e
           JOIN (SELECT stream_id, max(version) AS version FROM events
                 WHERE stream_type = ? GROUP BY stream_id) last
             ON e.stream_type = ? AND e.stream_id = last.stream_id
            AND e.version = last.version""",
        (stream_type, stream_type),
    )
    for event_type, schema_version, data in rows:
        if not event_type.endswith("Deleted"):
            _, payload = UPCASTERS.upcast(event_type, schema_version, json.loads(data))
            record = payload.get("record")
            if isinstance(record, dict):
                yield record
