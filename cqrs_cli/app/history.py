"""`cqrs history OPPORTUNITY`: the timeline of one opportunity, oldest first (docs/past.md).

Each event of the opportunity's stream is an entry: when Odoo wrote the record
(`write_date`), where the log put it (`position`) and when (`recorded_at`), and the
fields that changed as `{"old", "new"}` (every field for `created`). Fields are named as
people say them (`stage`, `salesperson`, `account`, `team`) and a reference reads as
`{"id", "name"}` with the name the stage, person, account or team had at that position
(one stream read per entity named, then a search in memory), or the first name the log
got for it when it learned of it only later (a sync appends opportunities before the
accounts they name). `status` (open, won, lost)
is derived as `view` shows it.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from cqrs_cli.app.answers.past import FieldChange, History, HistoryEntry, OpportunityRef
from cqrs_cli.app.read_model import ReadModel
from cqrs_cli.domain.errors import CqrsError
from cqrs_cli.domain.numbers import whole_number
from cqrs_cli.store.files import Store
from cqrs_cli.store.log import RecordedEvent

OPPORTUNITIES = "crm.lead"
# Record field -> (name in the history, the model it refers to).
REFERENCES: dict[str, tuple[str, str]] = {
    "stage_id": ("stage", "crm.stage"),
    "user_id": ("salesperson", "res.users"),
    "partner_id": ("account", "res.partner"),
    "team_id": ("team", "crm.team"),
}
RENAMED = {"company_id": "company"}
HIDDEN = frozenset({"id", "write_date"})  # the id is the opportunity's; write_date has a column
CANDIDATES_SHOWN = 20


class UnknownOpportunity(CqrsError):
    """No opportunity, or more than one, matches the text given."""


FIND_VIEWS = ("opportunity_view",)  # the names OPPORTUNITY is looked up among


def timeline(model: ReadModel, text: str) -> History:
    """`cqrs history OPPORTUNITY`: find it (`find`), then its history, in one read
    transaction."""
    with model.reading(FIND_VIEWS):
        return history(model.store, find(model.store, text))


def find(store: Store, text: str) -> int:
    """The opportunity `text` names: an id (ASCII digits) the log has a stream for, or a
    case-insensitive part of the name of exactly one opportunity there is now."""
    wanted = text.strip()
    if not wanted:
        raise UnknownOpportunity("give an opportunity: its id or a part of its name")
    number = whole_number(wanted)
    if number is not None:
        if store.log.stream_version(OPPORTUNITIES, str(number)) == 0:
            raise UnknownOpportunity(f"no opportunity {number} in the log")
        return number
    low = wanted.casefold()
    found = [
        (int(oid), str(name))
        for oid, name in store.conn.execute("SELECT id, name FROM opportunity_view ORDER BY id")
        if low in str(name or "").casefold()
    ]
    if len(found) == 1:
        return found[0][0]
    if not found:
        raise UnknownOpportunity(
            f"no opportunity's name contains {text!r} (a deleted one is found by its id)"
        )
    shown = "; ".join(f"{oid} {name}" for oid, name in found[:CANDIDATES_SHOWN])
    more = f" (and {len(found) - CANDIDATES_SHOWN} more)" if len(found) > CANDIDATES_SHOWN else ""
    raise UnknownOpportunity(f"{text!r} is ambiguous: {shown}{more}; give the id")


class _Then:
    """Records of other models as they were at a position: each stream read once."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._streams: dict[tuple[str, int], tuple[list[int], list[RecordedEvent]]] = {}

    def record(
        self, model: str, rid: int, position: int, *, or_later: bool = False
    ) -> dict[str, Any] | None:
        """The record at `position`; with `or_later`, the first one the log got when it
        had none yet (a sync appends opportunities before the accounts they name)."""
        key = (model, rid)
        if key not in self._streams:
            events = self.store.log.read_stream(model, str(rid))
            self._streams[key] = ([e.position for e in events], events)
        positions, events = self._streams[key]
        index = bisect_right(positions, position) - 1
        if index < 0 and or_later and events:
            index = 0
        if index < 0 or events[index].type.endswith("Deleted"):
            return None
        record = events[index].data.get("record")
        return record if isinstance(record, dict) else None

    def reference(self, model: str, rid: Any, position: int) -> dict[str, Any] | None:
        if rid is None:
            return None
        found = self.record(model, int(rid), position, or_later=True) or {}
        named = {"id": rid, "name": found.get("name")}
        if model == "res.users":
            named = {"id": rid, "login": found.get("login"), "name": found.get("name")}
        return named

    def status(self, record: dict[str, Any], position: int) -> str:
        """open, won or lost, as `view` says it (docs/sync.md)."""
        if not record.get("active", True):
            return "lost"
        stage = record.get("stage_id")
        found = self.record("crm.stage", int(stage), position) if stage is not None else None
        return "won" if found and found.get("is_won") else "open"


def _human(then: _Then, record: dict[str, Any] | None, position: int) -> dict[str, Any]:
    """A record's fields as the history names and shows them."""
    if record is None:
        return {}
    out: dict[str, Any] = {"status": then.status(record, position)}
    for key, value in record.items():
        if key in HIDDEN:
            continue
        if key in REFERENCES:
            name, model = REFERENCES[key]
            out[name] = then.reference(model, value, position)
        else:
            out[RENAMED.get(key, key)] = value
    return out


def _change(event: RecordedEvent) -> str:
    for change in ("Created", "Updated", "Deleted"):
        if event.type.endswith(change):
            return change.lower()
    return event.type


def history(store: Store, opportunity_id: int) -> History:
    """The pinned JSON of `cqrs history`: `{"opportunity": {id, name}, "entries": [...]}`."""
    events = store.log.read_stream(OPPORTUNITIES, str(opportunity_id))
    if not events:
        raise UnknownOpportunity(f"no opportunity {opportunity_id} in the log")
    then = _Then(store)
    entries = []
    previous: dict[str, Any] | None = None  # the record before this event (None: no record)
    name = None
    for event in events:
        found = event.data.get("record")
        record = found if isinstance(found, dict) else None
        change = _change(event)
        fields: dict[str, FieldChange] = {}
        if change != "deleted":
            # Both sides are named as at this event: what each reference was called then.
            new = _human(then, record, event.position)
            old = _human(then, previous, event.position) if change == "updated" else {}
            fields = {
                key: {"old": old.get(key), "new": new.get(key)}
                for key in sorted(old.keys() | new.keys(), key=_order)
                if change == "created" or old.get(key) != new.get(key)
            }
        if record is not None and record.get("name") is not None:
            name = record["name"]
        entries.append(
            HistoryEntry(
                event.position,
                event.recorded_at,
                event.metadata.get("write_date") or (record or {}).get("write_date"),
                change,
                fields,
            )
        )
        previous = None if change == "deleted" else record
    return History(OpportunityRef(opportunity_id, name), tuple(entries))


_FIRST = ("name", "status", "stage", "salesperson", "account", "team", "expected_revenue")


def _order(key: str) -> tuple[int, str]:
    """The fields people look for first, then the others by name."""
    return (_FIRST.index(key), key) if key in _FIRST else (len(_FIRST), key)
