"""Output in a pipe is data (docs/troubleshooting.md, "Output in a pipe"): with no
--format, a command whose stdout is not a terminal prints tab-separated values with a
header line, every cell whole and on one line; `--format table` still draws the table.
Real processes whose stdout is a pipe (and one whose stdout is a terminal)."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cqrs_cli.cli.app import app
from cqrs_cli.projections.runner import catch_up
from tests.conftest import REPO, run_cli
from tests.read_support import LEADS, VIEW_KEYS, VINSHA, Org, demo_like, new_store

HOSTILE = "tab\there\nnew line \\ back\x1b[31m red \x9b end\r"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    store = new_store(tmp_path_factory.mktemp("piped"))
    org = Org(store)
    demo_like(org)
    org.put(LEADS, id=24, name=HOSTILE, user_id=VINSHA, company_id=1, expected_revenue=1e6)
    catch_up(store)
    store.close()
    yield store.path


def unescape(cell: str) -> str:
    """A TSV cell back to its text: the escapes of the docs, undone."""
    names = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}
    return re.sub(
        r"\\(x[0-9a-f]{2}|[\\tnr])",
        lambda m: chr(int(m[1][1:], 16)) if m[1][0] == "x" else names[m[1]],
        cell,
    )


def tsv(text: str) -> list[list[str]]:
    lines = text.split("\n")
    assert lines[-1] == ""  # ends with a newline
    return [line.split("\t") for line in lines[:-1]]


def piped(db: Path, *args: str) -> str:
    done = run_cli("--db", str(db), *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def as_json(db: Path, *args: str) -> Any:
    return json.loads(piped(db, *args, "--format", "json"))


def test_view_in_a_pipe_is_tsv_with_every_field_whole(db: Path) -> None:
    rows = tsv(piped(db, "view", "--as", "vinsha"))
    assert rows[0] == VIEW_KEYS
    items = as_json(db, "view", "--as", "vinsha")
    assert len(rows) == len(items) + 1
    for row, item in zip(rows[1:], items, strict=True):
        assert len(row) == len(VIEW_KEYS)
        assert int(row[0]) == item["id"]
        assert unescape(row[1]) == item["name"]
        assert float(row[4]) == item["expected_revenue"]  # not 1,000,000.00: data
        assert row[6] == item["salesperson"]["login"]
        assert (row[9], row[10] or None) == (item["reason"], item["via"])


def test_control_characters_are_escaped_and_cells_stay_on_their_line(db: Path) -> None:
    text = piped(db, "view", "--as", "vinsha", "--search", "back")
    assert "\x1b" not in text and "\x9b" not in text and "\r" not in text
    header, row = tsv(text)
    assert header == VIEW_KEYS
    assert row[1] == "tab\\there\\nnew line \\\\ back\\x1b[31m red \\x9b end\\r"
    assert unescape(row[1]) == HOSTILE


@pytest.mark.parametrize(
    ("args", "columns"),
    [
        (["users"], ["id", "login", "name", "active", "access", "manager"]),
        (["events", "--limit", "5"], ["position", "type", "stream_type", "stream_id"]),
        (["status"], ["name", "version", "position", "lag", "state", "error"]),
        (["validate"], ["name", "expected", "actual", "ok", "detail"]),
        (["dead-letters"], ["id", "handler", "position", "event_type"]),
        (["metrics", "--as", "vinsha"], ["scope", "pipeline_value"]),
        (["whoami-can-see", "--as", "vinsha", "--format", "tsv"], ["kind", "id"]),
        (["migrate", "--status"], ["number", "name", "state", "applied_at"]),
        (["webhooks", "list"], ["id", "name", "url"]),
    ],
)
def test_every_listing_in_a_pipe_is_tsv(db: Path, args: list[str], columns: list[str]) -> None:
    rows = tsv(piped(db, *args))
    assert rows[0][: len(columns)] == columns
    assert all(len(r) == len(rows[0]) for r in rows)


def test_whoami_keeps_json_as_its_default(db: Path) -> None:
    assert set(json.loads(piped(db, "whoami-can-see", "--as", "vinsha"))) == {
        "user",
        "opportunities",
        "accounts",
    }


def test_format_table_still_draws_the_table_in_a_pipe(db: Path) -> None:
    text = piped(db, "view", "--as", "vinsha", "--format", "table")
    assert "┏" in text and "\t" not in text and "1,000,000.00" in text


def test_cli_runner_output_is_not_a_terminal_either(db: Path) -> None:
    done = CliRunner().invoke(app, ["--db", str(db), "users"])
    assert done.exit_code == 0, done.stderr
    assert done.stdout.splitlines()[0].split("\t")[:3] == ["id", "login", "name"]


def test_on_a_terminal_the_default_is_the_table(db: Path) -> None:
    """stdout a pseudo-terminal, as in an interactive shell."""
    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "80"}
    env.pop("CQRS_DEBUG", None)
    with subprocess.Popen(
        [sys.executable, "-m", "cqrs_cli", "--db", str(db), "view", "--as", "vinsha"],
        stdout=follower,
        stderr=subprocess.PIPE,
        env=env,
    ) as proc:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the process is done
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=60) == 0
    os.close(leader)
    shown = b"".join(chunks).decode()
    assert "┏" in shown and "1,000,000.00" in shown and "\t" not in shown
