"""Resolve res.groups ids to the XML ids that decide visibility (docs/sync.md: Odoo facts the
sync relies on; docs/access.md: Groups)."""

from __future__ import annotations

from cqrs_cli.domain.odoo_ids import is_id
from cqrs_cli.sources.base import Source, SourceAccessError

SALESMAN = "sales_team.group_sale_salesman"
ALL_LEADS = "sales_team.group_sale_salesman_all_leads"
SALE_MANAGER = "sales_team.group_sale_manager"
SYSTEM = "base.group_system"
XML_IDS = (SALESMAN, ALL_LEADS, SALE_MANAGER, SYSTEM)

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


def resolve_groups(source: Source) -> dict[int, str]:
    """Group id → XML id, for the groups in XML_IDS that exist in the source."""
    found: dict[int, str] = {}
    modules = sorted({x.split(".")[0] for x in XML_IDS})
    names = sorted({x.split(".")[1] for x in XML_IDS})
    try:
        for page in source.search_read(
            "ir.model.data",
            [("model", "=", "res.groups"), ("module", "in", modules), ("name", "in", names)],
            ["module", "name", "res_id"],
        ):
            for row in page:
                xml_id = f"{row.get('module')}.{row.get('name')}"
                res_id = row.get("res_id")
                if xml_id in XML_IDS and is_id(res_id):  # `true` is no group 1
                    found[res_id] = xml_id
    except SourceAccessError:
        pass
    if found:
        return found
    for page in source.search_read("res.groups", [], ["name", "full_name"]):
        for row in page:
            by_full = BY_FULL_NAME.get(str(row.get("full_name")))
            by_name = by_full or BY_NAME.get(str(row.get("name")))
            group_id = row.get("id")
            if by_name and is_id(group_id):
                found[group_id] = by_name
    return found


def user_groups(groups_id: object, xml_ids: dict[int, str]) -> list[str]:
    if not isinstance(groups_id, list):
        return []
    return sorted({xml_ids[g] for g in groups_id if is_id(g) and g in xml_ids})
