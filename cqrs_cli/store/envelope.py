"""The event envelope written to the log (pydantic: the write side validates what it appends).

The read side gets `RecordedEvent` (a plain dataclass in `log.py`) so a query never
imports pydantic.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EventMetadata(BaseModel):
    """Who and what caused an event. Unknown keys are kept (extra="allow")."""

    model_config = ConfigDict(extra="allow", frozen=True)

    source: str | None = None  # odoo / file / demo / legacy
    sync_run_id: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    write_date: str | None = None  # Odoo's write_date of the record, UTC


class NewEvent(BaseModel):
    """An event about to be appended. The stream and version are given by `append`."""

    model_config = ConfigDict(frozen=True)

    type: str = Field(min_length=1)
    data: dict[str, Any]
    event_id: str = Field(default_factory=lambda: str(uuid.uuid4()), min_length=1)
    schema_version: int = Field(default=1, ge=1)
    metadata: EventMetadata = Field(default_factory=EventMetadata)
