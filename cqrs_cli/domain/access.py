"""The sales access a user gets from their groups, strongest first (docs/access.md).

Kept apart from the org-chart rules (`hierarchy.py`, which says who has which) so that a
query, which only compares them, loads nothing else.
"""

from __future__ import annotations

ADMINISTRATOR = "administrator"
ALL_DOCUMENTS = "all_documents"
OWN_DOCUMENTS = "own_documents"
NO_ACCESS = "none"
