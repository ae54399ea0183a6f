"""The write side: source → normalized records → diff with odoo_raw_data → events."""

from cqrs_cli.sync.deletions import Deletion, DeletionLimit, MassDeletionError
from cqrs_cli.sync.engine import (
    Invalid,
    ModelCounts,
    Progress,
    SyncResult,
    SyncStopped,
    run_sync,
)

__all__ = [
    "Deletion",
    "DeletionLimit",
    "Invalid",
    "MassDeletionError",
    "ModelCounts",
    "Progress",
    "SyncResult",
    "SyncStopped",
    "run_sync",
]
