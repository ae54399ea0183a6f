"""What every source of Odoo records offers the sync: paged search_read and id listing.

A source knows nothing of SQLite. Records come back exactly as Odoo's `search_read`
returns them (`False` for empty, many2one as `[id, "name"]`); the sync normalizes them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from cqrs_cli.domain.errors import CqrsError

Domain = list[Any]
Raw = dict[str, Any]

PAGE_SIZE = 1000  # Odoo-friendly page: big enough to amortize a round trip, small per request
ID_PAGE_SIZE = 5000  # ids are tiny: fewer round trips when listing them


class SourceError(CqrsError):
    """The source failed (connection, protocol, refusal): the sync stops, nothing half-written."""


class SourceAuthError(SourceError):
    """Odoo refused the credentials (a wrong password or API key, an unknown login): trying
    again cannot fix it, unlike a network failure."""


class SourceAccessError(SourceError):
    """Odoo refused to read a model (AccessError): callers may fall back to another model."""


class Source(Protocol):
    # Recorded in every event's metadata: odoo / file / demo / legacy.
    name: str
    # True when write_date filters are meaningful (a live Odoo). A snapshot is always
    # read whole: it is small next to a live database and the diff makes re-reads free.
    incremental: bool
    # Names the source's write_date cursors in sync_cursors: two Odoo databases synced into
    # one file must not share a cursor.
    cursor_key: str

    def search_read(
        self, model: str, domain: Domain, fields: Sequence[str], *, page_size: int = PAGE_SIZE
    ) -> Iterator[list[Raw]]:
        """Matching records (archived ones too) in pages ordered by id, records with an odd
        id (docs/sync.md) last. Copies of one id are never split between two pages. Raises
        SourceError before the first page when the records cannot be listed whole."""
        ...

    def search_ids(self, model: str, domain: Domain) -> list[int]:
        """Ids of every matching record, archived ones too, each once, sorted; an odd id
        counts for the record it still names (`odoo_ids.denoted_id`)."""
        ...

    def search_count(self, model: str, domain: Domain) -> int:
        """How many records match (archived ones too): the length of a progress bar."""
        ...

    def provides(self, model: str) -> bool:
        """Whether the source holds `model` at all. A model it does not hold is left as it
        is in the file (a snapshot without teams says nothing about teams), while a model
        it holds with no records means they are all gone."""
        ...

    def clock_skew(self) -> float | None:
        """Seconds this machine's clock is ahead of the source's (negative: behind), or
        None when the source has no clock (a snapshot) or it could not be read."""
        ...

    def close(self) -> None: ...
