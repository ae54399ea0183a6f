"""Where records come from: a live Odoo, a snapshot file (or dict), the embedded demo."""

from cqrs_cli.sources.base import PAGE_SIZE, Source, SourceAccessError, SourceError
from cqrs_cli.sources.snapshot import SnapshotSource, demo_source

__all__ = [
    "PAGE_SIZE",
    "SnapshotSource",
    "Source",
    "SourceAccessError",
    "SourceError",
    "demo_source",
]
