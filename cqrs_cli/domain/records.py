"""Normalized Odoo records (docs/events.md): the `record` inside every event.

`Model.model_validate(raw)` accepts a record exactly as Odoo's `search_read` returns it:
`False` for "empty" becomes None (except on boolean fields), a many2one `[id, "name"]`
becomes the id, Odoo's naive-UTC datetimes "YYYY-MM-DD HH:MM:SS" become
"YYYY-MM-DDTHH:MM:SSZ". Unknown keys are dropped. A record that fails validation is not
appended: the sync reports it (model, id, field, reason).
"""

from __future__ import annotations

import re
import types
import typing
from datetime import datetime
from typing import Annotated, Any, ClassVar, Union

from pydantic import (
    AfterValidator,
    AllowInfNan,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    model_validator,
)

from cqrs_cli.domain.odoo_ids import MAX_ID

_ODOO_DT = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]00:?00)?$")


def _utc(value: str) -> str:
    if not _ODOO_DT.match(value):
        raise ValueError(f"not an Odoo UTC datetime: {value!r}")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T"))
    if len(value) == 19:  # Odoo's own "YYYY-MM-DD HH:MM:SS", now checked: rewrite in place
        return f"{value[:10]}T{value[11:]}Z"
    # isoformat is several times faster than strftime (100,000s of dates per sync).
    return parsed.replace(microsecond=0).isoformat()[:19] + "Z"


UtcDateTime = Annotated[str, AfterValidator(_utc)]
# Ids and references: integers only (not "4", 4.0 or true, which Python takes for 1) that
# fit SQLite, so an odd value is an invalid record instead of a churning or crashing one.
OdooId = Annotated[int, Strict(), Field(gt=0, le=MAX_ID)]
Integer = Annotated[int, Strict(), Field(ge=-MAX_ID - 1, le=MAX_ID)]
Number = Annotated[float, Strict(), AllowInfNan(False)]  # an int is fine, true / "3" / inf not


def _accepts(annotation: Any, kind: type) -> bool:
    if annotation is kind:
        return True
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        return kind in typing.get_args(annotation)
    return False


# Per record class: field name → whether Odoo's False means None (not a boolean field).
# Computed once per class: `model_fields` and the annotation checks are slow per record.
_FALSE_IS_NONE: dict[type, dict[str, bool]] = {}


def _false_is_none(cls: type[BaseModel]) -> dict[str, bool]:
    plan = _FALSE_IS_NONE.get(cls)
    if plan is None:
        plan = {name: not _accepts(f.annotation, bool) for name, f in cls.model_fields.items()}
        _FALSE_IS_NONE[cls] = plan
    return plan


class OdooRecord(BaseModel):
    """Base of every normalized record. `MODEL` is the Odoo model, `FIELDS` what we read."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    MODEL: ClassVar[str]
    ENTITY: ClassVar[str]
    FIELDS: ClassVar[tuple[str, ...]]
    MANY2ONE: ClassVar[frozenset[str]] = frozenset()

    id: OdooId
    write_date: UtcDateTime | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_odoo(cls, raw: Any) -> Any:
        if not isinstance(raw, dict):
            return raw
        out: dict[str, Any] = {}
        plan = _false_is_none(cls)
        many2one = cls.MANY2ONE
        for key, value in raw.items():
            false_is_none = plan.get(key)
            if false_is_none is None:
                continue
            if value is False and false_is_none:
                value = None
            elif key in many2one and isinstance(value, list | tuple) and value:
                value = value[0]
            out[key] = value
        return out


class UserRecord(OdooRecord):
    MODEL = "res.users"
    ENTITY = "User"
    # groups_id is read to compute `groups`; share filters out portal/public users.
    FIELDS = (
        "login",
        "name",
        "email",
        "active",
        "share",
        "company_id",
        "company_ids",
        "groups_id",
        "write_date",
    )
    MANY2ONE = frozenset({"company_id"})

    login: str = Field(min_length=1)
    name: str
    email: str | None = None
    active: bool = True
    share: bool = False
    company_id: OdooId | None = None
    company_ids: list[OdooId] = Field(default_factory=list)
    # XML ids of the user's groups among the ones that decide visibility (sorted), e.g.
    # "sales_team.group_sale_salesman", "sales_team.group_sale_salesman_all_leads",
    # "sales_team.group_sale_manager", "base.group_system". Resolved by the sync.
    groups: list[str] = Field(default_factory=list)


class EmployeeRecord(OdooRecord):
    MODEL = "hr.employee"
    ENTITY = "Employee"
    FIELDS = ("name", "user_id", "parent_id", "active", "company_id", "work_email", "write_date")
    MANY2ONE = frozenset({"user_id", "parent_id", "company_id"})

    name: str
    user_id: OdooId | None = None
    parent_id: OdooId | None = None
    active: bool = True
    company_id: OdooId | None = None
    work_email: str | None = None


class TeamRecord(OdooRecord):
    MODEL = "crm.team"
    ENTITY = "Team"
    FIELDS = ("name", "user_id", "active", "company_id", "write_date")
    MANY2ONE = frozenset({"user_id", "company_id"})

    name: str
    user_id: OdooId | None = None  # team leader
    active: bool = True
    company_id: OdooId | None = None


class TeamMemberRecord(OdooRecord):
    MODEL = "crm.team.member"
    ENTITY = "TeamMember"
    FIELDS = ("crm_team_id", "user_id", "active", "write_date")
    MANY2ONE = frozenset({"crm_team_id", "user_id"})

    crm_team_id: OdooId
    user_id: OdooId
    active: bool = True


class StageRecord(OdooRecord):
    MODEL = "crm.stage"
    ENTITY = "Stage"
    FIELDS = ("name", "sequence", "is_won", "fold", "team_id", "write_date")
    MANY2ONE = frozenset({"team_id"})

    name: str
    sequence: Integer = 0
    is_won: bool = False
    fold: bool = False
    team_id: OdooId | None = None


class AccountRecord(OdooRecord):
    MODEL = "res.partner"
    ENTITY = "Account"
    FIELDS = ("name", "email", "is_company", "active", "company_id", "parent_id", "write_date")
    MANY2ONE = frozenset({"company_id", "parent_id"})

    name: str | None = None  # Odoo allows nameless contacts (e.g. a delivery address)
    email: str | None = None
    is_company: bool = False
    active: bool = True
    company_id: OdooId | None = None
    parent_id: OdooId | None = None


class OpportunityRecord(OdooRecord):
    MODEL = "crm.lead"
    ENTITY = "Opportunity"
    FIELDS = (
        "name",
        "type",
        "active",
        "stage_id",
        "user_id",
        "team_id",
        "partner_id",
        "company_id",
        "expected_revenue",
        "probability",
        "date_deadline",
        "date_closed",
        "create_date",
        "write_date",
    )
    MANY2ONE = frozenset({"stage_id", "user_id", "team_id", "partner_id", "company_id"})

    name: str
    type: str = "opportunity"
    active: bool = True  # lost opportunities are archived
    stage_id: OdooId | None = None
    user_id: OdooId | None = None  # salesperson
    team_id: OdooId | None = None
    partner_id: OdooId | None = None  # the account
    company_id: OdooId | None = None
    expected_revenue: Number = 0.0
    probability: Number = Field(default=0.0, ge=0, le=100)
    date_deadline: str | None = None
    date_closed: UtcDateTime | None = None
    create_date: UtcDateTime | None = None


RECORD_TYPES: tuple[type[OdooRecord], ...] = (
    UserRecord,
    EmployeeRecord,
    TeamRecord,
    TeamMemberRecord,
    StageRecord,
    AccountRecord,
    OpportunityRecord,
)
RECORD_BY_MODEL: dict[str, type[OdooRecord]] = {r.MODEL: r for r in RECORD_TYPES}
