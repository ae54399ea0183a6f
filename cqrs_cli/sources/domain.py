"""A small evaluator of Odoo domains, so snapshot sources filter like Odoo does.

Covers what the sync sends: prefix `&`, `|`, `!` and leaf operators `=`, `!=`, `<`, `<=`,
`>`, `>=`, `in`, `not in` on plain fields. A many2one value `[id, "name"]` compares by id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cqrs_cli.sources.base import Domain, Raw

Predicate = Callable[[Raw], bool]


def _value(record: Raw, field: str) -> Any:
    value = record.get(field, False)
    if (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], int)
        and (isinstance(value[1], str))
    ):
        return value[0]
    return value


def _compare(op: str, left: Any, right: Any) -> bool:
    try:
        return _compare_values(op, left, right)
    except TypeError:
        return False  # an odd value (text where a number is expected) matches nothing


def _compare_values(op: str, left: Any, right: Any) -> bool:
    if op in ("=", "=="):
        return bool(left == right)
    if op in ("!=", "<>"):
        return bool(left != right)
    if op == "in":
        return _member(left, right)
    if op == "not in":
        return not _member(left, right)
    if left is False or left is None:
        return False  # Odoo: an empty value never satisfies an ordering comparison
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    if op == ">=":
        return bool(left >= right)
    raise ValueError(f"unsupported domain operator {op!r}")


def _member(left: Any, right: Any) -> bool:
    if type(left) is bool:  # `True in [1]` holds in Python; in Odoo a boolean is no id
        return any(r is left for r in right)
    return left in right


def _leaf(term: Any) -> Predicate:
    field, op, right = term
    if isinstance(right, tuple):
        right = list(right)
    return lambda r: _compare(op, _value(r, field), right)


def _and(a: Predicate, b: Predicate) -> Predicate:
    return lambda r: a(r) and b(r)


def _or(a: Predicate, b: Predicate) -> Predicate:
    return lambda r: a(r) or b(r)


def _not(a: Predicate) -> Predicate:
    return lambda r: not a(r)


def compile_domain(domain: Domain) -> Predicate:
    """A predicate for `domain` (implicit `&` between top-level terms, like Odoo)."""
    stack: list[Predicate] = []
    for term in reversed(domain):
        if term == "&":
            a = stack.pop()
            stack.append(_and(a, stack.pop()))
        elif term == "|":
            a = stack.pop()
            stack.append(_or(a, stack.pop()))
        elif term == "!":
            stack.append(_not(stack.pop()))
        else:
            stack.append(_leaf(term))
    preds = list(reversed(stack))
    return lambda r: all(p(r) for p in preds)
