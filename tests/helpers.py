from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from cqrs_cli.store.files import Store, open_store
from cqrs_cli.store.log import RecordedEvent


def new_store(tmp_path: Path, name: str = "cqrs.db") -> Store:
    return open_store(tmp_path / name, write=True)


def events(store: Store, after: int = 0) -> list[RecordedEvent]:
    return list(store.log.read_all(after))


def kinds(evs: list[RecordedEvent]) -> Counter[str]:
    return Counter(e.type for e in evs)


def summary(evs: list[RecordedEvent]) -> list[tuple[str, str]]:
    """(type, stream_id) of each event, sorted: what a mutation test compares."""
    return sorted((e.type, e.stream_id) for e in evs)


def raw_rows(store: Store, model: str) -> dict[int, Any]:
    return {
        int(i): d
        for i, d in store.conn.execute(
            "SELECT odoo_id, deleted_at FROM odoo_raw_data WHERE model = ?", (model,)
        )
    }
