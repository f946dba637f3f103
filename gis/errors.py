"""The one error gis/ raises for bad input geometry or CRS."""

from __future__ import annotations

from typing import Any

#: The rule codes that a geometry refusal can carry.
RULES = frozenset(
    {"GEOMETRY_INVALID", "GEOMETRY_TOO_COMPLEX", "CRS_UNSUPPORTED", "OUTSIDE_SUPPORTED_AREA", "PARCEL_IMPLAUSIBLE",
     "PACKAGE_INVALID"}
)


class GeometryInputError(ValueError):
    """Submitted geometry or CRS refused, with all the app needs for a 422.

    Attributes:
        rule: API rule code, one of `RULES`.
        reason: short English key, e.g. ``"self_intersection"``.
        message_en: English sentence for developers and logs.
        message_zh: Chinese sentence for the clerk at the counter.
        location: ``(x, y)`` of the problem in the input CRS, or None.
        details: JSON-serialisable extra facts (limits, bounds, paths).
    """

    def __init__(
        self,
        rule: str,
        reason: str,
        message_en: str,
        message_zh: str,
        location: tuple[float, float] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Build the error.

        Args:
            rule: one of `RULES`.
            reason: short English key.
            message_en: English sentence.
            message_zh: Chinese sentence.
            location: ``(x, y)`` or None.
            details: JSON-serialisable dict, or None for an empty one.

        Raises:
            ValueError: if ``rule`` is not one of `RULES` (a programming error).
        """
        if rule not in RULES:
            raise ValueError(f"unknown rule {rule!r}")
        super().__init__(message_en)
        self.rule = rule
        self.reason = reason
        self.message_en = message_en
        self.message_zh = message_zh
        self.location = None if location is None else (float(location[0]), float(location[1]))
        self.details = {} if details is None else details


class PackageError(GeometryInputError):
    """An NY/T 2539 package or parcel layer that cannot be read as one.

    Always carries rule ``PACKAGE_INVALID``. ``reason`` says what is wrong,
    e.g. ``"zip_traversal"``, ``"zip_bomb"``, ``"no_dk_layer"``,
    ``"missing_tables"``, ``"missing_columns"``, ``"no_features"``,
    ``"wrong_field_type"``, ``"not_polygons"``, ``"bad_encoding"`` or
    ``"unreadable"`` (gis/io.py lists them all); ``details`` names the file,
    table, field or row concerned.
    """

    def __init__(
        self,
        reason: str,
        message_en: str,
        message_zh: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Build the error.

        Args:
            reason: short English key.
            message_en: English sentence.
            message_zh: Chinese sentence for the clerk.
            details: JSON-serialisable dict, or None for an empty one.
        """
        super().__init__("PACKAGE_INVALID", reason, message_en, message_zh, details=details)
