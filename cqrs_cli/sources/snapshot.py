"""Snapshot sources: a JSON object of model name → records shaped like `search_read` output.

The same class serves `--from-file PATH`, the embedded demo and in-memory dicts (the
legacy importer). A snapshot is complete: a record missing from it counts as deleted.
Its keys are checked before anything is read: a key no sync reads (`crm.leads`) or a
snapshot with none of the synced models (`{}`) is an error, never a sync that quietly
leaves everything as it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from difflib import get_close_matches
from importlib import resources
from pathlib import Path

from cqrs_cli.domain.event_types import ENTITY_BY_MODEL
from cqrs_cli.domain.odoo_ids import denoted_id, is_id
from cqrs_cli.sources.base import PAGE_SIZE, Domain, Raw, SourceError
from cqrs_cli.sources.domain import compile_domain

# Read when a model is absent, as Odoo does for users without HR rights.
FALLBACK_MODELS = {"hr.employee": "hr.employee.public"}
# The models a sync reads records of, and those that name users' groups (sync/groups.py).
RECORD_MODELS = (*ENTITY_BY_MODEL, *FALLBACK_MODELS.values())
GROUP_MODELS = ("res.groups", "ir.model.data")
KNOWN_MODELS = (*RECORD_MODELS, *GROUP_MODELS)


def check_models(data: Mapping[str, object], where: str) -> None:
    """Refuse a key no sync reads (a typo would leave that model as it is, unnoticed) and a
    snapshot holding none of the synced models (a sync of it would do nothing)."""
    known = ", ".join(KNOWN_MODELS)
    for key in data:
        if key not in KNOWN_MODELS:
            close = get_close_matches(str(key), KNOWN_MODELS, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise SourceError(f"{where}: unknown model {key!r}{hint}; known models: {known}")
    if not any(model in data for model in RECORD_MODELS):
        raise SourceError(
            f"{where} holds none of the models a sync reads ({', '.join(RECORD_MODELS)}); "
            "a snapshot maps each model to its records, as `cqrs export` writes"
        )


class SnapshotSource:
    """Records held in memory. `data` maps an Odoo model name to its list of records."""

    incremental = False

    def __init__(
        self, data: Mapping[str, Sequence[Raw]], *, name: str = "file", where: str | None = None
    ) -> None:
        if not isinstance(data, Mapping):
            raise SourceError("a snapshot must be a JSON object of model name → list of records")
        check_models(data, where or f"snapshot {name}")
        for model, records in data.items():
            if not isinstance(records, list | tuple):
                raise SourceError(f"snapshot: {model} must be a list of records")
            for index, record in enumerate(records):
                if not isinstance(record, dict):
                    raise SourceError(
                        f"snapshot: {model}[{index}] must be a record (a JSON object), "
                        f"not {type(record).__name__}"
                    )
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
        return cls(data, name=name, where=str(path))

    def provides(self, model: str) -> bool:
        return model in self._data or FALLBACK_MODELS.get(model, "") in self._data

    def search_count(self, model: str, domain: Domain) -> int:
        match = compile_domain(domain)
        return sum(1 for r in self._records(model) if match(r))

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
        valid: list[Raw] = []
        odd: list[Raw] = []  # records with an odd id: the sync reports them invalid
        for record in self._records(model):
            if match(record):
                # Only the asked fields, as Odoo answers; a copy also keeps the caller's dict.
                (valid if is_id(record.get("id")) else odd).append(
                    {f: record[f] for f in wanted if f in record}
                )
        valid.sort(key=lambda r: int(r["id"]))
        page: list[Raw] = []
        for i, record in enumerate(valid):
            page.append(record)
            # Copies of one id stay on one page, so the sync sees them together.
            if len(page) >= page_size and (
                i + 1 == len(valid) or valid[i + 1]["id"] != record["id"]
            ):
                yield page
                page = []
        for record in odd:
            page.append(record)
            if len(page) >= page_size:
                yield page
                page = []
        if page:
            yield page

    def search_ids(self, model: str, domain: Domain) -> list[int]:
        match = compile_domain(domain)
        ids = {denoted_id(r.get("id")) for r in self._records(model) if match(r)}
        return sorted(i for i in ids if i is not None)

    def clock_skew(self) -> float | None:
        return None  # a file has no clock: its records are read whole every time

    def close(self) -> None:
        return None


def demo_source() -> SnapshotSource:
    """The embedded demo organisation (DESIGN.md §7)."""
    text = resources.files("cqrs_cli.sources").joinpath("demo.json").read_text(encoding="utf-8")
    return SnapshotSource(json.loads(text), name="demo")
