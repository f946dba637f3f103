"""RFC 8785 JSON Canonicalization Scheme, fast enough for bulk loads.

The ``rfc8785`` package is the reference and what the tests compare against,
but it escapes strings a character at a time in Python, which was a quarter
of a 200,000-parcel import. Here strings go through the json module's C
escaper (its escapes are exactly JCS's: ``\\"``, ``\\\\``, ``\\b \\f \\n \\r \\t``
and ``\\u00xx`` in lower case for the other control characters; everything
else is written as itself), object members are sorted by their UTF-16 code
units, and numbers are written as ECMAScript's ``Number.prototype.toString``
writes them.
"""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

_escape = json.encoder.encode_basestring  # the C implementation where available
#: JCS numbers are IEEE doubles: integers beyond ±(2⁵³ − 1) would not survive a round trip.
MAX_SAFE_INTEGER = 2**53 - 1


def dumps(value: Any) -> bytes:
    """Serialise ``value`` as RFC 8785 canonical JSON (UTF-8).

    Raises:
        ValueError: NaN or infinity, an integer beyond ±(2⁵³ − 1), a non-string key,
            or a type JSON does not have.
    """
    out: list[str] = []
    _dump(value, out)
    return "".join(out).encode("utf-8")


def _dump(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(_escape(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f"integer {value} is beyond what a JSON number keeps exactly")
        out.append(str(value))
    elif isinstance(value, float):
        out.append(number(value))
    elif isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ValueError("object keys must be strings")
        out.append("{")
        for i, key in enumerate(sorted(value, key=_utf16)):
            if i:
                out.append(",")
            out.append(_escape(key))
            out.append(":")
            _dump(value[key], out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _dump(item, out)
        out.append("]")
    else:
        raise ValueError(f"{type(value).__name__} is not a JSON type")


def _utf16(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def number(x: float) -> str:
    """A double as ECMAScript writes it (ECMA-262 Number::toString), which JCS prescribes."""
    if x != x or x in (float("inf"), float("-inf")):
        raise ValueError("NaN and infinity are not JSON numbers")
    if x == 0:
        return "0"
    short = repr(x)  # the shortest digits that round-trip, as ECMAScript requires
    if "e" not in short:  # 1e-4 ≤ |x| < 1e16: Python and ECMAScript agree but for a trailing ".0"
        return short[:-2] if short.endswith(".0") else short
    sign = "-" if x < 0 else ""
    parts = Decimal(repr(abs(x))).normalize().as_tuple()
    if not isinstance(parts.exponent, int):  # 'n', 'N' or 'F': NaN and infinity, refused above
        raise ValueError("NaN and infinity are not JSON numbers")
    digits = "".join(map(str, parts.digits))
    k, n = len(digits), parts.exponent + len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    exponent = f"e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
    return sign + (digits if k == 1 else digits[0] + "." + digits[1:]) + exponent
