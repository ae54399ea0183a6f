from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from cqrs_cli.domain.records import OpportunityRecord
from cqrs_cli.sync import diffing


@given(
    st.text(max_size=20),
    st.integers(1, 10**9),
    st.integers(0, 10**6),
    st.sampled_from(["Created", "Updated", "Deleted"]),
    st.text(max_size=64),
)
def test_event_id_is_uuid5(model: str, odoo_id: int, version: int, change: str, h: str) -> None:
    name = f"{model}:{odoo_id}:{version}:{change}:{h}"
    expected = str(uuid.uuid5(diffing.EVENT_NAMESPACE, name))
    assert diffing.event_id(model, odoo_id, version, change, h) == expected


def test_changes_ignore_write_date_only() -> None:
    old = {"id": 1, "name": "a", "write_date": "2026-01-01T00:00:00Z"}
    new = {"id": 1, "name": "a", "write_date": "2026-01-02T00:00:00Z"}
    assert diffing.changes(old, new) == {}
    assert diffing.content_hash(old) == diffing.content_hash(new)
    assert diffing.changes(old, {**new, "name": "b"}) == {"name": ["a", "b"]}


def test_normalized_datetimes_keep_their_format() -> None:
    rec = OpportunityRecord.model_validate(
        {
            "id": 3,
            "name": "x",
            "create_date": "2026-01-05 10:00:07",
            "date_closed": "2026-01-05T10:00:07.123456Z",
            "write_date": False,
            "stage_id": False,
            "user_id": [4, "Zak"],
            "active": False,
        }
    )
    assert rec.create_date == "2026-01-05T10:00:07Z" == rec.date_closed
    assert rec.write_date is None and rec.stage_id is None
    assert rec.user_id == 4 and rec.active is False


def test_invalid_odoo_datetimes_are_refused() -> None:
    import pytest
    from pydantic import ValidationError

    for bad in ("2026-13-01 00:00:00", "2026-01-01", "yesterday"):
        with pytest.raises(ValidationError):
            OpportunityRecord.model_validate({"id": 1, "name": "x", "create_date": bad})


def test_plain_equals_model_dump_for_every_record_type() -> None:
    from cqrs_cli.domain.records import RECORD_BY_MODEL
    from cqrs_cli.sync.engine import plain
    from tests.conftest import demo_data

    data = demo_data()
    seen = set()
    for model, kind in RECORD_BY_MODEL.items():
        for raw in data[model]:
            rec = kind.model_validate(
                {**raw, "groups": ["base.group_system"]} if model == "res.users" else raw
            )
            assert plain(rec) == rec.model_dump(mode="json")
            seen.add(model)
    assert seen == set(RECORD_BY_MODEL)
