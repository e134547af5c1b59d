"""Forms of the loyalty admin that check the services' rules before saving."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from loyalty.models import PointMovement
from loyalty.services import movement_check


class PointMovementForm(forms.ModelForm):
    # The points asked for (ADD); the record's own points are worked out by the service.
    points = forms.IntegerField(label=capfirst(_("points")), required=False, min_value=1)

    class Meta:
        model = PointMovement
        fields = ("card", "action", "amount", "reward_id", "note", "send_sms", "shop")

    def clean(self):
        cleaned = super().clean()
        card = cleaned.get("card")
        if card is None or self.instance.pk:
            return cleaned
        try:
            movement_check(
                card=card,
                action=cleaned.get("action"),
                points=cleaned.get("points"),
                amount=cleaned.get("amount"),
                reward_id=cleaned.get("reward_id"),
            )
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                self.add_error(name if name in self.fields else None, messages)
        return cleaned
