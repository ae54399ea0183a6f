"""Who a question is about, and the user it names."""

from __future__ import annotations

from dataclasses import dataclass

# Who a question is about: what `--as` takes (an Odoo id, a login or a name, by the
# rules of docs/access.md, "Naming the user"), or an Odoo user id as a number.
Who = str | int


@dataclass(frozen=True, slots=True)
class UserRef:
    """A synced user, as the answers name the one they are about."""

    id: int
    login: str
    name: str | None
