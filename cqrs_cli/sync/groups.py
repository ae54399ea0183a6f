"""Resolve res.groups ids from a source to the XML ids that decide visibility, by the rule of
`cqrs_cli.domain.groups` (docs/sync.md: Odoo facts the sync relies on)."""

from __future__ import annotations

from cqrs_cli.domain.groups import (
    ALL_LEADS,
    GROUPS_MODEL,
    SALE_MANAGER,
    SALESMAN,
    SYSTEM,
    XML_IDS,
    XML_MODULES,
    XML_NAMES,
    named_by_names,
    named_by_xml_ids,
    user_groups,
)
from cqrs_cli.sources.base import Source, SourceAccessError

__all__ = [
    "ALL_LEADS",
    "SALESMAN",
    "SALE_MANAGER",
    "SYSTEM",
    "XML_IDS",
    "resolve_groups",
    "user_groups",
]


def resolve_groups(source: Source) -> dict[int, str]:
    """Group id → XML id, for the groups in XML_IDS that exist in the source."""
    found: dict[int, str] = {}
    try:
        for page in source.search_read(
            "ir.model.data",
            [
                ("model", "=", GROUPS_MODEL),
                ("module", "in", list(XML_MODULES)),
                ("name", "in", list(XML_NAMES)),
            ],
            ["module", "name", "res_id"],
        ):
            found.update(named_by_xml_ids(page))
    except SourceAccessError:
        pass
    if found:
        return found
    for page in source.search_read(GROUPS_MODEL, [], ["name", "full_name"]):
        found.update(named_by_names(page))
    return found
