"""The old MongoDB app's data (seed step 3.2) as a snapshot the sync can import.

`load_legacy(data, users)` reads two `mongoexport` files and returns a `LegacyImport`:
`snapshot` maps an Odoo model to its records in `search_read` shape (what a sync from
Odoo would have read), `problems` lists everything that was not imported as is, and why.
Nothing is dropped silently; whether problems abort an import is the caller's choice.

- `--data` (the app's `data_lake_serving` collection): one Odoo record per document,
  `{model | entity_type, odoo_id, data, synced_at}`. Several copies of one record: the
  newest `synced_at` wins (the last one in the file on a tie).
- `--users` (the app's `users` collection): `{_id, email, name, role, odoo_user_id,
  odoo_employee_id, manager_id}`. Only fills what the data lake lacks (a user, an
  employee, an employee's parent, a user's groups); it never overrides the data lake,
  and a disagreement is reported.

The input format and every mapping are documented in docs/legacy.md.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cqrs_cli.domain.errors import CqrsError
from cqrs_cli.domain.groups import (
    ALL_LEADS,
    GROUPS_MODEL,
    SALE_MANAGER,
    SALESMAN,
    SYSTEM,
    known_groups,
)
from cqrs_cli.domain.records import RECORD_BY_MODEL
from cqrs_cli.legacy.extjson import Document, Problem, excerpt, odoo_datetime, read_documents

Record = dict[str, Any]
Snapshot = dict[str, list[Record]]

XMLID_MODEL = "ir.model.data"
MODELS: tuple[str, ...] = (*RECORD_BY_MODEL, GROUPS_MODEL, XMLID_MODEL)

_ENTITIES: dict[str, str] = {
    "user": "res.users",
    "employee": "hr.employee",
    "team": "crm.team",
    "sales_team": "crm.team",
    "team_member": "crm.team.member",
    "member": "crm.team.member",
    "stage": "crm.stage",
    "partner": "res.partner",
    "account": "res.partner",
    "customer": "res.partner",
    "contact": "res.partner",
    "opportunity": "crm.lead",
    "opportunitie": "crm.lead",  # "opportunities" with the plural "s" taken off
    "lead": "crm.lead",
    "group": GROUPS_MODEL,
}
# Odoo models the old app may have named directly, beyond the ones we import.
_MODEL_ALIASES = {"hr.employee.public": "hr.employee"}

INTERNAL = "base.group_user"
# Odoo stores implied groups in groups_id too: every internal user is in
# base.group_user, a sales administrator also in "all documents" and "own documents".
_ADMIN = (INTERNAL, SYSTEM, SALE_MANAGER, ALL_LEADS, SALESMAN)
_SALES = (INTERNAL, SALESMAN)
# A "manager" in the old app managed people through the employee tree, which gives
# them their subordinates' opportunities (docs/access.md, section 4): Odoo-wise still a salesperson.
ROLE_GROUPS: dict[str, tuple[str, ...]] = {
    "superadmin": _ADMIN,
    "super_admin": _ADMIN,
    "admin": _ADMIN,
    "administrator": _ADMIN,
    "manager": _SALES,
    "sales_manager": _SALES,
    "salesperson": _SALES,
    "salesman": _SALES,
    "sales": _SALES,
    "sales_rep": _SALES,
    "user": _SALES,
    "viewer": (INTERNAL,),
    "none": (INTERNAL,),
}
GROUP_NAMES = {
    SALESMAN: "User: Own Documents Only",
    ALL_LEADS: "User: All Documents",
    SALE_MANAGER: "Administrator",
    SYSTEM: "Settings",
    INTERNAL: "Internal User",
}


@dataclass(frozen=True)
class LegacyImport:
    """What `load_legacy` read: the snapshot, the problems, and figures to check."""

    snapshot: Snapshot
    problems: list[Problem]
    counts: dict[str, int]
    opportunities: int  # crm.lead of type 'opportunity' (the sync imports only these)
    leads: int  # crm.lead of type 'lead': kept in the snapshot, dropped by the sync
    superseded: int  # older copies of a record, dropped in favour of the newest
    filled: list[str] = field(default_factory=list)  # what users.json added, one line each

    @property
    def internal_users(self) -> int:
        """Odoo's internal users (share False), without the superuser (id 1)."""
        return sum(
            1
            for u in self.snapshot.get("res.users", [])
            if u.get("share") is False and u.get("id") != 1
        )


def load_legacy(data_path: Path | None, users_path: Path | None) -> LegacyImport:
    """Read the mongoexport files into an Odoo snapshot; see the module docstring."""
    if data_path is None and users_path is None:
        raise CqrsError("nothing to import: give the data lake export, the users export, or both")
    problems: list[Problem] = []
    lake = _DataLake()
    if data_path is not None:
        docs, read_problems = read_documents(data_path)
        problems += read_problems
        for doc in docs:
            lake.add(doc, problems)
    snapshot = lake.snapshot()
    filled: list[str] = []
    if users_path is not None:
        docs, read_problems = read_documents(users_path)
        problems += read_problems
        app_users = _app_users(docs, problems)
        _Filler(snapshot, problems, filled).fill(app_users)
    _check_groups_resolvable(snapshot, problems)
    return _result(snapshot, problems, lake.superseded, filled)


def _result(
    snapshot: Snapshot, problems: list[Problem], superseded: int, filled: list[str]
) -> LegacyImport:
    ordered = {
        m: sorted(snapshot[m], key=lambda r: int(r["id"])) for m in MODELS if snapshot.get(m)
    }
    leads = ordered.get("crm.lead", [])
    opportunities = sum(1 for r in leads if r.get("type", "opportunity") == "opportunity")
    return LegacyImport(
        snapshot=ordered,
        problems=sorted(problems, key=lambda p: (p.file, p.line or 0, p.index or 0)),
        counts={m: len(rs) for m, rs in ordered.items()},
        opportunities=opportunities,
        leads=len(leads) - opportunities,
        superseded=superseded,
        filled=filled,
    )


# --- the data lake --------------------------------------------------------------------


def model_of(entity: str) -> str | None:
    """The Odoo model an old-app entity name or Odoo model name stands for, if any."""
    name = entity.strip().lower()
    if name in MODELS:
        return name
    if name in _MODEL_ALIASES:
        return _MODEL_ALIASES[name]
    key = name.replace("-", "_").replace(" ", "_")
    return _ENTITIES.get(key) or _ENTITIES.get(key.removesuffix("s"))


@dataclass
class _Kept:
    synced_at: str
    index: int
    record: Record


class _DataLake:
    """Data lake documents, one kept per (model, odoo_id): the newest synced_at."""

    def __init__(self) -> None:
        self._kept: dict[tuple[str, int], _Kept] = {}
        self.superseded = 0

    def add(self, doc: Document, problems: list[Problem]) -> None:
        parsed = _parse_lake_doc(doc)
        if isinstance(parsed, Problem):
            problems.append(parsed)
            return
        model, synced_at, record = parsed
        key = (model, int(record["id"]))
        old = self._kept.get(key)
        if old is not None:
            self.superseded += 1
            # "" (no synced_at) sorts before any date; on a tie the later document
            # wins, as mongoexport writes in insertion order.
            if synced_at < old.synced_at:
                return
        self._kept[key] = _Kept(synced_at, doc.index, record)

    def snapshot(self) -> Snapshot:
        out: Snapshot = {}
        for (model, _), kept in self._kept.items():
            out.setdefault(model, []).append(kept.record)
        return out


def _parse_lake_doc(doc: Document) -> tuple[str, str, Record] | Problem:
    value = doc.value
    if not isinstance(value, dict):
        return doc.problem(f"a document must be a JSON object, not {_kind(value)}")
    model = _lake_model(doc, value)
    if isinstance(model, Problem):
        return model
    odoo_id = _positive_int(value.get("odoo_id"))
    if odoo_id is None:
        return doc.problem("'odoo_id' is missing or not a positive integer")
    data = value.get("data")
    if not isinstance(data, dict):
        return doc.problem(f"'data' must be an object (the Odoo record), not {_kind(data)}")
    if "id" in data and _positive_int(data["id"]) != odoo_id:
        return doc.problem(f"data.id {data['id']!r} differs from odoo_id {odoo_id}")
    synced_at = _synced_at(value.get("synced_at"))
    if synced_at is None:
        return doc.problem("'synced_at' is not a date")
    record = {**data, "id": odoo_id}
    reason = _invalid(model, record)
    if reason:
        return doc.problem(f"{model} {odoo_id} is not a valid record: {reason}")
    return model, synced_at, record


def _lake_model(doc: Document, value: Record) -> str | Problem:
    names = [value[k] for k in ("model", "entity_type") if k in value]
    if not names:
        if "role" in value or "odoo_user_id" in value:
            return doc.problem("an app user (users export), not a data lake document")
        return doc.problem("neither 'model' nor 'entity_type': not a data lake document")
    if not all(isinstance(n, str) for n in names):
        return doc.problem("'model'/'entity_type' must be text")
    models = {model_of(n) for n in names}
    if None in models:
        unknown = next(n for n in names if model_of(n) is None)
        return doc.problem(f"unknown model or entity type {unknown!r}")
    if len(models) > 1:
        return doc.problem(f"'model' and 'entity_type' disagree: {names[0]!r} vs {names[1]!r}")
    return str(models.pop())


def _invalid(model: str, record: Record) -> str:
    """Why `record` would not survive the sync's validation ("" when it would)."""
    if model == GROUPS_MODEL:
        return "" if isinstance(record.get("name"), str) else "'name' is missing"
    if model == XMLID_MODEL:
        missing = [k for k in ("module", "name", "model") if not isinstance(record.get(k), str)]
        if _positive_int(record.get("res_id")) is None:
            missing.append("res_id")
        return f"missing or bad {', '.join(missing)}" if missing else ""
    try:
        RECORD_BY_MODEL[model].model_validate(record)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "record"
        return f"{where}: {err['msg']}"
    return ""


def _synced_at(value: Any) -> str | None:
    """A sortable UTC text for synced_at: "" when absent, None when unreadable."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return odoo_datetime(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and value > 0 else None


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "an object", list: "an array", str: "text", bool: "a boolean"}.get(
        type(value), "a number"
    )


# --- the app's users ------------------------------------------------------------------


@dataclass(frozen=True)
class AppUser:
    """One document of the old app's users collection, as far as we use it."""

    doc: Document
    app_id: str | None  # the document's _id, which another user's manager_id may name
    odoo_user_id: int
    name: str | None
    email: str | None
    role: str | None
    odoo_employee_id: int | None
    manager_ref: str | int | None
    active: bool


def _app_users(docs: list[Document], problems: list[Problem]) -> list[AppUser]:
    users: list[AppUser] = []
    seen: set[int] = set()
    for doc in docs:
        parsed = _parse_app_user(doc)
        if isinstance(parsed, Problem):
            problems.append(parsed)
        elif parsed.odoo_user_id in seen:
            problems.append(
                doc.problem(
                    f"odoo_user_id {parsed.odoo_user_id} appears twice; the first one is used"
                )
            )
        else:
            seen.add(parsed.odoo_user_id)
            users.append(parsed)
    return users


def _parse_app_user(doc: Document) -> AppUser | Problem:
    value = doc.value
    if not isinstance(value, dict):
        return doc.problem(f"a user must be a JSON object, not {_kind(value)}")
    if "data" in value and ("model" in value or "entity_type" in value):
        return doc.problem("a data lake document, not an app user")
    uid = _positive_int(value.get("odoo_user_id"))
    if uid is None:
        return doc.problem("no usable 'odoo_user_id': an app-only user has nothing to import")
    texts = {k: value.get(k) for k in ("name", "email", "role", "_id")}
    bad = [k for k, v in texts.items() if v is not None and not isinstance(v, str)]
    if bad:
        return doc.problem(f"{', '.join(bad)} must be text")
    manager = value.get("manager_id")
    if isinstance(manager, bool) or not isinstance(manager, str | int | None):
        return doc.problem(f"manager_id must be an app user _id or an Odoo user id: {manager!r}")
    employee = value.get("odoo_employee_id")
    if employee is not None and _positive_int(employee) is None:
        return doc.problem(f"odoo_employee_id is not a positive integer: {employee!r}")
    return AppUser(
        doc,
        texts["_id"],
        uid,
        texts["name"],
        texts["email"],
        texts["role"],
        _positive_int(employee),
        manager,
        _active(value),
    )


def _active(value: Record) -> bool:
    for key in ("active", "is_active"):
        if isinstance(value.get(key), bool):
            return bool(value[key])
    return True


def _m2o_id(value: Any) -> int | None:
    if isinstance(value, list | tuple) and value:
        value = value[0]
    return _positive_int(value)


class _Filler:
    """Fills what the data lake lacks from the app's users, reporting disagreements."""

    def __init__(self, snapshot: Snapshot, problems: list[Problem], filled: list[str]) -> None:
        self.snapshot = snapshot
        self.problems = problems
        self.filled = filled
        self.company = _main_company(snapshot)
        self.wanted_groups: dict[int, tuple[str, ...]] = {}
        self.by_app_id: dict[str, AppUser] = {}

    def fill(self, app_users: list[AppUser]) -> None:
        self.by_app_id = {a.app_id: a for a in app_users if a.app_id}
        for app in app_users:
            self._user(app)
        for app in app_users:
            self._employee(app)
        for app in app_users:
            self._parent(app)
        _GroupRows(self.snapshot).assign(self.wanted_groups)

    def _records(self, model: str) -> list[Record]:
        return self.snapshot.setdefault(model, [])

    def _find(self, model: str, odoo_id: int) -> Record | None:
        return next((r for r in self.snapshot.get(model, []) if r["id"] == odoo_id), None)

    def _note(self, app: AppUser, reason: str) -> None:
        self.problems.append(app.doc.problem(reason))

    # users

    def _user(self, app: AppUser) -> None:
        user = self._find("res.users", app.odoo_user_id)
        groups = self._role_groups(app)
        if user is None:
            self._add_user(app, groups)
            return
        self._compare_user(app, user)
        if "groups_id" not in user and groups is not None:
            self.wanted_groups[app.odoo_user_id] = groups
            self.filled.append(f"res.users {app.odoo_user_id}: groups from role {app.role!r}")

    def _role_groups(self, app: AppUser) -> tuple[str, ...] | None:
        if app.role is None:
            return None
        groups = ROLE_GROUPS.get(app.role.strip().lower().replace(" ", "_"))
        if groups is None:
            self._note(
                app, f"unknown role {app.role!r}: no groups derived (the user sees no opportunity)"
            )
        return groups

    def _add_user(self, app: AppUser, groups: tuple[str, ...] | None) -> None:
        login = app.email or app.name
        if not login:
            self._note(
                app,
                f"res.users {app.odoo_user_id} is not in the data lake and the "
                "app user has neither email nor name: not created",
            )
            return
        self._records("res.users").append(
            {
                "id": app.odoo_user_id,
                "login": login,
                "name": app.name or login,
                "email": app.email or False,
                "active": app.active,
                "share": False,
                "company_id": self.company or False,
                "company_ids": [self.company[0]] if self.company else [],
                "write_date": False,
            }
        )
        self.wanted_groups[app.odoo_user_id] = groups or (INTERNAL,)
        self.filled.append(f"res.users {app.odoo_user_id} ({login}): from the users export")

    def _compare_user(self, app: AppUser, user: Record) -> None:
        if app.name and user.get("name") and app.name != user["name"]:
            self._note(
                app,
                f"name {app.name!r} differs from res.users {user['id']} "
                f"{user['name']!r}: the data lake is kept",
            )
        known = {str(user.get(k)).lower() for k in ("email", "login") if user.get(k)}
        if app.email and known and app.email.lower() not in known:
            self._note(
                app,
                f"email {app.email!r} differs from res.users {user['id']} "
                f"({', '.join(sorted(known))}): the data lake is kept",
            )

    # employees

    def _employees_of(self, uid: int) -> list[Record]:
        mine = [e for e in self.snapshot.get("hr.employee", []) if _m2o_id(e.get("user_id")) == uid]
        # docs/access.md, section 4: the active employee with the lowest id, else the archived one.
        return sorted(mine, key=lambda e: (e.get("active") is False, e["id"]))

    def _employee(self, app: AppUser) -> None:
        if app.odoo_employee_id is None:
            return
        employee = self._find("hr.employee", app.odoo_employee_id)
        if employee is None:
            self._add_employee(app, app.odoo_employee_id)
            return
        owner = _m2o_id(employee.get("user_id"))
        if owner != app.odoo_user_id:
            self._note(
                app,
                f"odoo_employee_id {app.odoo_employee_id} belongs to user {owner} "
                f"in the data lake, not {app.odoo_user_id}: the data lake is kept",
            )

    def _add_employee(self, app: AppUser, employee_id: int) -> None:
        user = self._find("res.users", app.odoo_user_id)
        name = (user or {}).get("name") or app.name or app.email or f"Employee {employee_id}"
        self._records("hr.employee").append(
            {
                "id": employee_id,
                "name": name,
                "user_id": [app.odoo_user_id, name],
                "parent_id": False,
                "active": app.active,
                "company_id": self.company or False,
                "work_email": app.email or False,
                "write_date": False,
            }
        )
        self.filled.append(f"hr.employee {employee_id} ({name}): from the users export")

    def _parent(self, app: AppUser) -> None:
        if app.manager_ref is None or app.manager_ref == "":
            return
        manager_uid = self._manager_uid(app)
        if manager_uid is None:
            return
        mine, theirs = self._employees_of(app.odoo_user_id), self._employees_of(manager_uid)
        if not mine or not theirs:
            who = "the user" if not mine else f"the manager (user {manager_uid})"
            self._note(
                app, f"manager_id cannot be placed in the employee tree: {who} has no employee"
            )
            return
        employee, boss = mine[0], theirs[0]
        if employee["id"] == boss["id"]:
            self._note(app, "manager_id names the user themself: ignored")
            return
        current = _m2o_id(employee.get("parent_id"))
        if current is None:
            employee["parent_id"] = [boss["id"], boss.get("name") or ""]
            self.filled.append(f"hr.employee {employee['id']}: parent {boss['id']} from manager_id")
        elif current != boss["id"]:
            self._note(
                app,
                f"manager_id names employee {boss['id']} but the data lake's "
                f"parent of employee {employee['id']} is {current}: the data lake "
                "is kept",
            )

    def _manager_uid(self, app: AppUser) -> int | None:
        """manager_id: an app user's _id ($oid), else an Odoo user id."""
        ref = app.manager_ref
        if isinstance(ref, str) and ref in self.by_app_id:
            return self.by_app_id[ref].odoo_user_id
        uid = _positive_int(ref)
        if uid is not None and self._find("res.users", uid) is not None:
            return uid
        self._note(app, f"manager_id {ref!r} is neither an app user _id nor a known Odoo user")
        return None


def _main_company(snapshot: Snapshot) -> list[Any] | None:
    """The company most of the data lake's users belong to, as a many2one pair.

    A user created from the users export needs a company, or the company rule would
    hide every opportunity from them; an old app ran against one company.
    """
    companies: Counter[int] = Counter()
    names: dict[int, str] = {}
    for user in snapshot.get("res.users", []):
        value = user.get("company_id")
        cid = _m2o_id(value)
        if cid is not None:
            companies[cid] += 1
            if isinstance(value, list) and len(value) > 1:
                names[cid] = str(value[1])
    if not companies:
        return None
    cid = companies.most_common(1)[0][0]
    return [cid, names.get(cid, "")]


# --- groups ---------------------------------------------------------------------------


class _GroupRows:
    """res.groups + ir.model.data rows naming the groups users.json roles stand for."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.by_xmlid = {
            f"{r['module']}.{r['name']}": int(r["res_id"])
            for r in snapshot.get(XMLID_MODEL, [])
            if r.get("model") == GROUPS_MODEL
        }

    def assign(self, wanted: dict[int, tuple[str, ...]]) -> None:
        users = {u["id"]: u for u in self.snapshot.get("res.users", [])}
        for uid, xmlids in wanted.items():
            if uid in users:
                users[uid]["groups_id"] = sorted(self._group_id(x) for x in xmlids)

    def _group_id(self, xmlid: str) -> int:
        if xmlid not in self.by_xmlid:
            gid = _next_id(self.snapshot.get(GROUPS_MODEL, []))
            module, name = xmlid.split(".", 1)
            self.snapshot.setdefault(GROUPS_MODEL, []).append(
                {"id": gid, "name": GROUP_NAMES.get(xmlid, name)}
            )
            self.snapshot.setdefault(XMLID_MODEL, []).append(
                {
                    "id": _next_id(self.snapshot.get(XMLID_MODEL, [])),
                    "module": module,
                    "name": name,
                    "model": GROUPS_MODEL,
                    "res_id": gid,
                }
            )
            self.by_xmlid[xmlid] = gid
        return self.by_xmlid[xmlid]


def _next_id(records: list[Record]) -> int:
    return max((int(r["id"]) for r in records), default=0) + 1


def _check_groups_resolvable(snapshot: Snapshot, problems: list[Problem]) -> None:
    """Internal users whose sales rights cannot be known would silently see nothing.

    Known as the sync will know them (`known_groups`): by the ir.model.data rows when they
    name the sales groups, else by the res.groups names."""
    named = known_groups(snapshot.get(XMLID_MODEL, []), snapshot.get(GROUPS_MODEL, []))
    for user in snapshot.get("res.users", []):
        if user.get("share") is not False or user["id"] == 1:
            continue
        reason = _groups_unknown(user.get("groups_id"), named)
        if reason:
            problems.append(
                Problem(
                    "(snapshot)",
                    None,
                    None,
                    f"res.users {user['id']}: {reason}; it will see no opportunity",
                    excerpt(user.get("login", "")),
                )
            )


def _groups_unknown(ids: Any, named: set[int]) -> str:
    if not isinstance(ids, list):
        return "no groups_id in the data lake and no role in the users export"
    if ids and not named.intersection(i for i in ids if isinstance(i, int)):
        return f"none of groups_id {ids} is named by an ir.model.data row"
    return ""
