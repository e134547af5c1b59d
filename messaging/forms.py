from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from messaging.models import PushSend
from messaging.services import SEND_INPUT_FIELDS, push_send_validate


class ListField(forms.CharField):
    """A list typed as text: one item per line, or separated by commas."""

    widget = forms.Textarea(attrs={"rows": 4})

    def __init__(self, *args, digits: bool = False, **kwargs):
        self.digits = digits
        super().__init__(*args, required=False, **kwargs)

    def prepare_value(self, value):
        return "\n".join(str(v) for v in value) if isinstance(value, list) else value

    def to_python(self, value):
        items = [item.strip() for item in re.split(r"[\n,;]+", value or "") if item.strip()]
        if self.digits and not all(item.isdigit() for item in items):
            raise forms.ValidationError(_("Groups are address-book ids (numbers)."))
        return [int(item) for item in items] if self.digits else items


class PushSendForm(forms.ModelForm):
    recipients = ListField(
        label=capfirst(_("numbers")),
        help_text=_("One mobile number per line (Italian if without prefix)."),
    )
    groups = ListField(
        label=capfirst(_("address-book groups")),
        digits=True,
        help_text=_("SMSHosting group ids, e.g. 1, 2."),
    )

    class Meta:
        model = PushSend
        fields = SEND_INPUT_FIELDS

    def _post_clean(self):
        """The service's rules too, so that they show on the form instead of failing the save."""
        super()._post_clean()
        if self.errors:
            return
        try:
            push_send_validate(
                self.instance,
                shops=self.cleaned_data.get("audience_shops"),
                programs=self.cleaned_data.get("audience_programs"),
            )
        except ValidationError as exc:
            self._update_errors(exc)
