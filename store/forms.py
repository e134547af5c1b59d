from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from loyalty.models import CARD_CODE_VALIDATOR, FidelityProgram, Reward


class LookupForm(forms.Form):
    q = forms.CharField(
        label=_("Card code or mobile number"),
        max_length=40,
        widget=forms.TextInput(attrs={"autofocus": True, "inputmode": "search"}),
    )


class EnrolForm(forms.Form):
    program = forms.ModelChoiceField(
        label=_("Program"), queryset=FidelityProgram.objects.order_by("name"), empty_label=None
    )
    msisdn = forms.CharField(
        label=_("Mobile number"), max_length=20, widget=forms.TextInput(attrs={"inputmode": "tel"})
    )
    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    surname = forms.CharField(label=_("Surname"), max_length=100, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    code = forms.CharField(
        label=_("Card code"),
        max_length=30,
        required=False,
        validators=[CARD_CODE_VALIDATOR],
        help_text=_("Leave empty and AMM generates one."),
    )
    starting_amount = forms.DecimalField(
        label=_("First receipt amount (€)"),
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}),
    )
    send_sms = forms.BooleanField(label=_("Send the welcome SMS"), required=False)
    consent_push_sms = forms.BooleanField(
        label=_("The customer agrees to receive offers by push and SMS"), required=False
    )
    consent_whatsapp = forms.BooleanField(
        label=_("The customer agrees to be contacted on WhatsApp"), required=False
    )
    consent_calls = forms.BooleanField(
        label=_("The customer agrees to phone calls"), required=False
    )


class LoadPointsForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Receipt amount (€)"),
        min_value=0.01,
        max_digits=12,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}),
    )
    note = forms.CharField(label=_("Note"), max_length=255, required=False)


class RewardForm(forms.Form):
    """A reward of the card's program, picked by name from the catalogue marketing keeps
    (loyalty.Reward); AMM is sent its rewardId."""

    reward = forms.ModelChoiceField(
        label=_("Reward"), queryset=Reward.objects.none(), empty_label=_("Choose a reward")
    )
    note = forms.CharField(label=_("Note"), max_length=255, required=False)

    def __init__(self, *args, program: FidelityProgram, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reward"].queryset = Reward.objects.filter(program=program, active=True)

    @property
    def has_rewards(self) -> bool:
        return self.fields["reward"].queryset.exists()


class ResetForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("Yes, reset this card's points to zero"),
        error_messages={"required": _("Tick the box to confirm the reset.")},
    )
    note = forms.CharField(label=_("Note"), max_length=255, required=False)


class FlyerRequestForm(forms.Form):
    promo_name = forms.CharField(label=_("Promo name"), max_length=255)
    date_send = forms.DateTimeField(
        label=_("Send date"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("When the WhatsApp flyer goes out."),
    )
    image = forms.FileField(
        label=_("Image"),
        help_text=_("JPEG, PNG or WebP."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    flyer_link = forms.URLField(label=_("Flyer link"), max_length=500, assume_scheme="https")
    note = forms.CharField(
        label=_("Note for marketing"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
