"""Small query helpers shared by every domain."""
from __future__ import annotations

from sqlalchemy import and_, true
from sqlalchemy.sql import ColumnElement


def code_prefix(column, prefix: str) -> ColumnElement[bool]:
    """``column`` starts with the digit string ``prefix``, as an index-friendly range.

    Codes are digits only, so ``prefix + ':'`` (':' follows '9' in ASCII) bounds
    the range; a plain LIKE would not use the btree index under every collation.
    """
    if not prefix:
        return true()
    return and_(column >= prefix, column < prefix + ":")


def narrowest(scope: str, within: str | None) -> str | None:
    """The prefix to filter by for a caller with ``scope`` asking for ``within``.

    Returns None when the two are disjoint (the answer is empty).
    """
    within = within or ""
    if within.startswith(scope):
        return within
    if scope.startswith(within):
        return scope
    return None
