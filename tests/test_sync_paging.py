"""Pages must advance: a server (or a proxy) that ignores `id > last` cannot loop the sync."""

from __future__ import annotations

from pathlib import Path

import pytest

from cqrs_cli.sources.base import SourceError
from cqrs_cli.sources.odoo import OdooSource
from cqrs_cli.sources.snapshot import demo_source
from cqrs_cli.sync import run_sync
from tests.conftest import ADMIN, PASSWORD, run_cli
from tests.fake_odoo import FakeOdoo, Fault
from tests.helpers import events, kinds, new_store


def source(fake: FakeOdoo, **kw: int) -> OdooSource:
    return OdooSource(fake.url, "demo", ADMIN, PASSWORD, timeout=10, **kw)


def leads_written(store_path: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(store_path)
    try:
        return int(
            conn.execute("SELECT count(*) FROM odoo_raw_data WHERE model = 'crm.lead'").fetchone()[
                0
            ]
        )
    finally:
        conn.close()


@pytest.mark.parametrize("method", ["search_read", None])
def test_a_server_repeating_the_first_page_is_an_error_and_nothing_of_the_model_is_written(
    fake: FakeOdoo, tmp_path: Path, method: str | None
) -> None:
    store = new_store(tmp_path)
    # Enough repeats to loop a long time; a sync that does not notice would write the
    # first page again and again, then carry on once the fault wears off.
    fake.faults.append(Fault("stuck_pages", model="crm.lead", method=method, times=50))
    with pytest.raises(SourceError) as err:
        run_sync(store, source(fake), page_size=10)
    message = err.value.message
    assert "\n" not in message and "crm.lead" in message
    assert leads_written(tmp_path / "cqrs.db") == 0
    assert kinds(events(store))["OdooOpportunityCreated"] == 0
    # The models before it were fine and stay written; the run is marked failed.
    assert kinds(events(store))["OdooUserCreated"] == 7
    status, error = store.conn.execute("SELECT status, error FROM sync_runs").fetchone()
    assert status == "failed" and error == message


def test_a_stuck_id_listing_is_an_error(fake: FakeOdoo, tmp_path: Path) -> None:
    store = new_store(tmp_path)
    fake.faults.append(Fault("stuck_pages", model="crm.lead", method="search", times=50))
    with pytest.raises(SourceError) as err:
        run_sync(store, source(fake, id_page_size=10), page_size=10)
    assert "crm.lead" in err.value.message and "\n" not in err.value.message
    assert "advance" in err.value.message
    assert leads_written(tmp_path / "cqrs.db") == 0


def test_a_stuck_listing_on_a_later_sync_stops_before_anything_is_written(
    fake: FakeOdoo, tmp_path: Path
) -> None:
    store = new_store(tmp_path)
    run_sync(store, source(fake))
    head = store.log.head()
    fake.write("res.users", 3, {"name": "Vinsha R."})
    fake.faults.append(Fault("stuck_pages", model="crm.lead", method="search", times=50))
    with pytest.raises(SourceError):
        run_sync(store, source(fake, id_page_size=10), page_size=10)
    assert store.log.head() == head  # not even the user's change


def test_small_pages_still_read_everything(fake: FakeOdoo, tmp_path: Path) -> None:
    via_odoo, via_demo = new_store(tmp_path, "a.db"), new_store(tmp_path, "b.db")
    run_sync(via_odoo, source(fake, id_page_size=3), page_size=2)
    run_sync(via_demo, demo_source())
    got = {(e.stream_type, e.stream_id): e.data for e in events(via_odoo)}
    assert got == {(e.stream_type, e.stream_id): e.data for e in events(via_demo)}
    fake.write("crm.lead", 7, {"name": "Seventh"})
    again = run_sync(via_odoo, source(fake, id_page_size=3), page_size=2)
    assert again.events_appended == 1


def test_cli_reports_a_stuck_server_in_one_line(fake: FakeOdoo, tmp_path: Path) -> None:
    for n in range(1000):  # more than one page of the CLI's 1,000 records
        fake.create("crm.lead", {"name": f"Deal {n}", "user_id": 4, "stage_id": 1})
    fake.faults.append(Fault("stuck_pages", model="crm.lead", method="search_read", times=50))
    db = str(tmp_path / "c.db")
    args = ["--url", fake.url, "--database", "demo", "--user", ADMIN, "--password", PASSWORD]
    assert run_cli("--db", db, "migrate").returncode == 0
    done = run_cli("--db", db, "sync", *args)
    assert done.returncode == 1
    assert done.stderr.startswith("Error: ") and done.stderr.count("\n") == 1
    assert "crm.lead" in done.stderr and PASSWORD not in done.stderr
    assert leads_written(tmp_path / "c.db") == 0


def test_one_source_serves_several_runs_with_fresh_listings(fake: FakeOdoo, tmp_path: Path) -> None:
    store = new_store(tmp_path)
    src = source(fake)
    run_sync(store, src)
    new = fake.create("crm.lead", {"name": "Later", "user_id": 4, "stage_id": 1})
    fake.unlink("crm.lead", 9)
    for full in (False, True):
        result = run_sync(store, src, full=full)
        expected = (1, 1) if not full else (0, 0)
        assert (result.counts["crm.lead"].created, result.counts["crm.lead"].deleted) == expected
    assert str(new) in {e.stream_id for e in events(store) if e.stream_type == "crm.lead"}
