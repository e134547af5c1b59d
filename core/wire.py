"""Tolerant readers of answer values, shared by the provider clients.

A real provider sends a number as text, an id as a number, a date in an ISO variant of its
documented format: each reader accepts the forms listed in its docstring and raises `Unreadable`
(naming the field) for anything else, which the client turns into a ContractDrift. `wording`
turns an error's texts into words a client can match (core.vendor_client classifies the codes
it does not know by them)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from core.shapes import type_name

# DATE_FORMAT's shape exactly, which datetime.fromisoformat reads alike, 40 times faster than
# strptime (a pull reads one date per card).
WIRE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4}")
# The ISO 8601 variants also accepted (see parse_date): a space or T, seconds optional,
# fractions, an offset with or without its colon, or Z, or none.
_ISO_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?", re.ASCII
)
_INTEGER = re.compile(r"[+-]?\d+(\.0*)?", re.ASCII)
# AMM is Italian: a date given without an offset is read as Italian time.
ROME = ZoneInfo("Europe/Rome")


# --- reading values ---------------------------------------------------------------------------
class Unreadable(ValueError):
    """A value of an answer that cannot be read: `fields` names where it is. Raised by the
    readers below; the client turns it into a ContractDrift naming those fields."""

    def __init__(self, *fields: str) -> None:
        self.fields = fields
        super().__init__(", ".join(fields))


REQUIRED: Any = object()


def _missing(value: Any, name: str, default: Any) -> Any:
    if default is REQUIRED:
        raise Unreadable(f"{name}: missing")
    return default


def read_int(value: Any, name: str, default: Any = REQUIRED) -> Any:
    """A whole number as a JSON number (21, 21.0) or as text ("21", " 21 ", "21.0")."""
    if value is None or value == "":
        return _missing(value, name, default)
    if type(value) is int:
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(Decimal(value.strip()))
    raise Unreadable(f"{name}: {type_name(value)}, expected a whole number")


def read_decimal(value: Any, name: str, default: Any = REQUIRED) -> Any:
    """An amount as a JSON number (11.12) or as text ("11.12", or "11,12" the Italian way)."""
    if value is None or value == "":
        return _missing(value, name, default)
    if isinstance(value, bool):
        raise Unreadable(f"{name}: bool, expected a number")
    if isinstance(value, int | float):
        number = Decimal(str(value))
    elif isinstance(value, str):
        text = value.strip()
        if "," in text and "." not in text:
            text = text.replace(",", ".")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise Unreadable(f"{name}: text, expected a number") from None
    else:
        raise Unreadable(f"{name}: {type_name(value)}, expected a number")
    if not number.is_finite():
        raise Unreadable(f"{name}: expected a finite number")
    return number


def id_text(value: Any) -> str | None:
    """An identifier as text: a whole number (2668, 2668.0) or non-blank text (" 2668 ",
    "shop-abc"), stripped; None for anything else (null, blank text, true, 1.5, a list). Each
    client says in its own terms what an id it cannot read is."""
    if isinstance(value, str):
        return value.strip() or None
    if type(value) is int:
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return None


def read_id(value: Any, name: str, default: Any = REQUIRED) -> Any:
    """An identifier as a JSON number (2668) or text ("2668", "F582323963717")."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return _missing(value, name, default)
    text = id_text(value)
    if text is None:
        raise Unreadable(f"{name}: {type_name(value)}, expected number or text")
    return text


def read_object(value: Any, name: str) -> dict[str, Any]:
    """A JSON object (a dict), or Unreadable naming what came instead."""
    if not isinstance(value, dict):
        raise Unreadable(f"{name}: {type_name(value)}, expected object")
    return value


def read_text(value: Any, name: str, default: Any = "") -> Any:
    """Text; a number is taken as its digits (a phone number sent as a number)."""
    if value is None:
        return _missing(value, name, default)
    if isinstance(value, str):
        return value
    if type(value) is int:
        return str(value)
    raise Unreadable(f"{name}: {type_name(value)}, expected text")


def read_flag(value: Any, name: str, default: Any = REQUIRED) -> Any:
    """true/false as JSON booleans, or as text ("true", "false") or 1/0."""
    if value is None or value == "":
        return _missing(value, name, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, int | str) and str(value).strip().lower() in ("true", "1", "false", "0"):
        return str(value).strip().lower() in ("true", "1")
    raise Unreadable(f"{name}: {type_name(value)}, expected true or false")


def read_date(value: Any, name: str) -> datetime | None:
    """A date, None when absent. See parse_date for what is accepted."""
    if value is None or value == "":
        return None
    try:
        return parse_date(value)
    except (TypeError, ValueError, OverflowError):
        raise Unreadable(f"{name}: {type_name(value)}, expected a date") from None


def parse_date(value: str | float | None) -> datetime | None:
    """The document's `yyyy-MM-dd'T'HH:mm:ssZ` ("2019-11-22T16:11:23+0100"); also its ISO 8601
    variants ("+01:00", "Z", fractions of a second, a space for the T), read as Italian time
    when they carry no offset; and a number, as the milliseconds (or, below 10^11, seconds)
    since 1970 a Java service sends when its dates are not formatted. ValueError otherwise."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        if WIRE_DATE.fullmatch(value):
            return datetime.fromisoformat(value)
        text = value.strip()
        if not _ISO_DATE.fullmatch(text):
            raise ValueError(f"Not a date in the documented format: {value!r}")
        parsed = datetime.fromisoformat(text)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=ROME)
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if abs(value) >= 10**11 else value
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    raise TypeError(f"Not a date: {type(value).__name__}")


def wording(*texts: str) -> str:
    """Error texts as words to match: lower case, `_`, `-`, `.` and `:` as spaces."""
    return " ".join(re.sub(r"[_\-.:]+", " ", text).lower() for text in texts if text)
