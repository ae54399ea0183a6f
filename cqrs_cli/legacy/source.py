"""The loaded legacy export as a sync source (`source: legacy` in every event's metadata)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cqrs_cli.legacy.parse import LegacyImport
from cqrs_cli.sources.snapshot import SnapshotSource

SOURCE_NAME = "legacy"


class LegacySource(SnapshotSource):
    """The loaded snapshot as a sync source. Its events are marked synthetic: they were
    rebuilt from the old app's copy of Odoo, not read from Odoo."""

    event_metadata: Mapping[str, Any] = {"synthetic": True}

    def __init__(self, loaded: LegacyImport) -> None:
        super().__init__(loaded.snapshot, name=SOURCE_NAME)
