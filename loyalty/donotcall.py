"""Import of the do-not-call list (opposition-register style): a CSV of numbers with dates."""

from __future__ import annotations

import csv
import io
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loyalty.models import DoNotCall
from loyalty.msisdn import msisdn_normalise

DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")
MAX_BYTES = 20 * 1024 * 1024


class DoNotCallImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "One number per row, optionally followed by the registration date (2026-01-31 or "
            "31/01/2026); comma or semicolon separated; a header row is allowed."
        ),
    )


@dataclass
class ImportResult:
    imported: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)


def do_not_call_import(*, file) -> ImportResult:
    """Add (or refresh) every valid number; list each refused row with its line and reason."""
    result = ImportResult()
    if file.size > MAX_BYTES:
        result.errors.append((0, _("The file is larger than 20 MB.")))
        return result
    try:
        text = file.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        result.errors.append((0, _("The file is not UTF-8 text (CSV).")))
        return result
    dialect: type[csv.Dialect] | csv.Dialect = csv.excel
    with suppress(csv.Error):  # a single column has no delimiter to find
        dialect = csv.Sniffer().sniff(text[:2048], delimiters=",;\t")
    rows: dict[str, date | None] = {}
    for line, row in enumerate(csv.reader(io.StringIO(text), dialect), start=1):
        cells = [cell.strip() for cell in row]
        if not cells or not any(cells):
            continue
        if line == 1 and not any(ch.isdigit() for ch in cells[0]):
            continue  # header
        try:
            number = msisdn_normalise(cells[0]).as_e164.lstrip("+")
        except ValidationError:
            result.errors.append(
                (line, _("“%(value)s” is not a valid phone number.") % {"value": cells[0]})
            )
            continue
        registered = None
        if len(cells) > 1 and cells[1]:
            registered = _parse_date(cells[1])
            if registered is None:
                result.errors.append((line, _("“%(value)s” is not a date.") % {"value": cells[1]}))
                continue
        rows[number] = registered
    with transaction.atomic():
        DoNotCall.objects.bulk_create(
            [DoNotCall(msisdn=n, registered_on=d) for n, d in rows.items()],
            update_conflicts=True,
            unique_fields=["msisdn"],
            update_fields=["registered_on", "imported_at"],
            batch_size=1000,
        )
    result.imported = len(rows)
    return result


def _parse_date(value: str) -> date | None:
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(value, pattern).date()  # noqa: DTZ007 (a calendar date)
        except ValueError:
            continue
    return None
