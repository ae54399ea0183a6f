"""Naming a user with `--as` (docs/access.md, section 6) and the numbers the read commands
take: nobody can capture a name, and odd input is a one-line error, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cqrs_cli.app.read_model import UnknownUser
from cqrs_cli.store.files import Store, open_store
from tests.conftest import run_cli
from tests.read_support import SALESMAN, Org, answers, new_store

VINSHA, MALLORY, SAM_A, SAM_B, SEVEN, DIGITS = 3, 4, 5, 6, 7, 8


def org_with_lookalikes(store: Store) -> None:
    org = Org(store)
    org.user(VINSHA, "vinsha@demo.example", [SALESMAN], name="Vinsha Rao")
    # Mallory renamed herself "vinsha" in Odoo's preferences.
    org.user(MALLORY, "mallory@demo.example", [SALESMAN], name="vinsha")
    org.user(SAM_A, "sam.a@demo.example", [SALESMAN], name="Sam")
    org.user(SAM_B, "sam.b@demo.example", [SALESMAN], name="Sam")
    org.user(SEVEN, "seven@demo.example", [SALESMAN], name="Seven")
    org.user(DIGITS, "7", [SALESMAN], name="Digits")  # a login that reads as id 7
    org.opp(1, VINSHA, name="Vinsha's deal")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("names")
    store = new_store(path)
    org_with_lookalikes(store)
    store.close()
    # Let a first command build the views, so the resolution tests read user_profiles.
    assert run_cli("--db", str(path / "cqrs.db"), "-q", "users").returncode == 0
    return path / "cqrs.db"


@pytest.fixture(scope="module")
def store(db: Path) -> Store:
    return open_store(db)


def who(store: Store, text: str) -> int:
    return answers(store).user(text).id


def refused(store: Store, text: str) -> str:
    with pytest.raises(UnknownUser) as err:
        answers(store).user(text)
    return err.value.message


def test_exact_login_or_id_first(store: Store) -> None:
    assert who(store, "vinsha@demo.example") == VINSHA
    assert who(store, "VINSHA@Demo.Example") == VINSHA  # logins: case-insensitive
    assert who(store, str(MALLORY)) == MALLORY
    assert who(store, "mallory") == MALLORY  # a login prefix


def test_a_renamed_user_cannot_capture_a_name(store: Store) -> None:
    # Mallory's name equals the text and Vinsha's login starts with it: both are
    # candidates, so the command refuses to guess, listing logins only.
    message = refused(store, "vinsha")
    assert message.startswith("'vinsha' is ambiguous: vinsha@demo.example, mallory@demo.example")
    assert "Vinsha Rao" not in message and "deal" not in message
    assert refused(store, "VINSHA").startswith("'VINSHA' is ambiguous")
    assert who(store, "vinsha@") == VINSHA  # a longer prefix names her alone


def test_names_exact_then_prefix(store: Store) -> None:
    assert refused(store, "sam").startswith(
        "'sam' is ambiguous: sam.a@demo.example, sam.b@demo.example;"
    )
    assert who(store, "vinsha r") == VINSHA  # no login starts with it: a name prefix
    assert who(store, "Digi") == DIGITS
    assert refused(store, "s").startswith("'s' is ambiguous: sam.a@demo.example")


def test_an_id_and_a_login_naming_two_users_is_ambiguous(store: Store) -> None:
    assert refused(store, "7").startswith("'7' is ambiguous: seven@demo.example, 7;")
    assert who(store, "seven@demo.example") == SEVEN and who(store, str(DIGITS)) == DIGITS


@pytest.mark.parametrize("text", ["²", "٣", "1²", "99999999999999999999999", "nobody"])
def test_text_that_names_nobody_is_a_plain_error(store: Store, text: str) -> None:
    assert refused(store, text).startswith(f"no user matches {text!r}; known logins: ")


def one_line_error(out: object, code: int, start: str) -> None:
    assert getattr(out, "returncode", None) == code, getattr(out, "stderr", "")
    lines = getattr(out, "stderr", "").strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {start}"), lines
    assert getattr(out, "stdout", None) == ""


def test_the_command_line_refuses_a_captured_or_odd_name(db: Path) -> None:
    one_line_error(run_cli("--db", str(db), "view", "--as", "vinsha"), 1, "'vinsha' is ambiguous")
    one_line_error(run_cli("--db", str(db), "metrics", "--as", "²"), 1, "no user matches '²'")
    one_line_error(run_cli("--db", str(db), "view", "--as", " "), 2, "--as needs a user")
    out = run_cli("--db", str(db), "whoami-can-see", "--as", "vinsha@DEMO.example")
    assert out.returncode == 0 and json.loads(out.stdout)["opportunities"] == [1]


@pytest.mark.parametrize(
    ("args", "start"),
    [
        (["--after", "1e20"], "--after must be a whole number from 0"),
        (["--after", "100000000000000000000"], "--after must be a whole number from 0"),
        (["--after", "-1"], "--after must be a whole number from 0"),
        (["--after", "²"], "--after must be a whole number from 0"),
        (["--limit", "0"], "--limit must be a whole number from 1"),
        (["--limit", "1e3"], "--limit must be a whole number from 1"),
        (["--limit", "100000000000000000000"], "--limit must be a whole number from 1"),
        (["--stream", "crm.lead:1", "--after", "1e20"], "--after must be a whole number"),
    ],
)
def test_events_numbers_are_usage_errors(db: Path, args: list[str], start: str) -> None:
    one_line_error(run_cli("--db", str(db), "events", *args), 2, start)


def test_events_numbers_at_the_edges(db: Path) -> None:
    last = run_cli("--db", str(db), "events", "--after", str(2**63 - 1), "--format", "json")
    assert last.returncode == 0, last.stderr
    assert json.loads(last.stdout) == []
    first = run_cli("--db", str(db), "events", "--limit", "1", "--format", "json")
    assert [e["position"] for e in json.loads(first.stdout)] == [1]


def test_stage_filters_of_any_shape_are_unknown_stages(db: Path) -> None:
    """Not a crash, nor an empty answer that looks like "no deals at that stage"."""
    for stage in ("100000000000000000000", "²", "-1", "1e3"):
        out = run_cli("--db", str(db), "view", "--as", "3", "--stage", stage, "--format", "json")
        one_line_error(out, 2, f"--stage: no stage is named {stage!r}; no stages synced yet")
