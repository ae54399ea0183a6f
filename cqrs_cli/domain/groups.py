"""How a sync names res.groups ids by the XML ids that decide visibility (docs/sync.md: Odoo
facts the sync relies on; docs/access.md: Groups).

One rule for every reader of groups: the sync (`sync/groups.py`, reading a source) and the
legacy import's check of what its users will see (`legacy/parse.py`, reading a snapshot).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cqrs_cli.domain.hierarchy import ALL_LEADS as ALL_LEADS
from cqrs_cli.domain.hierarchy import SALE_MANAGER as SALE_MANAGER
from cqrs_cli.domain.hierarchy import SALESMAN as SALESMAN
from cqrs_cli.domain.odoo_ids import is_id

GROUPS_MODEL = "res.groups"
SYSTEM = "base.group_system"
XML_IDS = (SALESMAN, ALL_LEADS, SALE_MANAGER, SYSTEM)
XML_MODULES = tuple(sorted({x.split(".")[0] for x in XML_IDS}))
XML_NAMES = tuple(sorted({x.split(".")[1] for x in XML_IDS}))

# When ir.model.data is not readable: Odoo's English names (full_name is "Category / Name").
BY_FULL_NAME = {
    "Sales / User: Own Documents Only": SALESMAN,
    "Sales / User: All Documents": ALL_LEADS,
    "Sales / Administrator": SALE_MANAGER,
    "Administration / Settings": SYSTEM,
}
BY_NAME = {
    "User: Own Documents Only": SALESMAN,
    "User: All Documents": ALL_LEADS,
    "Settings": SYSTEM,
}

Row = Mapping[str, Any]


def named_by_xml_ids(rows: Iterable[Row]) -> dict[int, str]:
    """Group id → XML id, from ir.model.data rows, for the groups in XML_IDS.

    The sync uses these whenever there is one; only when there is none (ir.model.data is
    unreadable, or names none of them) does it name groups by `named_by_names`."""
    found: dict[int, str] = {}
    for row in rows:
        xml_id = f"{row.get('module')}.{row.get('name')}"
        res_id = row.get("res_id")
        # `true` is no group 1
        if row.get("model", GROUPS_MODEL) == GROUPS_MODEL and xml_id in XML_IDS and is_id(res_id):
            found[res_id] = xml_id
    return found


def named_by_names(rows: Iterable[Row]) -> dict[int, str]:
    """Group id → XML id, from res.groups rows, by Odoo's English names."""
    found: dict[int, str] = {}
    for row in rows:
        by_full = BY_FULL_NAME.get(str(row.get("full_name")))
        by_name = by_full or BY_NAME.get(str(row.get("name")))
        group_id = row.get("id")
        if by_name and is_id(group_id):
            found[group_id] = by_name
    return found


def known_groups(xml_rows: Iterable[Row], group_rows: Iterable[Row]) -> set[int]:
    """The group ids whose meaning the sync will know: each is either one of XML_IDS or
    known to be none of them. With XML ids, the groups an ir.model.data row names; by
    names (no XML id names a group of XML_IDS), every res.groups row, since its name says
    which it is. A user in none of these has sales rights nobody can tell."""
    xml_rows = list(xml_rows)
    if named_by_xml_ids(xml_rows):
        return {
            int(r["res_id"])
            for r in xml_rows
            if r.get("model") == GROUPS_MODEL and is_id(r.get("res_id"))
        }
    return {int(r["id"]) for r in group_rows if is_id(r.get("id"))}


def user_groups(groups_id: object, xml_ids: dict[int, str]) -> list[str]:
    if not isinstance(groups_id, list):
        return []
    return sorted({xml_ids[g] for g in groups_id if is_id(g) and g in xml_ids})
