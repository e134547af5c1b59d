"""Mobile numbers as Vetrina keeps them: valid, mobile, E.164 (Italian unless said otherwise).

Below the models (a card search reads numbers): imports nothing of the app."""

from __future__ import annotations

import re
from contextlib import suppress

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from phonenumber_field.phonenumber import PhoneNumber

MSISDN_CHARACTERS = re.compile(r"\+?[0-9 ()./-]+")


def msisdn_normalise(raw: str) -> PhoneNumber:
    """A valid mobile number in E.164, Italian by default, or a ValidationError saying why.

    Only digits and the usual separators are read: the parser would turn letters into digits
    (347 123 ABCD → 347 123 2223, somebody else's number) and skip anything else."""
    text, number = str(raw).strip(), None
    if MSISDN_CHARACTERS.fullmatch(text):
        with suppress(phonenumbers.NumberParseException):
            number = PhoneNumber.from_string(text, region="IT")
    if number is None or not number.is_valid():
        raise ValidationError(
            {"msisdn": _("“%(number)s” is not a valid phone number.") % {"number": raw}}
        )
    kind = phonenumbers.number_type(number)
    if kind not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise ValidationError(
            {
                "msisdn": _("“%(number)s” is not a mobile number: cards need a mobile.")
                % {"number": raw}
            }
        )
    return number
