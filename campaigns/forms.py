"""Admin forms of the campaigns app that are more than a ModelForm."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, CampaignBatch, CampaignKind, Media, Shop


class CampaignBatchForm(forms.ModelForm):
    """The same campaign for many shops: campaign fields plus the shops to send it to."""

    shops = forms.ModelMultipleChoiceField(
        label=capfirst(_("shops")),
        queryset=Shop.objects.filter(active=True).order_by("code"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Active shops only. All are ticked unless you came from a selection."),
    )
    media = forms.ModelChoiceField(
        label=capfirst(_("image")), queryset=Media.objects.all(), required=False
    )
    image_url = forms.URLField(label=capfirst(_("image URL")), required=False, max_length=500)
    link = forms.URLField(label=capfirst(_("link")), required=False, max_length=500)
    flyer_link = forms.URLField(label=capfirst(_("flyer link")), required=False, max_length=500)
    template_name = forms.CharField(
        label=capfirst(_("template name")), required=False, max_length=255
    )

    class Meta:
        model = CampaignBatch
        fields = ("kind", "promo_name", "date_send")

    campaign_fields = ("media", "image_url", "link", "flyer_link", "template_name")

    def clean(self):
        cleaned = super().clean()
        if self.errors or not cleaned.get("shops"):
            return cleaned
        # The rules of one campaign (dates, links, image) checked once for the whole batch.
        sample = Campaign(
            kind=cleaned.get("kind") or CampaignKind.TEMPLATE,
            shop=cleaned["shops"][0],
            date_send=cleaned.get("date_send"),
            promo_name=cleaned.get("promo_name") or "",
            **{
                name: cleaned.get(name) or ("" if name != "media" else None)
                for name in self.campaign_fields
            },
        )
        try:
            sample.full_clean(exclude=["batch", "shop"])
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                self.add_error(name if name in self.fields else None, messages)
        return cleaned
