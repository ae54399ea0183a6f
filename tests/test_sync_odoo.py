"""The sync against the fake Odoo over HTTP, through the real odoorpc client.

`TestOdooContract` runs the contract every source keeps (tests/source_contract.py)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import odoorpc
import pytest

from cqrs_cli.sources.base import SourceError
from cqrs_cli.sources.odoo import OdooSource, parse_url
from cqrs_cli.sources.snapshot import demo_source
from cqrs_cli.store.files import Store
from cqrs_cli.sync import run_sync
from tests.conftest import ADMIN, API_KEY, PASSWORD, demo_data
from tests.fake_odoo import FakeOdoo
from tests.helpers import events, kinds, new_store, summary
from tests.source_contract import Org, Outcome, SourceContract, reported_by_sync


def source(fake: FakeOdoo, password: str = PASSWORD, timeout: float = 10) -> OdooSource:
    return OdooSource(fake.url, "demo", ADMIN, password, timeout=timeout)


def test_initial_sync_equals_the_demo_and_a_rerun_reads_no_record(
    fake: FakeOdoo, tmp_path: Path
) -> None:
    via_odoo, via_file = new_store(tmp_path, "a.db"), new_store(tmp_path, "b.db")
    first = run_sync(via_odoo, source(fake))
    run_sync(via_file, demo_source())
    assert first.mode == "incremental"
    records = {(e.stream_type, e.stream_id): e.data for e in events(via_odoo)}
    assert records == {(e.stream_type, e.stream_id): e.data for e in events(via_file)}

    fake.calls.clear()
    assert run_sync(via_odoo, source(fake)).events_appended == 0
    # Incremental: no record read again, only the id lists for the deletion diff.
    assert sum(n for _, method, n in fake.calls if method == "search_read") == 0
    cursors = via_odoo.conn.execute("SELECT count(*) FROM sync_cursors").fetchone()[0]
    assert cursors == 7


def test_mutations_produce_exactly_the_expected_events(fake: FakeOdoo, tmp_path: Path) -> None:
    store = new_store(tmp_path)
    run_sync(store, source(fake))
    head = store.log.head()

    new_id = fake.create(
        "crm.lead",
        {
            "name": "New deal",
            "type": "opportunity",
            "stage_id": 1,
            "user_id": 4,
            "team_id": 1,
            "partner_id": 11,
            "company_id": 1,
            "expected_revenue": 1234.5,
            "probability": 10.0,
        },
    )
    fake.create("crm.lead", {"name": "Just a lead", "type": "lead", "user_id": 3})  # ignored
    fake.write("crm.lead", 1, {"name": "Renamed deal"})
    fake.archive("crm.lead", 2)
    fake.unlink("crm.lead", 3)
    fake.write("crm.lead", 8, {"user_id": 3})  # reassignment to Vinsha
    fake.write("crm.team.member", 6, {"crm_team_id": 1})  # Priya joins Vinsha's team
    fake.archive("res.users", 8)
    fake.write("crm.stage", 2, {})  # write_date moves, nothing else: no event

    run_sync(store, source(fake))
    new = events(store, head)
    assert summary(new) == sorted(
        [
            ("OdooOpportunityCreated", str(new_id)),
            ("OdooOpportunityUpdated", "1"),
            ("OdooOpportunityUpdated", "2"),
            ("OdooOpportunityDeleted", "3"),
            ("OdooOpportunityUpdated", "8"),
            ("OdooTeamMemberUpdated", "6"),
            ("OdooUserUpdated", "8"),
        ]
    )
    by = {(e.stream_type, e.stream_id): e.data for e in new}
    old_name = next(r["name"] for r in demo_data()["crm.lead"] if r["id"] == 1)
    assert by[("crm.lead", "1")]["changes"] == {"name": [old_name, "Renamed deal"]}
    assert by[("crm.lead", "2")]["changes"] == {"active": [True, False]}
    assert by[("crm.lead", "8")]["changes"] == {"user_id": [5, 3]}
    assert by[("crm.team.member", "6")]["changes"] == {"crm_team_id": [2, 1]}
    assert by[("res.users", "8")]["changes"] == {"active": [True, False]}
    assert by[("crm.lead", str(new_id))]["record"]["expected_revenue"] == 1234.5
    assert by[("crm.lead", "3")]["record"]["id"] == 3
    assert run_sync(store, source(fake)).events_appended == 0
    assert run_sync(store, source(fake), full=True).events_appended == 0
    fake.unlink("crm.lead", 9)
    head = store.log.head()
    assert run_sync(store, source(fake), full=True).counts["crm.lead"].deleted == 1
    assert summary(events(store, head)) == [("OdooOpportunityDeleted", "9")]


def test_a_partner_newly_referenced_is_fetched_although_it_is_old(
    fake: FakeOdoo, tmp_path: Path
) -> None:
    store = new_store(tmp_path)
    contact = fake.create("res.partner", {"name": "Old Contact", "is_company": False})
    fake.tables["res.partner"][contact]["write_date"] = "2020-01-01 00:00:00"
    run_sync(store, source(fake))
    head = store.log.head()
    fake.write("crm.lead", 4, {"partner_id": contact})
    run_sync(store, source(fake))
    assert summary(events(store, head)) == [
        ("OdooAccountCreated", str(contact)),
        ("OdooOpportunityUpdated", "4"),
    ]


def test_api_key_works_as_password(fake: FakeOdoo, tmp_path: Path) -> None:
    assert run_sync(new_store(tmp_path), source(fake, API_KEY)).events_appended == 59


def test_wrong_password_is_refused(fake: FakeOdoo) -> None:
    with pytest.raises(SourceError) as err:
        source(fake, "wrong")
    assert err.value.message == f"Odoo refused the login for {ADMIN} on demo"


@pytest.mark.parametrize(
    "kind", ["http500", "malformed", "slow", "access_error", "access_denied", "no_result"]
)
def test_a_fault_mid_run_keeps_committed_pages_and_the_next_sync_resumes(
    fake: FakeOdoo, tmp_path: Path, kind: str
) -> None:
    from tests.fake_odoo import Fault

    store = new_store(tmp_path)
    # The second page of opportunities fails: the first page (10) is committed, nothing else.
    fake.faults.append(Fault(kind, model="crm.lead", method="search_read", skip=1, delay=3))
    with pytest.raises(SourceError) as err:
        run_sync(store, source(fake, timeout=1), page_size=10)
    assert "\n" not in err.value.message and PASSWORD not in err.value.message
    before = events(store)
    assert kinds(before)["OdooOpportunityCreated"] == 10
    assert kinds(before)["OdooAccountCreated"] == 0  # accounts come after opportunities
    leads = store.conn.execute(
        "SELECT count(*) FROM odoo_raw_data WHERE model = 'crm.lead'"
    ).fetchone()[0]
    assert leads == 10
    status, error = store.conn.execute("SELECT status, error FROM sync_runs").fetchone()
    assert status == "failed" and error == err.value.message

    resumed = run_sync(store, source(fake), page_size=10)
    evs = events(store)
    assert resumed.events_appended == 59 - len(before) and len(evs) == 59
    assert kinds(evs)["OdooOpportunityCreated"] == 23
    assert len({(e.stream_type, e.stream_id) for e in evs}) == 59  # one event per record


def test_server_down(fake: FakeOdoo) -> None:
    url = fake.url
    fake.stop()
    with pytest.raises(SourceError, match="cannot reach Odoo"):
        OdooSource(url, "demo", ADMIN, PASSWORD, timeout=2)


def test_password_never_logged_nor_stored(
    fake: FakeOdoo, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = new_store(tmp_path)
    run_sync(store, source(fake))
    store.close()
    assert PASSWORD not in caplog.text
    for path in tmp_path.iterdir():
        assert PASSWORD.encode() not in path.read_bytes()


def test_parse_url() -> None:
    assert str(parse_url("https://crm.example.com")) == "https://crm.example.com:443"
    assert parse_url("localhost").port == 8069
    assert parse_url("http://127.0.0.1:9000").protocol == "jsonrpc"
    with pytest.raises(SourceError):
        parse_url("ftp://x")


def test_fake_domains_follow_odoo(fake: FakeOdoo) -> None:
    """The fake's domain engine, through odoorpc, so the sync tests rest on solid ground."""
    odoo = odoorpc.ODOO("127.0.0.1", port=int(fake.url.rsplit(":", 1)[1]))
    odoo.login("demo", ADMIN, PASSWORD)

    def ids(model: str, domain: list[object], **ctx: object) -> list[int]:
        found: list[int] = odoo.execute_kw(
            model, "search", [domain], {"order": "id", "context": dict(ctx)}
        )
        return found

    everything = ids("crm.lead", [], active_test=False)
    active = ids("crm.lead", [])
    assert len(everything) == 25 and len(active) < 25  # lost ones are archived
    assert ids("crm.lead", [("active", "=", False)]) == sorted(set(everything) - set(active))
    assert ids("crm.lead", ["|", ("user_id", "=", 3), ("user_id", "=", 4)], active_test=False) == [
        1,
        2,
        3,
        4,
        24,
    ]
    assert ids("crm.lead", ["!", ("type", "=", "opportunity")]) == [24, 25]
    assert ids("crm.lead", [("user_id.login", "=like", "vinsha%")], active_test=False) == [1, 2, 24]
    assert ids("res.users", [("login", "ilike", "VINSHA")]) == [3]
    assert ids("res.users", [("groups_id", "in", [12])]) == [2]
    assert ids("hr.employee", [("parent_id", "child_of", 4)]) == [4, 5, 6, 7]
    assert ids("crm.lead", [("id", "not in", [1, 2]), ("id", "<=", 4)]) == [3]
    count = odoo.execute_kw("crm.lead", "search_count", [[("type", "=", "lead")]])
    assert count == 2
    rows = odoo.execute_kw("crm.lead", "read", [[1]], {"fields": ["user_id", "date_closed"]})
    assert rows == [{"id": 1, "user_id": [3, "Vinsha Rao"], "date_closed": False}]
    with pytest.raises(odoorpc.error.RPCError) as err:
        odoo.execute_kw("crm.lead", "search_read", [[]], {"fields": ["nope"]})
    assert err.value.info["data"]["name"] == "builtins.ValueError"


def test_until_bound_defers_the_newest_writes_to_the_next_sync(
    fake: FakeOdoo, tmp_path: Path
) -> None:
    from datetime import UTC, datetime, timedelta

    store = new_store(tmp_path)
    run_sync(store, source(fake))
    (key,) = {k for (k,) in store.conn.execute("SELECT source FROM sync_cursors")}
    assert key == f"odoo {fake.url}/demo"
    fake.clock_offset = timedelta(0)  # Odoo's clock = ours: this write is within the buffer
    fake.write("crm.lead", 5, {"name": "Just now"})
    head = store.log.head()
    assert run_sync(store, source(fake)).events_appended == 0  # write_date >= until
    later = run_sync(store, source(fake), clock=lambda: datetime.now(UTC) + timedelta(seconds=30))
    assert later.events_appended == 1
    (event,) = events(store, head)
    assert (event.type, event.stream_id) == ("OdooOpportunityUpdated", "5")
    assert event.data["changes"]["name"][1] == "Just now"


class TestOdooContract(SourceContract):
    """The fake Odoo over HTTP through the real odoorpc; a change is an Odoo write, which
    moves write_date, so the incremental sync (the default) reads it."""

    source_name = "odoo"

    @pytest.fixture(autouse=True)
    def _serve(self, fake: FakeOdoo) -> None:
        self.fake = fake

    def start(self, org: Org, *, employees_public: bool = False, no_xml_ids: bool = False) -> None:
        self.fake.load(org)  # over the demo the fixture serves: the same records again
        self.fake.denied = {
            *(["hr.employee"] if employees_public else []),
            *(["ir.model.data"] if no_xml_ids else []),
        }

    def change(self, model: str, odoo_id: int, values: dict[str, Any]) -> None:
        self.fake.write(model, odoo_id, values)

    def delete(self, model: str, odoo_id: int) -> None:
        self.fake.unlink(model, odoo_id)

    def sync(self, store: Store) -> Outcome:
        result = run_sync(store, source(self.fake))
        return Outcome(result, reported_by_sync(result))

    def test_the_fallbacks_ask_odoo_for_the_public_model(self) -> None:
        self.start(demo_data(), employees_public=True)
        self.sync(self.new_store())
        read = {model for model, _, _ in self.fake.calls}
        assert "hr.employee.public" in read
