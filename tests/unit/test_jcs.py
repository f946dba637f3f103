"""The fast canonical JSON writer is byte for byte the reference RFC 8785 implementation."""
from __future__ import annotations

import math

import orjson
import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from app.ledger import jcs

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
numbers = st.floats(allow_nan=False, allow_infinity=False) | st.integers(-jcs.MAX_SAFE_INTEGER,
                                                                            jcs.MAX_SAFE_INTEGER)
values = st.recursive(st.none() | st.booleans() | numbers | text,
                      lambda inner: st.lists(inner, max_size=5) | st.dictionaries(text, inner, max_size=5),
                      max_leaves=30)


@settings(max_examples=2000, deadline=None)
@given(values)
def test_matches_the_reference_on_any_json(value):
    assert jcs.dumps(value) == rfc8785.dumps(value)


@pytest.mark.parametrize("x, expected", [
    (1.0, "1"), (0.1, "0.1"), (1e16, "10000000000000000"), (1e21, "1e+21"), (1e-7, "1e-7"),
    (2.5e-5, "0.000025"), (-0.0, "0"), (123e18, "123000000000000000000"), (5e-324, "5e-324"),
    (1.7976931348623157e308, "1.7976931348623157e+308"), (-1234.5, "-1234.5"), (1e-6, "0.000001"),
])
def test_numbers_as_ecmascript_writes_them(x, expected):
    assert jcs.number(x) == expected == rfc8785.dumps(x).decode()


def test_keys_sort_by_utf16_code_units_and_controls_escape():
    value = {"\U0001f600": 1, "\uff61": 2, "b": "\x00\x1f\"\\\n", "a": [True, None]}
    assert jcs.dumps(value) == rfc8785.dumps(value)
    assert jcs.dumps(value).startswith(b'{"a":[true,null],"b":"\\u0000\\u001f\\"\\\\\\n"')


@pytest.mark.parametrize("bad", [math.nan, math.inf, 2**53, {1: "x"}, {"a": object()}, b"bytes"])
def test_refuses_what_json_cannot_say_exactly(bad):
    with pytest.raises(ValueError):
        jcs.dumps(bad)


#: Keys the fast writer takes (no character from U+E000 up), so every example below goes through orjson.
fast_keys = st.text(st.characters(exclude_categories=("Cs",), max_codepoint=0xDFFF), max_size=20)
fast_values = st.recursive(st.none() | st.booleans() | numbers | text,
                           lambda inner: st.lists(inner, max_size=5) | st.tuples(inner, inner)
                           | st.dictionaries(fast_keys, inner, max_size=5), max_leaves=30)


@settings(max_examples=2000, deadline=None)
@given(fast_values)
def test_the_fast_writer_alone_matches_the_reference(value):
    written = orjson.dumps(jcs._numbers_written(value), option=jcs._OPTIONS)
    assert written == rfc8785.dumps(value) == jcs.dumps(value)


def test_a_key_the_two_orders_disagree_on_goes_to_the_general_writer():
    value = {"\U0001f600": 1.5, "\uff61": 2}
    with pytest.raises(jcs._General):
        jcs._numbers_written(value)
    assert jcs.dumps(value) == rfc8785.dumps(value) == '{"\U0001f600":1.5,"\uff61":2}'.encode()
