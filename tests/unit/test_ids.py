"""Registry ids (app.ids): one integer names a county's row, and says which county it is in."""
from __future__ import annotations

import pytest

from app import ids
from app.ids import RowKey


def test_an_id_is_the_county_code_then_the_number_in_the_county():
    assert ids.public_id("210681", 5) == 2106810000000005
    assert ids.key_of(2106810000000005) == RowKey("210681", 5)
    assert ids.parse("2106810000000005") == RowKey("210681", 5)
    assert RowKey("210681", 5).public == 2106810000000005 and str(RowKey("210681", 5)) == "2106810000000005"
    assert ids.number_of(2106810000000005) == 5


def test_every_id_a_county_can_reach_is_exact_in_a_javascript_number():
    assert ids.MAX_ID < 2**53
    assert ids.key_of(ids.public_id("820000", ids.MAX_NUMBER)) == RowKey("820000", ids.MAX_NUMBER)


@pytest.mark.parametrize("value", [0, 5, 2106810000000000, 2106812147483648, 9106810000000001, 10**16, -1])
def test_a_number_that_names_no_countys_row_is_no_id(value):
    assert ids.key_of(value) is None
    with pytest.raises(ValueError, match="not a registry id"):
        ids.row_key(value)


@pytest.mark.parametrize("text", ["", "5", "02106810000000005", "210681000000000５", "2106810000000005\n",
                                  "-2106810000000005", "2106810000000000"])
def test_text_that_is_not_sixteen_ascii_digits_of_a_row_is_no_id(text):
    assert ids.parse(text) is None


def test_a_body_field_takes_a_json_integer_id_and_nothing_else():
    import marshmallow as ma

    class Body(ma.Schema):
        person = ids.RowId()

    assert Body().load({"person": 2106810000000005}) == {"person": RowKey("210681", 5)}
    for bad in ("2106810000000005", 2106810000000005.0, True, 5, None):
        with pytest.raises(ma.ValidationError):
            Body().load({"person": bad})
    assert Body().dump({"person": RowKey("210681", 5)}) == {"person": 2106810000000005}
