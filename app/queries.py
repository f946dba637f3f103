"""Small query helpers shared by every domain."""
from __future__ import annotations

from sqlalchemy import and_, true, tuple_
from sqlalchemy.sql import ColumnElement


def code_prefix(column, prefix: str) -> ColumnElement[bool]:
    """``column`` starts with the digit string ``prefix``, as an index-friendly range.

    Codes are digits only, so ``prefix + ':'`` (':' follows '9' in ASCII) bounds
    the range; a plain LIKE would not use the btree index under every collation.
    """
    if not prefix:
        return true()
    return and_(column >= prefix, column < prefix + ":")


def county_prefix(column, prefix: str) -> ColumnElement[bool]:
    """A county code ``column`` (6 digits) of a county ``prefix`` covers: the county itself (an equality a
    distributed deployment routes to one node) once the prefix names one, the counties it begins otherwise."""
    return column == prefix[:6] if len(prefix) >= 6 else code_prefix(column, prefix)


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


def county_order(model) -> tuple:
    """The order of a county table's rows by their registry ids: county, then number."""
    return model.county_code, model.id


def after_row(model, key) -> ColumnElement[bool]:
    """The rows after ``key`` (an :class:`app.ids.RowKey`, a page's cursor) in :func:`county_order`."""
    return tuple_(model.county_code, model.id) > tuple_(key.county_code, key.id)
