"""Resident ID numbers (GB 11643) and registry codes (NY/T 2539), without a database."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gis.codes import (
    CodeError,
    id_check_char,
    mask_id_number,
    parse_collective_code,
    parse_household_code,
    parse_id_number,
    parse_parcel_code,
)


def test_gb11643_test_vector():
    parsed = parse_id_number("11010519491231002X")
    assert parsed.birth_date == dt.date(1949, 12, 31) and parsed.sex == "female" and parsed.area == "110105"
    assert id_check_char("11010519491231002") == "X"


def test_lowercase_x_accepted():
    assert parse_id_number("11010519491231002x").value == "11010519491231002X"


@pytest.mark.parametrize("value,reason", [
    ("11010519491231002", "format"),
    ("110105194912310021", "check_digit"),
    ("110105194902310020", "birth_date"),  # 31 February
    ("99010519491231002X", "area"),
    ("1101051949123100AX", "format"),
])
def test_bad_id_numbers_named_by_reason(value, reason):
    with pytest.raises(CodeError) as e:
        parse_id_number(value)
    assert e.value.reason == reason


def test_future_birth_date_refused():
    first = "210681" + (dt.date.today() + dt.timedelta(days=30)).strftime("%Y%m%d") + "001"
    with pytest.raises(CodeError) as e:
        parse_id_number(first + id_check_char(first))
    assert e.value.reason == "birth_date"


def test_sex_digit_must_agree():
    assert parse_id_number("11010519491231002X", sex="female").sex == "female"
    with pytest.raises(CodeError) as e:
        parse_id_number("11010519491231002X", sex="male")
    assert e.value.reason == "sex"


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2020, 12, 31)), st.integers(1, 999))
def test_any_generated_number_round_trips(birth, seq):
    first = f"210681{birth:%Y%m%d}{seq:03d}"
    parsed = parse_id_number(first + id_check_char(first))
    assert parsed.birth_date == birth and parsed.sex == ("male" if seq % 2 else "female")


def test_masking_keeps_area_and_last_four():
    assert mask_id_number("210681197001011234") == "210681********1234"


def test_collective_code_parts_and_level():
    c = parse_collective_code("21068110100101")
    assert (c.county, c.township, c.village, c.level) == ("210681", "210681101", "210681101001", "group")
    assert parse_collective_code("21068110100100").level == "village"


@pytest.mark.parametrize("code,reason", [
    ("2106811010010", "format"), ("210681101001011", "format"), ("2106811010010a", "format"),
    ("21068100000101", "township"), ("21068110100001", "village"), ("99068110100101", "area"),
    ("21000010100101", "area"),
])
def test_bad_collective_codes(code, reason):
    with pytest.raises(CodeError) as e:
        parse_collective_code(code)
    assert e.value.reason == reason


def test_household_and_parcel_codes_carry_their_issuer():
    issuer, serial = parse_household_code("210681101001010042")
    assert issuer.value == "21068110100101" and serial == 42
    issuer, serial = parse_parcel_code("2106811010010100042")
    assert issuer.value == "21068110100101" and serial == 42
    for bad in ("21068110100101000", "210681101001010000", "2106811010010100000"):
        with pytest.raises(CodeError):
            parse_household_code(bad) if len(bad) == 18 else parse_parcel_code(bad)


def test_credit_codes_carry_the_gb_32100_check_character():
    from gis.codes import credit_code_check_char, parse_credit_code

    assert parse_credit_code("91350100M000100Y43") == "91350100M000100Y43"  # the standard's own example
    assert credit_code_check_char("91110000600037341") == "L"
    for bad, reason in (("91350100M000100Y44", "check_digit"), ("91350100M000100Y4", "format"),
                        ("91350100M000100I43", "format")):
        with pytest.raises(CodeError) as caught:
            parse_credit_code(bad)
        assert caught.value.reason == reason
