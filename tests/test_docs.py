"""The generated command reference stays complete and current (the sqlite-utils practice)."""

from __future__ import annotations

from cqrs_cli.cli.reference import render, undocumented, without_examples
from tests.conftest import REPO


def test_every_command_and_option_has_help() -> None:
    assert undocumented() == []


def test_every_command_has_examples() -> None:
    assert without_examples() == []


def test_reference_is_current() -> None:
    stored = (REPO / "docs" / "reference.md").read_text()
    assert stored == render(), (
        "docs/reference.md is stale: python -m cqrs_cli.cli.reference > docs/reference.md"
    )
