"""What every source of records promises the sync, as one test class to subclass.

`SourceContract` holds the tests; a subclass says how to put an organisation into its
source and sync the file from it (the way eventsourcing subclasses one recorder test case
per database). The subclasses: the snapshot source (tests/test_sync_snapshot.py), the
fake Odoo over HTTP through the real odoorpc (tests/test_sync_odoo.py) and the legacy
import of the old app's exports (tests/test_migrate_legacy.py).

The organisation is the demo's (docs/demo.md), in Odoo's `search_read` shape; each
subclass writes it in its source's own form (a dict, the fake's tables, data lake
documents) and changes it the way that source changes (a dict edited, an Odoo write, a
new export).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cqrs_cli.store.files import Store, open_store
from cqrs_cli.store.log import RecordedEvent
from cqrs_cli.sync import SyncResult
from tests.conftest import demo_data

Org = dict[str, list[dict[str, Any]]]

DEMO_EVENTS = {
    "OdooUserCreated": 7,
    "OdooEmployeeCreated": 7,
    "OdooTeamCreated": 2,
    "OdooTeamMemberCreated": 6,
    "OdooStageCreated": 4,
    "OdooOpportunityCreated": 23,
    "OdooAccountCreated": 10,
}


@dataclass
class Outcome:
    """What a sync from the source did: the sync's result, and every record reported as
    invalid and skipped, as (model, id), whoever reported it (the sync, or a loader before
    it)."""

    result: SyncResult
    reported: set[tuple[str, int | None]] = field(default_factory=set)


class SourceContract:
    """The tests every source passes. Subclasses implement the four hooks below."""

    source_name = ""  # the `source` in every event's metadata

    # -- hooks -------------------------------------------------------------------------

    def start(self, org: Org, *, employees_public: bool = False, no_xml_ids: bool = False) -> None:
        """Put `org` in the source. `employees_public`: the source's account cannot read
        hr.employee, only hr.employee.public; `no_xml_ids`: it cannot read ir.model.data."""
        raise NotImplementedError

    def change(self, model: str, odoo_id: int, values: dict[str, Any]) -> None:
        """Change fields of one record in the source, as that source changes."""
        raise NotImplementedError

    def delete(self, model: str, odoo_id: int) -> None:
        """Remove one record from the source."""
        raise NotImplementedError

    def sync(self, store: Store) -> Outcome:
        """Sync the file from the source as it stands."""
        raise NotImplementedError

    # -- helpers -----------------------------------------------------------------------

    @pytest.fixture(autouse=True)
    def _files(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self._stores = 0

    def new_store(self) -> Store:
        self._stores += 1
        return open_store(self.tmp / f"contract-{self._stores}.db", write=True)

    @staticmethod
    def events(store: Store, after: int = 0) -> list[RecordedEvent]:
        return list(store.log.read_all(after))

    @staticmethod
    def summary(evs: list[RecordedEvent]) -> list[tuple[str, str]]:
        return sorted((e.type, e.stream_id) for e in evs)

    @staticmethod
    def users(store: Store) -> dict[str, list[str]]:
        """Each synced user's login → the group XML ids the sync resolved."""
        return {
            e.data["record"]["login"]: e.data["record"]["groups"]
            for e in store.log.read_all()
            if e.type == "OdooUserCreated"
        }

    # -- the contract ------------------------------------------------------------------

    def test_first_sync_writes_the_org_and_a_rerun_adds_nothing(self) -> None:
        self.start(demo_data())
        store = self.new_store()
        first = self.sync(store)
        evs = self.events(store)
        assert first.result.events_appended == len(evs) == 59
        assert Counter(e.type for e in evs) == DEMO_EVENTS
        assert {e.metadata["source"] for e in evs} == {self.source_name}
        assert first.reported == set()
        again = self.sync(store)
        assert again.result.events_appended == 0 and len(self.events(store)) == 59
        assert not any(c.created or c.updated or c.deleted for c in again.result.counts.values())

    def test_employees_fall_back_to_hr_employee_public(self) -> None:
        self.start(demo_data(), employees_public=True)
        store = self.new_store()
        outcome = self.sync(store)
        assert outcome.result.counts["hr.employee"].created == 7
        managers = {
            int(e.stream_id): e.data["record"]["parent_id"]
            for e in self.events(store)
            if e.type == "OdooEmployeeCreated"
        }
        assert managers[3] == 2  # Zakariya's employee reports to Vinsha's
        assert self.sync(store).result.events_appended == 0

    def test_groups_resolve_by_name_when_ir_model_data_is_unreadable(self) -> None:
        self.start(demo_data())
        with_xml_ids = self.new_store()
        self.sync(with_xml_ids)
        self.start(demo_data(), no_xml_ids=True)
        by_name = self.new_store()
        self.sync(by_name)
        users = self.users(by_name)
        assert users == self.users(with_xml_ids)
        assert users["vinsha@demo.example"] == ["sales_team.group_sale_salesman"]
        assert {"base.group_system", "sales_team.group_sale_manager"} <= set(
            users["superadmin@demo.example"]
        )

    def test_invalid_records_are_reported_skipped_and_arrive_once_fixed(self) -> None:
        self.start(demo_data())
        self.change("crm.lead", 2, {"probability": 150.0})
        self.change("res.users", 4, {"login": False})
        store = self.new_store()
        outcome = self.sync(store)
        assert outcome.reported == {("crm.lead", 2), ("res.users", 4)}
        counts = outcome.result.counts
        assert counts["crm.lead"].created == 22 and counts["res.users"].created == 6
        assert ("crm.lead", "2") not in {(e.stream_type, e.stream_id) for e in self.events(store)}
        head = store.log.head()
        org = demo_data()
        lead = next(r for r in org["crm.lead"] if r["id"] == 2)
        user = next(r for r in org["res.users"] if r["id"] == 4)
        self.change("crm.lead", 2, {"probability": lead["probability"]})
        self.change("res.users", 4, {"login": user["login"]})
        fixed = self.sync(store)
        assert fixed.reported == set()
        assert self.summary(self.events(store, head)) == [
            ("OdooOpportunityCreated", "2"),
            ("OdooUserCreated", "4"),
        ]

    def test_a_record_gone_from_the_source_is_deleted_once(self) -> None:
        self.start(demo_data())
        store = self.new_store()
        self.sync(store)
        head = store.log.head()
        self.delete("crm.lead", 7)
        outcome = self.sync(store)
        assert outcome.result.counts["crm.lead"].deleted == 1
        (gone,) = self.events(store, head)
        assert (gone.type, gone.stream_id, gone.version) == ("OdooOpportunityDeleted", "7", 2)
        assert gone.data["record"]["id"] == 7  # the last record known
        assert self.sync(store).result.events_appended == 0


_INVALID = re.compile(r"^(\S+) (\d+) is not a valid record")


def reported_by_sync(result: SyncResult) -> set[tuple[str, int | None]]:
    return {(i.model, i.odoo_id) for i in result.invalid}


def reported_by_loader(reasons: list[str]) -> set[tuple[str, int | None]]:
    """(model, id) of each record a legacy loader problem says is invalid."""
    found = set()
    for reason in reasons:
        match = _INVALID.match(reason)
        if match:
            found.add((match[1], int(match[2])))
    return found
