"""Usage errors as one line, global options after the command, help that ends with examples
that run, and shell completion: the command line as a new user meets it."""

from __future__ import annotations

import json
import shlex
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cqrs_cli.cli.app import app
from cqrs_cli.cli.examples import EXAMPLES, ODOO
from tests.conftest import PASSWORD, REPO, demo_data, run_cli
from tests.demo_file import synced_copy
from tests.fake_odoo import FakeOdoo, Login

runner = CliRunner()
BOX = ("╭", "╰", "│")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synced_copy(tmp_path_factory.mktemp("usage"))


@pytest.mark.parametrize(
    ("args", "error", "hint"),
    [
        (
            ["view", "--bogus"],
            "no such option --bogus for view",
            "cqrs view --help",
        ),
        (
            ["view", "--statu", "open"],
            "no such option --statu for view (did you mean --stage, --status, --team?)",
            "cqrs view --help",
        ),
        (
            ["view", "--version"],
            "no such option --version for view "
            "(global options go before the command: cqrs --version view ...)",
            "cqrs view --help",
        ),
        (["view"], "missing option '--as' for view", "cqrs view --help"),
        (
            ["rebuild", "--projection"],
            "option '--projection' requires an argument for rebuild",
            "cqrs rebuild --help",
        ),
        (
            ["sync", "--demo", "--timeout", "soon"],
            "invalid value for '--timeout': Input should be a valid number, unable to parse "
            "string as a number",
            "cqrs sync --help",
        ),
        (["viwe"], "no such command 'viwe' (did you mean 'view'?)", "cqrs --help"),
        (["--bogus", "view"], "no such option --bogus", "cqrs --help"),
        (
            ["migrate", "legacy", "--dat", "x.json"],
            "no such option --dat for migrate legacy (did you mean --data, --db, --format?)",
            "cqrs migrate legacy --help",
        ),
        (["migrate", "nope"], "no such command 'nope'", "cqrs migrate --help"),
    ],
)
def test_usage_errors_are_one_error_line_and_a_hint(
    demo: Path, args: list[str], error: str, hint: str
) -> None:
    res = runner.invoke(app, ["--db", str(demo), *args])
    assert res.exit_code == 2
    assert res.stderr.splitlines() == [f"Error: {error}", f"Try '{hint}'"]
    assert res.stdout == ""


def test_usage_errors_in_a_real_process_have_no_box(demo: Path) -> None:
    res = run_cli("--db", str(demo), "view", "--as")
    assert res.returncode == 2
    assert res.stderr.splitlines() == [
        "Error: option '--as' requires an argument for view",
        "Try 'cqrs view --help'",
    ]
    unknown = run_cli("stauts")
    assert unknown.returncode == 2
    assert (
        unknown.stderr.splitlines()[0] == "Error: no such command 'stauts' (did you mean 'status'?)"
    )
    assert not any(ch in unknown.stderr + res.stderr for ch in BOX)


def test_db_and_quiet_after_the_command_as_before_it(demo: Path) -> None:
    before = run_cli("--db", str(demo), "view", "--as", "vinsha", "--format", "json")
    after = run_cli("view", "--db", str(demo), "--as", "vinsha", "--format", "json")
    assert before.returncode == after.returncode == 0, after.stderr
    assert json.loads(after.stdout) == json.loads(before.stdout)
    assert len(json.loads(after.stdout)) == 4
    # The last --db wins, whichever side of the command it is on; CQRS_DB loses to both.
    over = run_cli(
        "--db", "nowhere.db", "whoami-can-see", "--as", "vinsha", "--db", str(demo),
        env={"CQRS_DB": "elsewhere.db"},
    )  # fmt: skip
    assert over.returncode == 0 and json.loads(over.stdout)["opportunities"]
    nested = runner.invoke(app, ["migrate", "--db", str(demo), "--status", "--format", "json"])
    assert nested.exit_code == 0 and {r["state"] for r in json.loads(nested.stdout)} == {"applied"}
    # --quiet after the command silences the messages a write command prints.
    loud = runner.invoke(app, ["verify", "--db", str(demo)])
    quiet = runner.invoke(app, ["migrate", "--db", str(demo), "-q"])
    assert loud.exit_code == quiet.exit_code == 0
    assert runner.invoke(app, ["migrate", "--db", str(demo)]).stderr != ""
    assert quiet.stderr == ""


def _paths() -> list[str]:
    return sorted(EXAMPLES)


@pytest.mark.parametrize("path", _paths())
def test_help_ends_with_the_examples(path: str) -> None:
    res = runner.invoke(app, [*path.split(), "--help"])
    assert res.exit_code == 0
    flat = " ".join(res.stdout.split())
    assert "Examples:" in flat
    tail = flat[flat.index("Examples:") :]
    # The examples are the last thing --help prints, after the options.
    assert "--help" not in tail and "╰" not in tail
    for what, line in EXAMPLES[path]:
        assert f"{what}: {line}" in tail


def test_help_examples_in_a_real_process() -> None:
    res = run_cli("view", "--help")
    assert res.returncode == 0
    lines = [line.strip() for line in res.stdout.splitlines() if line.strip()]
    assert lines[-1] == "cqrs --db demo.db view --as zakariya --status open --format json"


@pytest.fixture(scope="module")
def odoo() -> Iterator[FakeOdoo]:
    """The Odoo the examples name: database crm, login bot@example.com."""
    fake = FakeOdoo("crm")
    fake.load(demo_data())
    fake.logins["bot@example.com"] = Login(uid=2, password=PASSWORD)
    fake.clock_offset = timedelta(seconds=-30)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


EVERY_EXAMPLE = [line for path in _paths() for _, line in EXAMPLES[path]]


@pytest.mark.parametrize("line", EVERY_EXAMPLE)
def test_every_example_runs_on_the_demo_file(
    line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    shutil.copy2(synced_copy(tmp_path), tmp_path / "demo.db")
    for name in ("data_lake_serving.json", "users.json"):
        shutil.copy2(REPO / "tests" / "legacy" / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    env = {}
    if ODOO in line:
        fake: FakeOdoo = request.getfixturevalue("odoo")
        line = line.replace("https://odoo.example.com", fake.url)
        env["ODOO_PASSWORD"] = PASSWORD
    if " webhooks remove " in line:  # needs the webhook the first `add` example adds
        added = runner.invoke(app, shlex.split(EXAMPLES["webhooks add"][0][1])[1:])
        assert added.exit_code == 0, added.stderr
    words = shlex.split(line)
    assert words[0] == "cqrs"
    res = runner.invoke(app, words[1:], env=env)
    assert res.exit_code == 0, res.stderr
    assert "Error" not in res.stderr


def test_show_completion_prints_a_bash_script_that_completes() -> None:
    script = run_cli("--show-completion", "bash")
    assert script.returncode == 0, script.stderr
    assert "complete -o default -F _cqrs_completion cqrs" in script.stdout
    assert "_CQRS_COMPLETE=complete_bash" in script.stdout
    # What the script asks the program when the user presses Tab after `cqrs vi`.
    tab = run_cli(
        env={"_CQRS_COMPLETE": "complete_bash", "COMP_WORDS": "cqrs vi", "COMP_CWORD": "1"}
    )
    assert tab.returncode == 0 and tab.stdout.split() == ["view"]
    options = run_cli(
        env={"_CQRS_COMPLETE": "complete_bash", "COMP_WORDS": "cqrs view --st", "COMP_CWORD": "2"}
    )
    assert sorted(options.stdout.split()) == ["--stage", "--status"]
