"""Text from data is shown, never obeyed (issue 8, finding 4).

Hostile names, logins, stage/team/account names, projection errors, dead letters, event
streams, legacy-import problems and Odoo's own error messages go through every command's
human output, as real subprocesses: piped, and with rich forced to treat the output as a
terminal (our own styling may then emit SGR sequences; the data's bytes never appear raw).
Control characters from data are shown as `\\xNN` (docs/troubleshooting.md); JSON and CSV
carry the exact strings.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cqrs_cli.cli.terminal import shown
from cqrs_cli.store.envelope import NewEvent
from cqrs_cli.store.files import open_store
from tests.conftest import PASSWORD, demo_data, run_cli
from tests.fake_odoo import FakeOdoo, Fault, Login

CSI = "EVIL\x1b[2J\x1b[H\x1b[31mFAKE OUTPUT"
MARKUP = "x [/] y [link=https://evil.example]click[/link] [bold red]loud :smile: <b>&amp;"
OSC = "Vinsha \x1b]8;;https://evil.example\x07click\x1b]8;;\x07\x1b]0;owned\x07 [/]"
C1 = ":smile: Deco\x9b2J\x9b31m"
STAGE = "New[/]\x7f\x08\x01"
TEAM = "Direct [bold]Sales\x1b]0;title\x07"
LOGIN_ZAK = "evil[/]\x1b[2J\x9bzak@x"
LOGIN_MEERA = "evil[link=https://evil.example]m[/link]\x7f@x"
BAD_DATE = "[/]\x1b[2J"
PROJECTION_ERROR = "boom [/] \x1b[2J\x9b31m [link=https://evil.example]x[/link]"
STREAM_ID = "7\x1b]8;;https://evil.example\x07x"
EVENT_TYPE = "Noted[/]\x9b2J"
DEAD_HANDLER = "hook[/]\x1b[H"
DEAD_ERROR = "refused \x1b[2J [bold red]x :smile:"
ODOO_MESSAGE = (
    "Record [/] locked\x1b[2J\x9b31m\x00 [link=https://evil.example]x[/link]\nError: fake"
)
LEGACY_LINE = '{"model": "crm.lead", "odoo_id": 1, "data": {"name": "L\x1b[2J [/] \x9b31m :smile:'
LEGACY_FILE = "bad[bold]\x1b[2J:smile:.jsonl"

CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
SGR = re.compile("\x1b\\[[0-9;]*m")  # what rich's own styling writes on a terminal
TERMINAL = {"TTY_COMPATIBLE": "1", "FORCE_COLOR": "1", "COLUMNS": "400"}
PIPED = {"TTY_COMPATIBLE": "0", "COLUMNS": "400"}


def visible(text: str) -> str:
    """The documented visible form: each control character but tab/newline as `\\xNN`."""
    return re.sub("[\x00-\x08\x0b-\x1f\x7f-\x9f]", lambda m: f"\\x{ord(m.group()):02x}", text)


def one_line(text: str) -> str:
    return visible(text).replace("\n", "\\x0a")


def hostile_snapshot() -> dict[str, Any]:
    data = demo_data()
    users = {u["id"]: u for u in data["res.users"]}
    users[3]["name"] = OSC
    users[4]["login"] = LOGIN_ZAK
    users[5]["login"] = LOGIN_MEERA
    # The same login twice: `validate` fails a check (exit 3) and names it.
    data["res.users"].append({**users[5], "id": 10, "name": "Twin"})
    leads = {r["id"]: r for r in data["crm.lead"]}
    leads[1]["name"] = CSI
    leads[2]["name"] = MARKUP
    leads[4]["write_date"] = BAD_DATE  # an invalid record, reported by the sync
    next(s for s in data["crm.stage"] if s["id"] == 1)["name"] = STAGE
    next(t for t in data["crm.team"] if t["id"] == 1)["name"] = TEAM
    next(p for p in data["res.partner"] if p["id"] == 11)["name"] = C1
    return data


@dataclass
class Files:
    root: Path
    snapshot: Path
    db: Path  # synced from the hostile snapshot
    tampered: Path  # a copy with a hostile projection error, event stream and dead letter
    legacy: Path
    odoo: FakeOdoo


@dataclass
class Case:
    name: str
    args: list[str]
    shows: list[str] = field(default_factory=list)  # data that must be visible, as shown
    titles: list[str] = field(default_factory=list)  # the same, in rich output only
    codes: tuple[int, ...] = (0,)
    formats: bool = True  # run with --format table and --format github; else once


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Files]:
    root = tmp_path_factory.mktemp("hostile")
    snapshot = root / "hostile.json"
    snapshot.write_text(json.dumps(hostile_snapshot()))
    db = root / "hostile.db"
    synced = run_cli("--db", str(db), "sync", "--from-file", str(snapshot), "--format", "json")
    assert synced.returncode == 0, synced.stderr
    tampered = root / "tampered.db"
    shutil.copy(db, tampered)
    with open_store(tampered, write=True) as store:
        store.log.append("note[/]", STREAM_ID, [NewEvent(type=EVENT_TYPE, data={})])
    conn = sqlite3.connect(tampered)
    with conn:
        conn.execute(
            "UPDATE checkpoints SET status = 'paused', error = ?"
            " WHERE projection = 'user_profiles'",
            (PROJECTION_ERROR,),
        )
        conn.execute(
            "INSERT INTO dead_letters (handler, position, event_id, event_type, error, attempts,"
            " failed_at) VALUES (?, 1, 'e-1', ?, ?, 3, '2026-01-01T00:00:00Z')",
            (DEAD_HANDLER, EVENT_TYPE, DEAD_ERROR),
        )
    conn.close()
    legacy = root / LEGACY_FILE
    legacy.write_text(LEGACY_LINE + "\n")
    odoo = FakeOdoo("demo")
    odoo.load(demo_data())
    odoo.logins["superadmin@demo.example"] = Login(uid=2, password=PASSWORD)
    odoo.faults.append(Fault("odoo_error", model="res.users", times=1000, message=ODOO_MESSAGE))
    odoo.start()
    try:
        yield Files(root, snapshot, db, tampered, legacy, odoo)
    finally:
        odoo.stop()


def cases(f: Files, tag: str) -> list[Case]:
    db, tampered = ["--db", str(f.db)], ["--db", str(f.tampered)]
    odoo = ["--url", f.odoo.url, "--database", "demo", "--user", "superadmin@demo.example"]

    def scratch(name: str) -> list[str]:
        return ["--db", str(f.root / f"{tag}-{name}.db")]

    return [
        Case("sync", [*scratch("sync"), "sync", "--from-file", str(f.snapshot)], [BAD_DATE]),
        Case("view", [*db, "view", "--as", "3"], [CSI, MARKUP, STAGE, C1, LOGIN_ZAK]),
        Case("view title", [*db, "view", "--as", "4"], titles=[LOGIN_ZAK]),
        Case("whoami-can-see", [*db, "whoami-can-see", "--as", "4", "--explain"], [], [LOGIN_ZAK]),
        Case("metrics", [*db, "metrics", "--as", "3"], titles=[STAGE]),
        Case("metrics title", [*db, "metrics", "--as", "4"], titles=[LOGIN_ZAK]),
        Case("users", [*db, "users"], [OSC, LOGIN_ZAK, LOGIN_MEERA, TEAM]),
        Case("users --tree", [*db, "users", "--tree"], [OSC, LOGIN_ZAK], formats=False),
        Case("history", [*db, "history", "1"], [CSI, STAGE, TEAM, C1, OSC]),
        Case("changes", [*db, "changes", "--as", "3", "--since", "#1"], [CSI, MARKUP]),
        Case("changes span", [*db, "changes", "--as", "4", "--since", "#1"], titles=[LOGIN_ZAK]),
        Case("validate", [*db, "validate"], [LOGIN_MEERA], codes=(3,)),
        Case("status", [*tampered, "status"], [PROJECTION_ERROR]),
        Case("validate paused", [*tampered, "validate"], [PROJECTION_ERROR], codes=(3,)),
        Case("events", [*tampered, "events", "--newest", "--limit", "3"], [STREAM_ID, EVENT_TYPE]),
        Case("dead-letters", [*tampered, "dead-letters"], [DEAD_HANDLER, DEAD_ERROR, EVENT_TYPE]),
        Case(
            "migrate legacy problems",
            [*scratch("legacy"), "migrate", "legacy", "--data", str(f.legacy)],
            [LEGACY_FILE, LEGACY_LINE],
            codes=(1,),
            formats=False,
        ),
        Case(
            "ambiguous --as",
            [*db, "view", "--as", "evil"],
            [LOGIN_ZAK, LOGIN_MEERA],
            codes=(1,),
            formats=False,
        ),
        Case(
            "unknown --as",
            [*db, "whoami-can-see", "--as", "nobody"],
            [LOGIN_ZAK, LOGIN_MEERA],
            codes=(1,),
            formats=False,
        ),
        Case(
            "Odoo's message",
            [*scratch("odoo"), "sync", *odoo, "--password", PASSWORD],
            codes=(1,),
            formats=False,
        ),
    ]


def check(case: Case, args: list[str], result: Any, terminal: bool) -> list[str]:
    """What is wrong with one command's output, as readable lines (empty when all is well)."""
    problems = []
    where = f"{case.name} ({' '.join(args[2:])})"
    if result.returncode not in case.codes:
        problems.append(f"{where}: exit {result.returncode}: {result.stderr[-300:]!r}")
    for stream in ("stdout", "stderr"):
        text = getattr(result, stream)
        rest = SGR.sub("", text) if terminal else text
        bad = CONTROL.findall(rest)
        if bad:
            problems.append(f"{where}: control characters {sorted(set(bad))!r} on {stream}")
        # Data's own SGR (red) and OSC never reach the output, even as "styling".
        for raw in ("\x1b[31m", "\x1b]", "\x9b", "\x1b[2J", "\x1b[H"):
            if raw in text:
                problems.append(f"{where}: raw {raw!r} from the data on {stream}")
        if "😄" in text:
            problems.append(f"{where}: an emoji code was replaced on {stream}")
        if "MarkupError" in text or "Traceback" in text:
            problems.append(f"{where}: {text[-300:]!r}")
    out = SGR.sub("", result.stdout + result.stderr)
    rich = not case.formats or "table" in args
    for value in case.shows + (case.titles if rich else []):
        if visible(value) not in out and one_line(value) not in out:
            problems.append(f"{where}: {visible(value)!r} not shown literally")
    if case.name == "Odoo's message":
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
        if len(errors) != 1 or one_line(ODOO_MESSAGE) not in errors[0]:
            problems.append(f"{where}: not one Error line with the message: {result.stderr!r}")
    return problems


@pytest.mark.parametrize("terminal", [False, True], ids=["piped", "terminal"])
def test_human_output_shows_hostile_data_literally(files: Files, terminal: bool) -> None:
    env = TERMINAL if terminal else PIPED
    runs: list[tuple[Case, list[str]]] = []
    for case in cases(files, "terminal" if terminal else "piped"):
        if case.formats:
            runs += [(case, [*case.args, "--format", fmt]) for fmt in ("table", "github")]
        else:
            runs.append((case, case.args))
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda run: run_cli(*run[1], env=env), runs))
    problems = [
        p
        for (case, args), result in zip(runs, results, strict=True)
        for p in check(case, args, result, terminal)
    ]
    assert not problems, "\n".join(problems)
    if terminal:  # the forcing worked: our own styling reached the output
        view = next(r for (c, a), r in zip(runs, results, strict=True) if c.name == "view")
        assert SGR.search(view.stdout)


def test_json_and_csv_carry_the_data_exactly(files: Files) -> None:
    db = ["--db", str(files.db)]
    as_json = run_cli(*db, "view", "--as", "3", "--format", "json", env=TERMINAL)
    assert as_json.returncode == 0, as_json.stderr
    # C0 is escaped by JSON itself, DEL and C1 by us: the text is safe on a terminal and a
    # JSON reader gets the exact strings.
    assert not CONTROL.search(as_json.stdout)
    items = json.loads(as_json.stdout)
    assert {CSI, MARKUP} <= {i["name"] for i in items}
    assert STAGE in {i["stage"] for i in items}
    assert C1 in {i["account"]["name"] for i in items if i["account"]}
    assert LOGIN_ZAK in {i["salesperson"]["login"] for i in items if i["salesperson"]}

    as_csv = run_cli(*db, "view", "--as", "3", "--format", "csv")
    assert as_csv.returncode == 0, as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout, newline="")))
    assert {CSI, MARKUP} <= {r["name"] for r in rows}
    assert {STAGE} <= {r["stage"] for r in rows}
    assert {C1} <= {r["account"] for r in rows}

    users = run_cli(*db, "users", "--format", "json")
    by_id = {u["id"]: u for u in json.loads(users.stdout)}
    assert (by_id[3]["name"], by_id[4]["login"], by_id[5]["login"]) == (OSC, LOGIN_ZAK, LOGIN_MEERA)
    users_csv = run_cli(*db, "users", "--format", "csv")
    logins = {r["login"] for r in csv.DictReader(io.StringIO(users_csv.stdout, newline=""))}
    assert {LOGIN_ZAK, LOGIN_MEERA} <= logins


def test_html_formats_escape_the_data(files: Files) -> None:
    db = ["--db", str(files.db)]
    html = run_cli(*db, "view", "--as", "3", "--format", "html")
    assert html.returncode == 0, html.stderr
    assert "&lt;b&gt;&amp;amp;" in html.stdout and "<b>&amp;" not in html.stdout
    unsafe = run_cli(*db, "view", "--as", "3", "--format", "unsafehtml")
    assert unsafe.returncode == 2
    assert unsafe.stderr.startswith("Error: format unsafehtml") and unsafe.stdout == ""


def test_tabulate_formats_do_not_rewrite_text_that_looks_like_a_number(tmp_path: Path) -> None:
    data = demo_data()
    # Zakariya (user 4) owns opportunities 3 and 4 and sees only them: a column of numbers.
    next(r for r in data["crm.lead"] if r["id"] == 3)["name"] = "1e5"
    next(r for r in data["crm.lead"] if r["id"] == 4)["name"] = "007"
    snapshot = tmp_path / "numbers.json"
    snapshot.write_text(json.dumps(data))
    db = ["--db", str(tmp_path / "n.db")]
    assert run_cli("-q", *db, "sync", "--from-file", str(snapshot)).returncode == 0
    github = run_cli(*db, "view", "--as", "4", "--format", "github")
    names = [line.split("|")[2].strip() for line in github.stdout.splitlines()[2:]]
    assert sorted(names) == ["007", "1e5"]


def test_shown_makes_control_characters_visible() -> None:
    assert shown("a\x1b[2Jb\x9b\x7f\x00") == "a\\x1b[2Jb\\x9b\\x7f\\x00"
    assert shown("tab\tand\nnewline") == "tab\tand\nnewline"  # layout, kept
    assert shown("one\nline\r", one_line=True) == "one\\x0aline\\x0d"
    assert shown("[/] [link=x]y[/link] :smile:") == "[/] [link=x]y[/link] :smile:"
    assert shown("Zoë, 東京 ✓") == "Zoë, 東京 ✓"


def test_only_the_terminal_module_writes_human_output() -> None:
    """A future command cannot print data around cqrs_cli.cli.terminal: raw writes are listed."""
    package = Path(__file__).resolve().parent.parent / "cqrs_cli"
    raw = re.compile(
        r"(?<![.\w])print\(|\bConsole\(|sys\.(stdout|stderr)\.write|\becho\(|rich\.print|"
        r"from rich import print|\.print\(f?[\"']"
    )
    allowed = {"terminal.py", "output.py", "reference.py"}  # reference.py writes the docs
    found = [
        f"{path.relative_to(package)}:{number}: {line.strip()}"
        for path in sorted(package.rglob("*.py"))
        if path.name not in allowed
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if raw.search(line)
    ]
    assert not found, "\n".join(found)
