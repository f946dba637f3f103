"""RFC 8785 JSON Canonicalization Scheme, fast enough for bulk loads.

The ``rfc8785`` package is the reference and what the tests compare against,
but it escapes strings a character at a time in Python, which was a quarter
of a 200,000-parcel import. Here a value is written by orjson with sorted keys,
whose output is JCS's for everything but numbers: its string escapes are JCS's
(``\\"``, ``\\\\``, ``\\b \\f \\n \\r \\t`` and ``\\u00xx`` in lower case for the other
control characters; everything else as itself), and it sorts keys by code
point, which is JCS's UTF-16 order for every key without characters from
U+E000 up. One pass over the value in Python replaces each float with its
ECMAScript form (``Number.prototype.toString``) as a pre-written fragment; a
value with a key orjson would order differently, or with a type other than
the plain JSON ones, is written by the general writer below, which does the
same a node at a time (escaping by the json module's C escaper).
"""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson

_escape = json.encoder.encode_basestring  # the C implementation where available
#: JCS numbers are IEEE doubles: integers beyond ±(2⁵³ − 1) would not survive a round trip.
MAX_SAFE_INTEGER = 2**53 - 1


#: Keys sort by code point in orjson and by UTF-16 code unit in JCS: the orders differ only where a key holds
#: a character from here up (a surrogate pair, for U+10000 and above, sorts below U+E000–U+FFFF).
_ORDERS_DIFFER = "\ue000"
_LEAVES = frozenset({str, int, bool, type(None)})
#: Integers beyond 53 bits are refused, as are NaN and infinity (by :func:`number`).
_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER


class _General(Exception):
    """The value needs the general writer."""


def dumps(value: Any) -> bytes:
    """Serialise ``value`` as RFC 8785 canonical JSON (UTF-8).

    Raises:
        ValueError: NaN or infinity, an integer beyond ±(2⁵³ − 1), a non-string key,
            or a type JSON does not have.
    """
    try:
        prepared = _numbers_written(value)
    except _General:
        out: list[str] = []
        _dump(value, out)
        return "".join(out).encode("utf-8")
    try:
        return orjson.dumps(prepared, option=_OPTIONS)
    except orjson.JSONEncodeError as e:  # an integer beyond 53 bits, a string that is not Unicode text
        raise ValueError(str(e)) from e


def _numbers_written(value: Any) -> Any:
    """``value`` with every float as an orjson fragment of its JCS form (``value`` itself when it has none).

    Raises:
        _General: a key JCS orders otherwise than orjson, a non-string key or a type other than
            dict, list, tuple, str, int, float, bool and None.
    """
    kind = type(value)
    if kind is dict or kind is list or kind is tuple:
        is_dict = kind is dict
        changed: Any = None  # the copy that holds the written floats, made at the first one
        for key, item in value.items() if is_dict else enumerate(value):
            if is_dict and (type(key) is not str or (not key.isascii() and max(key) >= _ORDERS_DIFFER)):
                raise _General
            if type(item) in _LEAVES:
                continue
            written = _numbers_written(item)
            if written is not item:
                if changed is None:
                    changed = dict(value) if is_dict else list(value)
                changed[key] = written
        return value if changed is None else changed
    if kind is float:
        return orjson.Fragment(number(value))
    if kind in _LEAVES:
        return value
    raise _General


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
