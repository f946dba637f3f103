"""Registry ids: a county's row is named by its county and its number within the county.

A person, document, transfer, payment, listing, bid, dispute, settlement or management right is stored under
``(county_code, id)``, ``id`` being its number within the county's tables (the number its county's ledger has
always written). The API names it by one integer that says both, ``county_code × 10¹⁰ + id``:
transfer 5 of Donggang (210681) is ``2106810000000005``. A request for it therefore names its county, and a
distributed deployment finds the one shard group that holds it without asking every node (docs/scaling.md).

The largest such id (county codes run to 82xxxx, numbers to 2³¹ − 1) stays below 2⁵³, so JavaScript's numbers
hold it exactly.
"""
from __future__ import annotations

import re
from typing import Any, NamedTuple

import marshmallow as ma
from werkzeug.routing import BaseConverter

from app import db

#: A county's numbers run below this; the county code is the id's leading six digits.
COUNTY_FACTOR = 10**10
#: The largest number within a county (the column is a 32-bit integer on every engine).
MAX_NUMBER = db.MAX_ID
#: A registry id: sixteen digits, the first six a county code (GB/T 2260 codes begin with 1–8).
PATTERN = r"[1-8][0-9]{15}"
_PATTERN = re.compile(PATTERN)
#: The smallest and largest registry ids.
MIN_ID = 10**15 + 1
MAX_ID = 899999 * COUNTY_FACTOR + MAX_NUMBER


class RowKey(NamedTuple):
    """A county row's primary key, in its columns' order."""

    county_code: str
    id: int

    @property
    def public(self) -> int:
        return public_id(self.county_code, self.id)

    def __str__(self) -> str:  # messages and details name the id the caller used
        return str(self.public)


def public_id(county_code: str, number: int) -> int:
    """The API's id of row ``number`` of county ``county_code``."""
    return int(county_code) * COUNTY_FACTOR + number


def of(row: Any) -> int:
    """The API's id of a row that has ``county_code`` and ``id``."""
    return public_id(row.county_code, row.id)


def optional(county_code: str, number: int | None) -> int | None:
    """:func:`public_id`, or ``None`` for a missing reference."""
    return None if number is None else public_id(county_code, number)


def number_of(value: int) -> int:
    """The number within its county of a registry id the registry made (a view's ``id``)."""
    return value % COUNTY_FACTOR


def key_of(value: int) -> RowKey | None:
    """The row a registry id names, or ``None`` when ``value`` is not one."""
    if not MIN_ID <= value <= MAX_ID:
        return None
    county, number = divmod(value, COUNTY_FACTOR)
    if not 1 <= number <= MAX_NUMBER:
        return None
    return RowKey(str(county), number)


def row_key(value: int) -> RowKey:
    """The row a registry id the registry made (a view's ``id``) names.

    Raises:
        ValueError: ``value`` is not a registry id.
    """
    key = key_of(value)
    if key is None:
        raise ValueError(f"{value} is not a registry id")
    return key


def parse(text: str) -> RowKey | None:
    """The row a registry id written as text names (ASCII digits only), or ``None``."""
    if not (text.isascii() and _PATTERN.fullmatch(text)):
        return None
    return key_of(int(text))


class RowKeyConverter(BaseConverter):
    """``<row:…>`` in a route: a registry id in the path, passed to the view as its :class:`RowKey`.

    Anything that is not one (too short, too long, a number beyond the county's range) is a 404, as an
    unknown object is.
    """

    regex = PATTERN
    part_isolating = True

    def to_python(self, value: str) -> RowKey:
        from werkzeug.routing import ValidationError
        key = parse(value)
        if key is None:
            raise ValidationError()
        return key

    def to_url(self, value: RowKey | int) -> str:
        return str(value.public if isinstance(value, RowKey) else value)


def converter_schema(_converter: RowKeyConverter) -> dict:
    """The OpenAPI schema of a ``<row:…>`` path parameter."""
    return {"type": "integer", "format": "int64", "minimum": MIN_ID, "maximum": MAX_ID,
            "description": "a registry id: county code × 10¹⁰ + the row's number in its county"}


class RowId(ma.fields.Field[RowKey]):
    """A registry id in a request body, loaded as its :class:`RowKey`: a JSON integer, never a string."""

    default_error_messages = {"invalid": "not a registry id (county code × 10¹⁰ + a number)"}

    def __init__(self, **kwargs):
        metadata = kwargs.setdefault("metadata", {})
        metadata.update({"type": "integer", "format": "int64", "minimum": MIN_ID, "maximum": MAX_ID})
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> RowKey:
        key = key_of(value) if isinstance(value, int) and not isinstance(value, bool) else None
        if key is None:
            raise self.make_error("invalid")
        return key

    def _serialize(self, value, attr, obj, **kwargs) -> int | None:
        return value.public if isinstance(value, RowKey) else value
