"""Codes of the national standards: resident ID numbers and registry codes.

Pure functions, no Flask, no database. Sources: GB 11643-1999 (citizen
identity number), GB/T 2260 (administrative divisions), NY/T 2539 (issuer,
contractor, parcel and contract codes).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")

#: GB/T 2260 province-level codes (the first two digits of every division code).
PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
    "50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)


class CodeError(ValueError):
    """A code that breaks its standard; ``reason`` says how (English key)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def id_check_char(first17: str) -> str:
    """Return the GB 11643 check character for the first 17 digits.

    Args:
        first17: the 17 leading digits of a resident ID number.
    Returns:
        One of ``0123456789X``.
    """
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


@dataclass(frozen=True)
class IdNumber:
    """A checked 18-digit resident ID number."""

    value: str
    area: str
    birth_date: dt.date
    sex: str  # "male" | "female"


def parse_id_number(value: str, *, sex: str | None = None, today: dt.date | None = None) -> IdNumber:
    """Check a resident ID number (GB 11643) and return its parts.

    Args:
        value: the 18-character number; a lowercase ``x`` is accepted.
        sex: when given (``"male"``/``"female"``), the sequence digit must agree.
        today: the date birth dates may not be after (defaults to today).
    Returns:
        The parsed number with area, birth date and sex.
    Raises:
        CodeError: with reason ``format``, ``area``, ``birth_date``, ``check_digit`` or ``sex``.
    """
    if not isinstance(value, str):
        raise CodeError("format", "ID number must be a string")
    value = value.strip().upper()
    if not _ID_RE.match(value):
        raise CodeError("format", "ID number must be 17 digits and a check digit or X")
    if value[:2] not in PROVINCES:
        raise CodeError("area", f"unknown province code {value[:2]}")
    try:
        birth = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise CodeError("birth_date", f"birth date {value[6:14]} does not exist") from None
    if birth.year < 1880 or birth > (today or dt.date.today()):
        raise CodeError("birth_date", f"birth date {birth.isoformat()} is not plausible")
    if id_check_char(value[:17]) != value[17]:
        raise CodeError("check_digit", "check digit does not match (GB 11643)")
    actual_sex = "male" if int(value[16]) % 2 else "female"
    if sex is not None and sex != actual_sex:
        raise CodeError("sex", f"sequence digit says {actual_sex}, not {sex}")
    return IdNumber(value=value, area=value[:6], birth_date=birth, sex=actual_sex)


#: GB 32100-2015: the 31 characters of a unified social credit code (no I, O, S, V, Z), in their value order.
CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: The weights of its first 17 characters: 3^(i-1) mod 31.
_CREDIT_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))


def credit_code_check_char(first17: str) -> str:
    """Return the GB 32100 check character of a unified social credit code's first 17 characters.

    Raises:
        CodeError: a character the code set does not have.
    """
    try:
        total = sum(CREDIT_CODE_CHARS.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    except ValueError:
        raise CodeError("format", "a credit code is 18 of 0-9 and A-Z without I, O, S, V, Z") from None
    return CREDIT_CODE_CHARS[-total % 31]


def parse_credit_code(value: str) -> str:
    """A unified social credit code (统一社会信用代码, GB 32100-2015), its check character verified.

    Raises:
        CodeError: the wrong length or characters, or a check character that does not match.
    """
    if not isinstance(value, str) or len(value) != 18:
        raise CodeError("format", "a credit code is 18 characters (GB 32100)")
    if credit_code_check_char(value[:17]) != value[17]:
        raise CodeError("check_digit", "check character does not match (GB 32100)")
    return value


def mask_id_number(value: str) -> str:
    """Mask the birth date and sequence: ``210681********1234``."""
    return value[:6] + "*" * 8 + value[-4:]


@dataclass(frozen=True)
class CollectiveCode:
    """A 14-digit issuer code (发包方编码): county 6 + township 3 + village 3 + group 2."""

    value: str

    @property
    def county(self) -> str:
        return self.value[:6]

    @property
    def township(self) -> str:
        return self.value[:9]

    @property
    def village(self) -> str:
        return self.value[:12]

    @property
    def level(self) -> str:
        """``village`` when the group digits are ``00``, else ``group``."""
        return "village" if self.value[12:] == "00" else "group"


def parse_collective_code(value: str) -> CollectiveCode:
    """Check a 14-digit issuer code (NY/T 2539 FBFBM).

    Raises:
        CodeError: with reason ``format``, ``area``, ``township`` or ``village``.
    """
    if not isinstance(value, str) or not re.fullmatch(r"\d{14}", value):
        raise CodeError("format", "issuer code must be 14 digits")
    if value[:2] not in PROVINCES or value[2:6] == "0000" or value[4:6] == "00":
        raise CodeError("area", f"{value[:6]} is not a county-level division code")
    if value[6:9] == "000":
        raise CodeError("township", "township digits may not be 000")
    if value[9:12] == "000":
        raise CodeError("village", "village digits may not be 000")
    return CollectiveCode(value)


def _parse_issued(value: str, digits: int, what: str) -> tuple[CollectiveCode, int]:
    if not isinstance(value, str) or not re.fullmatch(rf"\d{{{digits}}}", value):
        raise CodeError("format", f"{what} code must be {digits} digits")
    serial = int(value[14:])
    if serial == 0:
        raise CodeError("format", f"{what} serial may not be all zeros")
    return parse_collective_code(value[:14]), serial


def parse_household_code(value: str) -> tuple[CollectiveCode, int]:
    """Check an 18-digit contractor code (CBFBM) and return issuer and serial.

    Households are 0001–8000, individuals 8001–9000, organisations 9001–9999.

    Raises:
        CodeError: with reason ``format`` or one of the issuer reasons.
    """
    return _parse_issued(value, 18, "household")


def parse_parcel_code(value: str) -> tuple[CollectiveCode, int]:
    """Check a 19-digit parcel code (DKBM) and return issuer and serial.

    Raises:
        CodeError: with reason ``format`` or one of the issuer reasons.
    """
    return _parse_issued(value, 19, "parcel")

