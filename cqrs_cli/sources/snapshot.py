"""Snapshot sources: a JSON object of model name → records shaped like `search_read` output.

The same class serves `--from-file PATH`, the embedded demo and in-memory dicts (the
legacy importer). A snapshot is complete: a record missing from it counts as deleted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from cqrs_cli.sources.base import PAGE_SIZE, Domain, Raw, SourceError
from cqrs_cli.sources.domain import compile_domain

# Read when a model is absent, as Odoo does for users without HR rights.
FALLBACK_MODELS = {"hr.employee": "hr.employee.public"}


class SnapshotSource:
    """Records held in memory. `data` maps an Odoo model name to its list of records."""

    incremental = False

    def __init__(self, data: Mapping[str, Sequence[Raw]], *, name: str = "file") -> None:
        if not isinstance(data, Mapping):
            raise SourceError("a snapshot must be a JSON object of model name → list of records")
        for model, records in data.items():
            if not isinstance(records, list | tuple):
                raise SourceError(f"snapshot: {model} must be a list of records")
        self.name = name
        self.cursor_key = name  # unused: a snapshot is always read whole
        self._data = data

    @classmethod
    def from_file(cls, path: Path, *, name: str = "file") -> SnapshotSource:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SourceError(f"cannot read snapshot {path}: {exc.strerror or exc}") from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SourceError(f"{path} is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise SourceError(f"{path}: a snapshot is a JSON object of model name → records")
        return cls(data, name=name)

    def provides(self, model: str) -> bool:
        return model in self._data or FALLBACK_MODELS.get(model, "") in self._data

    def search_count(self, model: str, domain: Domain) -> int:
        return len(self.search_ids(model, domain))

    def _records(self, model: str) -> Sequence[Raw]:
        if model in self._data:
            return self._data[model]
        fallback = FALLBACK_MODELS.get(model)
        return self._data.get(fallback, []) if fallback else []

    def search_read(
        self, model: str, domain: Domain, fields: Sequence[str], *, page_size: int = PAGE_SIZE
    ) -> Iterator[list[Raw]]:
        match = compile_domain(domain)
        wanted = ("id", *fields)
        # Only the asked fields, as Odoo answers; a copy also keeps the caller's dict safe.
        page: list[Raw] = []
        records = self._records(model)
        valid = sorted(self._valid(model), key=_id)
        # Records without an integer id go last: the sync reports them as invalid.
        broken = [r for r in records if isinstance(r, dict) and not isinstance(r.get("id"), int)]
        for record in [*valid, *broken]:
            if match(record):
                page.append({f: record[f] for f in wanted if f in record})
                if len(page) >= page_size:
                    yield page
                    page = []
        if page:
            yield page

    def search_ids(self, model: str, domain: Domain, *, page_size: int = PAGE_SIZE) -> list[int]:
        match = compile_domain(domain)
        return sorted(_id(r) for r in self._valid(model) if match(r))

    def _valid(self, model: str) -> Iterator[Raw]:
        # A record without an integer id cannot count as present for the deletion diff.
        for record in self._records(model):
            if isinstance(record, dict) and isinstance(record.get("id"), int):
                yield record

    def close(self) -> None:
        return None


def _id(record: Raw) -> int:
    value: Any = record["id"]
    return int(value)


def demo_source() -> SnapshotSource:
    """The embedded demo organisation (DESIGN.md §7)."""
    text = resources.files("cqrs_cli.sources").joinpath("demo.json").read_text(encoding="utf-8")
    return SnapshotSource(json.loads(text), name="demo")
