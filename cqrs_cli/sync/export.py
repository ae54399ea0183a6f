"""Write a snapshot file: the records a sync would read, exactly as search_read returns them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cqrs_cli.domain.errors import CqrsError
from cqrs_cli.sources.base import Raw, Source, SourceAccessError
from cqrs_cli.sync.groups import XML_IDS
from cqrs_cli.sync.scope import ORDER, scope


def snapshot(source: Source) -> dict[str, list[Raw]]:
    data: dict[str, list[Raw]] = {}
    for kind in ORDER:
        domain = scope(kind.MODEL)
        if kind.MODEL == "res.partner":
            referenced = {
                r["partner_id"][0] if isinstance(r["partner_id"], list) else r["partner_id"]
                for r in data.get("crm.lead", [])
                if r.get("partner_id")
            }
            domain = scope(kind.MODEL, sorted(referenced))
        data[kind.MODEL] = [
            r for page in source.search_read(kind.MODEL, domain, kind.FIELDS) for r in page
        ]
    data["res.groups"] = [
        r for page in source.search_read("res.groups", [], ["name", "full_name"]) for r in page
    ]
    try:
        modules = sorted({x.split(".")[0] for x in XML_IDS})
        data["ir.model.data"] = [
            r
            for page in source.search_read(
                "ir.model.data",
                [("model", "=", "res.groups"), ("module", "in", modules)],
                ["module", "name", "model", "res_id"],
            )
            for r in page
        ]
    except SourceAccessError:
        pass  # the snapshot then resolves groups by name, as a sync would
    return data


def write_snapshot(source: Source, path: Path) -> dict[str, int]:
    data = snapshot(source)
    tmp = path.with_name(path.name + ".tmp")
    try:
        # CRM data is private: the file is created readable by its owner only.
        fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=1)
            fh.write("\n")
        os.replace(tmp, path)
    except OSError as exc:
        raise CqrsError(f"cannot write {path}: {exc.strerror or exc}") from exc
    counts: dict[str, Any] = {m: len(rows) for m, rows in data.items()}
    return counts
