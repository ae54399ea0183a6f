"""Reading the old MongoDB app's mongoexport files into an Odoo snapshot."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cqrs_cli.domain.errors import CqrsError
from cqrs_cli.domain.records import RECORD_BY_MODEL, EmployeeRecord
from cqrs_cli.legacy.extjson import ExtJsonError, Problem, decode, excerpt, read_documents
from cqrs_cli.legacy.parse import LegacyImport, load_legacy, model_of

SAMPLES = Path(__file__).parent / "legacy"
DATA = SAMPLES / "data_lake_serving.json"
USERS = SAMPLES / "users.json"
BAD = SAMPLES / "bad_shapes.json"

VINSHA_OID = "65a1f0c2e4b0000000001002"


def write_lines(path: Path, docs: list[Any]) -> Path:
    path.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    return path


def lake_doc(
    entity: str, odoo_id: Any, data: dict[str, Any], synced_at: Any = None
) -> dict[str, Any]:
    doc: dict[str, Any] = {"entity_type": entity, "odoo_id": odoo_id, "data": data}
    if synced_at is not None:
        doc["synced_at"] = synced_at
    return doc


def user_data(uid: int, name: str, **extra: Any) -> dict[str, Any]:
    login = name.split()[0].lower() + "@acme.example"
    return {
        "id": uid,
        "login": login,
        "name": name,
        "email": login,
        "active": True,
        "share": False,
        "company_id": [1, "Acme"],
        "company_ids": [1],
        **extra,
    }


def employee_data(eid: int, name: str, uid: int, parent: Any = False) -> dict[str, Any]:
    return {"id": eid, "name": name, "user_id": [uid, name], "parent_id": parent, "active": True}


def by_id(result: LegacyImport, model: str) -> dict[int, dict[str, Any]]:
    return {r["id"]: r for r in result.snapshot.get(model, [])}


def reasons(result: LegacyImport) -> list[str]:
    return [p.reason for p in result.problems]


def from_file(result: LegacyImport, name: str) -> list[Problem]:
    return [p for p in result.problems if p.file == name]


def xmlids_of(result: LegacyImport, user_id: int) -> set[str]:
    """A user's group XML ids, resolved the way the sync does: res.groups ← ir.model.data."""
    groups = by_id(result, "res.groups")
    names = {
        r["res_id"]: f"{r['module']}.{r['name']}"
        for r in result.snapshot.get("ir.model.data", [])
        if r["model"] == "res.groups"
    }
    user = by_id(result, "res.users")[user_id]
    assert all(gid in groups for gid in user["groups_id"])
    return {names[gid] for gid in user["groups_id"] if gid in names}


# --- Extended JSON values -------------------------------------------------------------


def test_oid_becomes_its_lowercase_hex() -> None:
    assert decode({"$oid": "65A1F0C2E4B0000000000001"}) == "65a1f0c2e4b0000000000001"


@pytest.mark.parametrize("bad", ["xyz", "65a1f0c2e4b00000000000", 12])
def test_malformed_oid_is_an_error(bad: Any) -> None:
    with pytest.raises(ExtJsonError, match=r"\$oid"):
        decode({"$oid": bad})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"$date": "2025-01-15T09:30:15Z"}, "2025-01-15 09:30:15"),
        ({"$date": "2025-01-15T09:30:15.987Z"}, "2025-01-15 09:30:15"),  # Odoo keeps seconds
        ({"$date": "2025-01-15T11:30:15+02:00"}, "2025-01-15 09:30:15"),  # to UTC
        ({"$date": "2025-01-15T09:30:15"}, "2025-01-15 09:30:15"),
        ({"$date": {"$numberLong": "1736933415000"}}, "2025-01-15 09:30:15"),  # canonical
        ({"$date": 1736933415000}, "2025-01-15 09:30:15"),  # old relaxed writers
        ({"$date": {"$numberLong": "-86400000"}}, "1969-12-31 00:00:00"),
    ],
)
def test_dates_become_odoo_naive_utc(raw: Any, expected: str) -> None:
    assert decode(raw) == expected


@pytest.mark.parametrize(
    "bad", [{"$date": "tomorrow"}, {"$date": {"$oid": "x"}}, {"$date": [2025]}]
)
def test_malformed_date_is_an_error(bad: Any) -> None:
    with pytest.raises(ExtJsonError, match=r"\$date"):
        decode(bad)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"$numberLong": "9007199254740993"}, 9007199254740993),  # beyond a double's precision
        ({"$numberInt": "-42"}, -42),
        ({"$numberDouble": "1.5"}, 1.5),
        ({"$numberDouble": "-0.25"}, -0.25),
        ({"$numberDecimal": "12000.00"}, 12000.0),
    ],
)
def test_numbers(raw: Any, expected: float) -> None:
    value = decode(raw)
    assert value == expected
    assert type(value) is type(expected)


def test_wrappers_are_decoded_anywhere_in_a_document() -> None:
    doc = {
        "a": [{"$numberInt": "1"}, {"b": {"$oid": "65a1f0c2e4b0000000000001"}}],
        "c": {"$date": "2025-01-15T09:30:15Z"},
        "d": False,
        "e": None,
    }
    assert decode(doc) == {
        "a": [1, {"b": "65a1f0c2e4b0000000000001"}],
        "c": "2025-01-15 09:30:15",
        "d": False,
        "e": None,
    }


@pytest.mark.parametrize(
    "wrapper",
    [
        {"$binary": {"base64": "AA==", "subType": "00"}},
        {"$regularExpression": {"pattern": "a", "options": ""}},
        {"$numberLong": "12x"},
        {"$numberDouble": "twelve"},
    ],
)
def test_unsupported_or_malformed_wrappers_are_errors(wrapper: dict[str, Any]) -> None:
    with pytest.raises(ExtJsonError):
        decode({"field": wrapper})


@settings(max_examples=50)
@given(st.integers(min_value=-(10**12), max_value=4 * 10**12))
def test_canonical_and_relaxed_dates_agree(ms: int) -> None:
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    relaxed = decode({"$date": moment.isoformat().replace("+00:00", "Z")})
    assert decode({"$date": {"$numberLong": str(ms)}}) == relaxed
    assert relaxed == moment.strftime("%Y-%m-%d %H:%M:%S")


@settings(max_examples=50)
@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_number_long_round_trips(n: int) -> None:
    assert decode({"$numberLong": str(n)}) == n


# --- files ----------------------------------------------------------------------------


DOCS = [{"n": {"$numberInt": "1"}}, {"n": 2, "when": {"$date": "2025-01-15T09:30:15Z"}}]


def test_json_lines_ignore_blank_lines_and_keep_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("\n" + json.dumps(DOCS[0]) + "\n   \n" + json.dumps(DOCS[1]) + "\n\n")
    docs, problems = read_documents(path)
    assert problems == []
    assert [(d.line, d.index) for d in docs] == [(2, 0), (4, 1)]
    assert [d.value for d in docs] == [{"n": 1}, {"n": 2, "when": "2025-01-15 09:30:15"}]


def test_a_json_array_reads_like_the_same_json_lines(tmp_path: Path) -> None:
    lines = write_lines(tmp_path / "lines.json", DOCS)
    array = tmp_path / "array.json"
    array.write_text("[\n" + ",\n".join(json.dumps(d, indent=1) for d in DOCS) + "\n]\n")
    from_lines, p1 = read_documents(lines)
    from_array, p2 = read_documents(array)
    assert p1 == p2 == []
    assert [d.value for d in from_array] == [d.value for d in from_lines]
    # indent=1 spreads the first document over several lines, from line 2 on.
    second = 2 + len(json.dumps(DOCS[0], indent=1).splitlines())
    assert [(d.line, d.index) for d in from_array] == [(2, 0), (second, 1)]


def test_an_empty_array_and_a_bom_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_bytes(b"\xef\xbb\xbf  [ ]\n")
    assert read_documents(path) == ([], [])


def test_a_malformed_line_is_reported_with_its_number_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"a": 1}\n{"a": 2,\n{"a": 3}\n')
    docs, problems = read_documents(path)
    assert [d.value for d in docs] == [{"a": 1}, {"a": 3}]
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.file, problem.line, problem.index) == ("x.json", 2, 1)
    assert problem.reason.startswith("malformed JSON")
    assert str(problem).startswith("x.json:2: malformed JSON")


def test_a_malformed_array_element_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('[\n{"a": 1},\n{"a": 2,,\n{"a": 3}\n]\n')
    docs, problems = read_documents(path)
    assert [d.value for d in docs] == [{"a": 1}]
    assert [(p.line, p.index) for p in problems] == [(3, 1)]
    assert "rest of the array is not read" in problems[0].reason


def test_a_bad_wrapper_inside_an_array_does_not_stop_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('[{"a": {"$binary": "AA=="}},\n {"a": 2}]')
    docs, problems = read_documents(path)
    assert [d.value for d in docs] == [{"a": 2}]
    assert [(p.line, p.index) for p in problems] == [(1, 0)]
    assert "$binary" in problems[0].reason


def test_a_missing_comma_in_an_array_is_reported_on_its_line(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('[\n{"a": 1},\n{"a": 2}\n\n{"a": 3}\n]')
    docs, problems = read_documents(path)
    assert [d.value for d in docs] == [{"a": 1}, {"a": 2}]
    assert [(p.line, p.reason) for p in problems] == [
        (5, "malformed JSON array: expected ',' or ']'")
    ]


def test_text_after_an_array_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('[{"a": 1}]\n{"a": 2}\n')
    docs, problems = read_documents(path)
    assert len(docs) == 1
    assert [(p.line, p.reason) for p in problems] == [(2, "unexpected text after the JSON array")]


def test_a_missing_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(CqrsError, match="no such file"):
        read_documents(tmp_path / "nope.json")


def test_loading_nothing_is_a_user_error() -> None:
    with pytest.raises(CqrsError, match="nothing to import"):
        load_legacy(None, None)


def test_excerpts_are_short_and_hide_secrets() -> None:
    shown = excerpt(
        {
            "email": "a@b.c",
            "hashed_password": "$2b$12$abc",
            "api_key": "k1",
            "nested": {"reset_token": "t"},
        }
    )
    assert "$2b$" not in shown and "k1" not in shown and '"t"' not in shown
    assert "a@b.c" in shown
    raw = excerpt('{"email": "a@b.c", "password": "hunter2", "note": "' + "x" * 300)
    assert "hunter2" not in raw
    assert len(raw) <= 120


# --- the data lake --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("user", "res.users"),
        ("Users", "res.users"),
        ("employee", "hr.employee"),
        ("hr.employee.public", "hr.employee"),
        ("team", "crm.team"),
        ("team_member", "crm.team.member"),
        ("team-member", "crm.team.member"),
        ("stage", "crm.stage"),
        ("partner", "res.partner"),
        ("account", "res.partner"),
        ("accounts", "res.partner"),
        ("opportunity", "crm.lead"),
        ("opportunities", "crm.lead"),
        ("lead", "crm.lead"),
        ("crm.lead", "crm.lead"),
        ("res.groups", "res.groups"),
        ("ir.model.data", "ir.model.data"),
        ("invoice", None),
        ("account.move", None),
    ],
)
def test_entity_names_map_to_odoo_models(name: str, model: str | None) -> None:
    assert model_of(name) == model


def stage(name: str, **extra: Any) -> dict[str, Any]:
    return {"id": 1, "name": name, "sequence": 1, **extra}


def test_the_newest_synced_at_wins_whatever_the_order(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "lake.json",
        [
            lake_doc("stage", 1, stage("middle"), {"$date": "2025-01-02T00:00:00Z"}),
            lake_doc(
                "stage",
                {"$numberLong": "1"},
                stage("newest"),
                {"$date": {"$numberLong": "1736899200000"}},
            ),  # 2025-01-15
            lake_doc("stage", 1, stage("oldest"), {"$date": "2025-01-01T00:00:00Z"}),
            lake_doc("crm.stage", 1, stage("undated")),
        ],
    )
    result = load_legacy(path, None)
    assert result.snapshot["crm.stage"] == [stage("newest")]
    assert result.superseded == 3
    assert result.problems == []


def test_on_a_synced_at_tie_the_later_document_wins(tmp_path: Path) -> None:
    same = {"$date": "2025-01-02T00:00:00Z"}
    path = write_lines(
        tmp_path / "lake.json",
        [
            lake_doc("stage", 1, stage("first"), same),
            lake_doc("stage", 1, stage("second"), "2025-01-02T00:00:00Z"),  # plain ISO is accepted
        ],
    )
    assert load_legacy(path, None).snapshot["crm.stage"][0]["name"] == "second"


def test_the_id_comes_from_odoo_id_when_data_has_none(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "lake.json", [lake_doc("stage", "3", {"name": "Won", "is_won": True})]
    )
    assert load_legacy(path, None).snapshot["crm.stage"] == [
        {"name": "Won", "is_won": True, "id": 3}
    ]


def test_leads_are_kept_but_counted_apart_from_opportunities(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "lake.json",
        [
            lake_doc("lead", 1, {"name": "a", "type": "lead"}),
            lake_doc("lead", 2, {"name": "b", "type": "opportunity"}),
            lake_doc("opportunity", 3, {"name": "c"}),  # no type: Odoo's default for the CRM app
        ],
    )
    result = load_legacy(path, None)
    assert result.counts == {"crm.lead": 3}
    assert (result.opportunities, result.leads) == (2, 1)


EXPECTED_BAD = {
    2: "unknown model or entity type 'invoice'",
    3: "an app user (users export), not a data lake document",
    4: "malformed JSON: Unterminated string",
    6: "'odoo_id' is missing or not a positive integer",
    7: "'data' must be an object (the Odoo record), not an array",
    8: "unsupported Extended JSON type $binary",
    9: "data.id 18 differs from odoo_id 17",
    10: "a document must be a JSON object, not an array",
    11: "'model' and 'entity_type' disagree: 'crm.stage' vs 'account'",
    12: "'synced_at' is not a date",
    13: "crm.lead 201 is not a valid record: probability",
}


def test_every_bad_shape_is_reported_with_its_line_and_reason() -> None:
    result = load_legacy(BAD, None)
    found = {p.line: p.reason for p in result.problems}
    assert set(found) == set(EXPECTED_BAD)
    for line, reason in EXPECTED_BAD.items():
        assert found[line].startswith(reason), (line, found[line])
    assert all(p.file == "bad_shapes.json" and p.excerpt for p in result.problems)
    # The good documents around them still load.
    assert result.counts == {"crm.stage": 1, "res.partner": 1}


def test_no_bad_document_is_dropped_silently() -> None:
    docs = [line for line in BAD.read_text().splitlines() if line.strip()]
    result = load_legacy(BAD, None)
    assert sum(result.counts.values()) + len(result.problems) == len(docs)


def test_problem_excerpts_of_bad_shapes_hide_the_password() -> None:
    assert all("hunter2" not in str(p) for p in load_legacy(BAD, None).problems)


# --- users.json filling the gaps ------------------------------------------------------


def app_user(
    oid: str,
    uid: Any,
    name: str,
    role: str = "salesperson",
    employee: Any = None,
    manager: Any = None,
) -> dict[str, Any]:
    return {
        "_id": {"$oid": oid},
        "email": name.split()[0].lower() + "@acme.example",
        "name": name,
        "role": role,
        "odoo_user_id": uid,
        "odoo_employee_id": employee,
        "manager_id": manager,
        "hashed_password": "$2b$12$secret",
    }


BOSS_OID = "65a1f0c2e4b0000000000a01"
REPORT_OID = "65a1f0c2e4b0000000000a02"


SALESMAN_ROWS = [
    lake_doc("res.groups", 20, {"name": "User: Own Documents Only"}),
    lake_doc(
        "ir.model.data",
        5,
        {
            "module": "sales_team",
            "name": "group_sale_salesman",
            "model": "res.groups",
            "res_id": 20,
        },
    ),
]


def boss_lake(tmp_path: Path, *extra: dict[str, Any], groups: bool = True) -> Path:
    """A data lake with a manager (user 6 in group 20, employee 2) and a groups_id-less
    user 7; `groups` adds the res.groups/ir.model.data rows naming group 20."""
    return write_lines(
        tmp_path / "lake.json",
        [
            lake_doc("user", 6, user_data(6, "Vinsha Nair", groups_id=[20])),
            lake_doc("employee", 2, employee_data(2, "Vinsha Nair", 6)),
            lake_doc("user", 7, user_data(7, "Zakariya Khan")),
            *(SALESMAN_ROWS if groups else []),
            *extra,
        ],
    )


def test_users_fill_a_missing_employee_and_its_manager_from_an_oid(tmp_path: Path) -> None:
    users = write_lines(
        tmp_path / "users.json",
        [
            app_user(BOSS_OID, 6, "Vinsha Nair", "manager", employee=2),
            app_user(
                REPORT_OID,
                {"$numberLong": "7"},
                "Zakariya Khan",
                employee=3,
                manager={"$oid": BOSS_OID},
            ),
        ],
    )
    result = load_legacy(boss_lake(tmp_path), users)
    assert result.problems == []
    employee = by_id(result, "hr.employee")[3]
    assert employee["user_id"] == [7, "Zakariya Khan"]
    assert employee["parent_id"] == [2, "Vinsha Nair"]
    assert EmployeeRecord.model_validate(employee).parent_id == 2
    assert any("hr.employee 3" in line for line in result.filled)


def test_users_fill_a_missing_user_with_the_data_lakes_company(tmp_path: Path) -> None:
    users = write_lines(
        tmp_path / "users.json",
        [app_user(REPORT_OID, 11, "Rohan Das", "salesperson", employee=7, manager=6)],
    )
    result = load_legacy(boss_lake(tmp_path), users)
    assert from_file(result, "users.json") == []  # (user 7's groups are not this test's)
    user = by_id(result, "res.users")[11]
    assert (user["login"], user["share"], user["active"]) == ("rohan@acme.example", False, True)
    assert (user["company_id"], user["company_ids"]) == ([1, "Acme"], [1])
    assert "hashed_password" not in user
    assert by_id(result, "hr.employee")[7]["parent_id"] == [2, "Vinsha Nair"]  # via Odoo id
    assert xmlids_of(result, 11) == {"base.group_user", "sales_team.group_sale_salesman"}


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (
            "superadmin",
            {
                "base.group_user",
                "base.group_system",
                "sales_team.group_sale_manager",
                "sales_team.group_sale_salesman_all_leads",
                "sales_team.group_sale_salesman",
            },
        ),
        (
            "Admin",
            {
                "base.group_user",
                "base.group_system",
                "sales_team.group_sale_manager",
                "sales_team.group_sale_salesman_all_leads",
                "sales_team.group_sale_salesman",
            },
        ),
        ("manager", {"base.group_user", "sales_team.group_sale_salesman"}),
        ("salesperson", {"base.group_user", "sales_team.group_sale_salesman"}),
    ],
)
def test_roles_give_groups_only_where_the_data_lake_has_none(
    tmp_path: Path, role: str, expected: set[str]
) -> None:
    users = write_lines(
        tmp_path / "users.json",
        [
            app_user(BOSS_OID, 6, "Vinsha Nair", "superadmin"),  # has groups_id: kept
            app_user(REPORT_OID, 7, "Zakariya Khan", role),
        ],
    )
    result = load_legacy(boss_lake(tmp_path), users)
    assert result.problems == []
    assert by_id(result, "res.users")[6]["groups_id"] == [20]
    assert xmlids_of(result, 7) == expected


def test_synthetic_groups_reuse_the_data_lakes_group_ids(tmp_path: Path) -> None:
    users = write_lines(tmp_path / "users.json", [app_user(REPORT_OID, 7, "Zakariya Khan")])
    result = load_legacy(boss_lake(tmp_path), users)
    assert 20 in by_id(result, "res.users")[7]["groups_id"]
    # base.group_user was not in the lake: one new group, one new XML id, fresh ids.
    assert sorted(by_id(result, "res.groups")) == [20, 21]
    assert sorted(by_id(result, "ir.model.data")) == [5, 6]
    assert xmlids_of(result, 7) == {"base.group_user", "sales_team.group_sale_salesman"}


def test_users_never_override_the_data_lake_and_report_the_conflicts(tmp_path: Path) -> None:
    lake = boss_lake(
        tmp_path,
        lake_doc("employee", 3, employee_data(3, "Zakariya Khan", 7, parent=[9, "Someone Else"])),
        lake_doc("employee", 9, employee_data(9, "Someone Else", 99)),
    )
    users = write_lines(
        tmp_path / "users.json",
        [
            app_user(BOSS_OID, 6, "Vinsha N.", "manager", employee=2),
            app_user(REPORT_OID, 7, "Zakariya Khan", employee=9, manager={"$oid": BOSS_OID}),
        ],
    )
    result = load_legacy(lake, users)
    assert by_id(result, "res.users")[6]["name"] == "Vinsha Nair"
    assert by_id(result, "hr.employee")[3]["parent_id"] == [9, "Someone Else"]
    found = reasons(result)
    assert any("name 'Vinsha N.' differs from res.users 6" in r for r in found)
    assert any("odoo_employee_id 9 belongs to user 99" in r for r in found)
    assert any("the data lake's parent of employee 3 is 9" in r for r in found)
    assert all(p.file == "users.json" and p.line is not None for p in result.problems)


def test_bad_app_users_are_reported(tmp_path: Path) -> None:
    docs = [
        {"email": "app-only@acme.example", "name": "App Only", "role": "admin"},
        app_user("65a1f0c2e4b0000000000a03", 7, "Zakariya Khan", "wizard"),
        app_user("65a1f0c2e4b0000000000a04", 7, "Zakariya Again"),
        app_user("65a1f0c2e4b0000000000a05", 12, "Lone Wolf", manager={"$oid": "f" * 24}),
        lake_doc("user", 6, user_data(6, "Vinsha Nair")),
        "just text",
    ]
    result = load_legacy(boss_lake(tmp_path), write_lines(tmp_path / "users.json", docs))
    # User 7 (role 'wizard') is left with no groups at all, which is reported too.
    assert [p.reason.split(";")[0] for p in from_file(result, "(snapshot)")] == [
        "res.users 7: no groups_id in the data lake and no role in the users export"
    ]
    assert [(p.line, p.reason.split(":")[0]) for p in from_file(result, "users.json")] == [
        (1, "no usable 'odoo_user_id'"),
        (2, "unknown role 'wizard'"),
        (3, "odoo_user_id 7 appears twice; the first one is used"),
        (4, f"manager_id '{'f' * 24}' is neither an app user _id nor a known Odoo user"),
        (5, "a data lake document, not an app user"),
        (6, "a user must be a JSON object, not text"),
    ]
    assert all("secret" not in str(p) for p in result.problems)


def test_a_manager_with_no_employee_is_reported(tmp_path: Path) -> None:
    users = write_lines(
        tmp_path / "users.json", [app_user(REPORT_OID, 7, "Zakariya Khan", manager=6)]
    )  # 7 has no employee
    result = load_legacy(boss_lake(tmp_path), users)
    assert reasons(result) == [
        "manager_id cannot be placed in the employee tree: the user has no employee"
    ]


def test_a_user_managing_themself_is_reported(tmp_path: Path) -> None:
    users = write_lines(
        tmp_path / "users.json",
        [app_user(BOSS_OID, 6, "Vinsha Nair", "manager", manager={"$oid": BOSS_OID})],
    )
    result = load_legacy(boss_lake(tmp_path), users)
    assert [p.reason for p in from_file(result, "users.json")] == [
        "manager_id names the user themself: ignored"
    ]
    assert by_id(result, "hr.employee")[2]["parent_id"] is False


def test_users_alone_make_a_snapshot(tmp_path: Path) -> None:
    users = write_lines(
        tmp_path / "users.json",
        [
            app_user(BOSS_OID, 6, "Vinsha Nair", "admin", employee=2),
            app_user(REPORT_OID, 7, "Zakariya Khan", employee=3, manager={"$oid": BOSS_OID}),
        ],
    )
    result = load_legacy(None, users)
    assert result.problems == []
    assert by_id(result, "hr.employee")[3]["parent_id"] == [2, "Vinsha Nair"]
    assert by_id(result, "res.users")[6]["company_id"] is False  # no company known
    assert "sales_team.group_sale_manager" in xmlids_of(result, 6)


def test_unknown_sales_rights_are_reported(tmp_path: Path) -> None:
    # User 6 is in group 20, which no XML id names; user 7 has no groups_id at all.
    result = load_legacy(boss_lake(tmp_path, groups=False), None)
    assert [(p.file, p.line) for p in result.problems] == [("(snapshot)", None)] * 2
    assert sorted(reasons(result)) == [
        "res.users 6: none of groups_id [20] is named by an ir.model.data row; it will see "
        "no opportunity",
        "res.users 7: no groups_id in the data lake and no role in the users export; it "
        "will see no opportunity",
    ]


def test_groups_named_only_by_res_groups_rows_are_known(tmp_path: Path) -> None:
    # No ir.model.data in the data lake: the sync names groups by their res.groups names
    # (docs/sync.md), so group 20 ("User: Own Documents Only") gives user 6 own documents.
    named = lake_doc(
        "res.groups",
        20,
        {"name": "User: Own Documents Only", "full_name": "Sales / User: Own Documents Only"},
    )
    result = load_legacy(boss_lake(tmp_path, named, groups=False), None)
    assert reasons(result) == [
        "res.users 7: no groups_id in the data lake and no role in the users export; it "
        "will see no opportunity",
    ]


def test_groups_the_sync_would_not_name_are_still_reported(tmp_path: Path) -> None:
    # ir.model.data names the sales groups, so the sync reads no res.groups name: a group
    # that only a res.groups row names (30) says nothing of user 8's rights.
    result = load_legacy(
        boss_lake(
            tmp_path,
            lake_doc("res.groups", 30, {"name": "User: All Documents"}),
            lake_doc("user", 8, user_data(8, "Meera Pillai", groups_id=[30])),
        ),
        None,
    )
    assert [r for r in reasons(result) if r.startswith("res.users 8")] == [
        "res.users 8: none of groups_id [30] is named by an ir.model.data row; it will see "
        "no opportunity"
    ]


# --- the sample pair ------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample() -> LegacyImport:
    return load_legacy(DATA, USERS)


def test_the_sample_uses_both_layouts() -> None:
    assert DATA.read_text().lstrip().startswith("{")
    assert USERS.read_text().lstrip().startswith("[")
    for text in (DATA.read_text(), USERS.read_text()):
        assert "$oid" in text and "$date" in text and "$numberLong" in text


def test_the_sample_loads_without_problems(sample: LegacyImport) -> None:
    assert sample.problems == [], [str(p) for p in sample.problems]


def test_the_sample_has_the_demo_organisation(sample: LegacyImport) -> None:
    users = by_id(sample, "res.users")
    internal = {u["login"] for u in users.values() if u["share"] is False and u["id"] != 1}
    assert sample.internal_users == len(internal) == 7
    assert {login.split("@")[0] for login in internal} == {
        "superadmin",
        "vinsha",
        "zakariya",
        "meera",
        "arjun",
        "priya",
        "rohan",
    }
    assert sample.opportunities == 23
    assert sample.leads == 2
    assert sample.counts["crm.team"] == 2
    assert sample.superseded == 2


def user_id(sample: LegacyImport, prefix: str) -> int:
    return int(next(u["id"] for u in sample.snapshot["res.users"] if u["login"].startswith(prefix)))


def employee_of(sample: LegacyImport, uid: int) -> dict[str, Any]:
    return next(e for e in sample.snapshot["hr.employee"] if e["user_id"][0] == uid)


def test_vinshas_employee_is_zakariyas_parent(sample: LegacyImport) -> None:
    vinsha = employee_of(sample, user_id(sample, "vinsha"))
    zakariya = employee_of(sample, user_id(sample, "zakariya"))
    assert zakariya["parent_id"][0] == vinsha["id"]


def test_the_others_report_to_meera(sample: LegacyImport) -> None:
    meera = employee_of(sample, user_id(sample, "meera"))
    for login in ("arjun", "priya", "rohan"):
        assert employee_of(sample, user_id(sample, login))["parent_id"][0] == meera["id"]


def opportunities(sample: LegacyImport) -> list[dict[str, Any]]:
    return [r for r in sample.snapshot["crm.lead"] if r["type"] == "opportunity"]


def test_the_sample_opportunities_are_spread_as_the_demo(sample: LegacyImport) -> None:
    owners = [o["user_id"][0] for o in opportunities(sample)]
    assert owners.count(user_id(sample, "vinsha")) == 2
    assert owners.count(user_id(sample, "zakariya")) == 2
    assert owners.count(user_id(sample, "superadmin")) == 0
    stages = by_id(sample, "crm.stage")
    assert {s["name"] for s in stages.values()} == {"New", "Qualified", "Proposition", "Won"}
    status = {"won": 0, "lost": 0, "open": 0}
    for opp in opportunities(sample):
        if not opp["active"]:
            assert opp["probability"] == 0
            status["lost"] += 1
        elif stages[opp["stage_id"][0]]["is_won"]:
            status["won"] += 1
        else:
            status["open"] += 1
    assert all(n > 0 for n in status.values()), status
    assert {o["partner_id"][0] for o in opportunities(sample)} <= set(by_id(sample, "res.partner"))


def test_the_sample_keeps_the_newest_copy(sample: LegacyImport) -> None:
    won = by_id(sample, "crm.lead")[102]
    assert won["stage_id"] == [4, "Won"]
    assert won["expected_revenue"] == 18000.0  # from {"$numberDouble": ...}


def test_every_sample_record_validates(sample: LegacyImport) -> None:
    checked = 0
    for model, records in sample.snapshot.items():
        if model not in RECORD_BY_MODEL:
            continue
        for record in records:
            RECORD_BY_MODEL[model].model_validate(record)
            checked += 1
    assert checked == sum(n for m, n in sample.counts.items() if m in RECORD_BY_MODEL)
    assert set(RECORD_BY_MODEL) <= set(sample.snapshot)


def test_sample_groups_resolve_to_the_demo_rights(sample: LegacyImport) -> None:
    admin = xmlids_of(sample, user_id(sample, "superadmin"))
    assert {"base.group_system", "sales_team.group_sale_manager"} <= admin
    for login in ("vinsha", "zakariya", "meera", "arjun", "priya", "rohan"):
        rights = xmlids_of(sample, user_id(sample, login))
        assert "sales_team.group_sale_salesman" in rights
        assert not rights & {
            "base.group_system",
            "sales_team.group_sale_manager",
            "sales_team.group_sale_salesman_all_leads",
        }, login


def test_loading_is_deterministic(sample: LegacyImport) -> None:
    assert load_legacy(DATA, USERS) == sample


def test_problem_is_printable() -> None:
    assert str(Problem("u.json", None, 3, "bad")) == "u.json[3]: bad"
    assert str(Problem("u.json", 4, 3, "bad", "{}")) == "u.json:4: bad ({})"


# --- secrets in excerpts ------------------------------------------------------------------

SECRETS = ["SECRETB64", "PWDVAL", "TOKVAL", "KEYVAL", "HUNTER2", "NESTED1", "NESTED2", "AUTHVAL"]


@pytest.mark.parametrize(
    "value",
    [
        {"hashed_password": {"$binary": {"base64": "SECRETB64", "subType": "00"}}},
        {"pwd": "PWDVAL", "name": "Ann"},
        {"x": {"token": ["TOKVAL"], "api-key": "KEYVAL"}},
        {"apiKey": {"inner": {"deep": "KEYVAL"}}, "Password": "HUNTER2"},
        {"secrets": [{"a": "NESTED1"}, ["NESTED2"]]},
        {"Authorization": "Bearer AUTHVAL", "passwd": "HUNTER2"},
        {"image": {"$binary": {"base64": "SECRETB64", "subType": "00"}}},
    ],
)
def test_excerpts_mask_secret_keys_whatever_the_value(value: dict[str, Any]) -> None:
    for shown in (excerpt(value), excerpt(json.dumps(value)), excerpt(json.dumps(value)[:-1])):
        assert not any(s in shown for s in SECRETS), shown


def test_excerpts_keep_the_rest() -> None:
    shown = excerpt('{"name": "Ann", "pwd": {"$binary": {"base64": "SECRETB64"}}, "role": "x"')
    assert "SECRETB64" not in shown and '"Ann"' in shown and '"role"' in shown


def test_problems_never_show_a_secret(tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    users.write_text(
        "\n".join(
            [
                json.dumps(
                    {
                        "_id": {"$oid": "65a1f0c2e4b0000000000c01"},
                        "name": "A",
                        "odoo_user_id": 3,
                        "hashed_password": {"$binary": {"base64": "SECRETB64", "subType": "00"}},
                    }
                ),
                json.dumps(
                    {"name": "B", "odoo_user_id": 4, "password": {"$numberLong": "HUNTER2"}}
                ),
                json.dumps({"name": "C", "odoo_user_id": 5, "api_key": {"$date": "KEYVAL"}}),
                '{"name": "D", "token": {"$binary": {"base64": "TOKVAL"}}, "pwd": "PWDVAL"',
                json.dumps({"role": "x", "odoo_user_id": "no", "secret": ["NESTED1", "NESTED2"]}),
            ]
        )
        + "\n"
    )
    result = load_legacy(None, users)
    assert len(result.problems) >= 5
    for problem in result.problems:
        shown = str(problem)
        assert not any(s in shown for s in SECRETS), shown
