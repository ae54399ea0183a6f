"""An event of the log as a CloudEvents 1.0 JSON document (HTTP structured mode)."""

from __future__ import annotations

from datetime import datetime

from cloudevents.core.bindings.http import to_structured_event
from cloudevents.core.v1.event import CloudEvent

from cqrs_cli.store.files import Store
from cqrs_cli.store.log import RecordedEvent, hash_at

CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"


def source_of(store: Store) -> str:
    """The CloudEvents `source` of this log: `urn:cqrs:log:` and the start of the first
    event's chain hash. Every copy of the file (a backup) names itself the same, two
    files synced apart never do, and nothing about this machine (the file's path, the
    host) is given away."""
    first = hash_at(store.conn, 1)
    return f"urn:cqrs:log:{first[:32] if first else 'empty'}"


def encode(event: RecordedEvent, source: str) -> bytes:
    """The request body: `id` is the event id (receivers drop repeats by it), `subject`
    the stream (`crm.lead:42`), `time` when it was recorded, `data` its payload, and the
    extension `cqrsposition` its position in the log."""
    cloud_event = CloudEvent(
        {
            "specversion": "1.0",
            "id": event.event_id,
            "source": source,
            "type": event.type,
            "subject": f"{event.stream_type}:{event.stream_id}",
            "time": datetime.fromisoformat(event.recorded_at),
            "datacontenttype": "application/json",
            "cqrsposition": event.position,
        },
        event.data,
    )
    return to_structured_event(cloud_event).body
