"""`ReadModel.opportunity(who, id)`: one opportunity, exactly as the visible list has it,
or None, whether it is hidden from the user or does not exist."""

from __future__ import annotations

from pathlib import Path

from cqrs_cli.app.read_model import open_read_model
from tests.demo_file import synced_copy


def test_one_opportunity_is_the_listed_one_or_none(tmp_path: Path) -> None:
    db = synced_copy(tmp_path)
    with open_read_model(db) as model:
        users = [p.id for p in model.profiles().items]
        every = {i.id for i in model.opportunities(2).items}
        assert len(every) == 23
        for user in users:
            listed = {i.id: i for i in model.opportunities(user).items}
            for oid in [*sorted(every), 0, -1, 999_999]:
                assert model.opportunity(user, oid) == listed.get(oid), (user, oid)
            assert model.opportunity(user, next(iter(every - set(listed)), 0)) is None
