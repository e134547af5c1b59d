"""Validation of a lead, wherever it comes from (file, API, Vetrina's own data)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from callcenter.models import RECORD_PHONE_FIELDS, RECORD_TEXT_FIELDS, CallRecord
from loyalty.services import msisdn_normalise

RECALL_INPUT_FORMATS = ["%Y%m%d%H%M%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"]


class CallRecordForm(forms.ModelForm):
    recall_date = forms.DateTimeField(required=False, input_formats=RECALL_INPUT_FORMATS)

    class Meta:
        model = CallRecord
        fields = (*RECORD_TEXT_FIELDS, *RECORD_PHONE_FIELDS, "email", "recall_date")

    def clean(self):
        cleaned = super().clean()
        for name in RECORD_PHONE_FIELDS:
            value = cleaned.get(name)
            if not value:
                continue
            try:
                cleaned[name] = msisdn_normalise(value).as_e164.lstrip("+")
            except ValidationError:
                self.add_error(
                    name, _("“%(value)s” is not a valid phone number.") % {"value": value}
                )
        recall = cleaned.get("recall_date")
        if recall and recall <= timezone.now():
            self.add_error("recall_date", _("The recall date must be in the future."))
        return cleaned

    def validate_unique(self):
        """Duplicates (same phone, same campaign) are merged by the service, not refused."""
