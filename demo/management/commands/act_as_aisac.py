"""Call Vetrina's inbound Aisac endpoints the way Aisac's WhatsApp flows do.

Examples:
    python manage.py act_as_aisac get 393471234501
    python manage.py act_as_aisac update 393471234501 email=giulia@example.com consent_whatsapp=false
    python manage.py act_as_aisac get 393471234501 --base-url https://vetrina.example.com
"""

from __future__ import annotations

import json
import os

from django.core.management.base import BaseCommand, CommandError

from core.errors import ProviderError
from core.provider_settings import provider_setting
from demo.inbound_client import AisacInboundClient


def _value(text: str):
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return text


class Command(BaseCommand):
    help = "Act as Aisac: read a customer (getObject) or push flow variables (updateObject)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["get", "update"])
        parser.add_argument("user_key", help="the customer's phone, e.g. 393471234501")
        parser.add_argument("variables", nargs="*", help="name=value pairs for update")
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:{}".format(os.environ.get("VETRINA_PORT", "8000")),
            help="where Vetrina answers (default: the embedded default's web server)",
        )

    def handle(
        self, *args, action: str, user_key: str, variables: list[str], base_url: str, **options
    ):
        inbound_key = provider_setting("aisac", "INBOUND_KEY", default="")
        if not inbound_key:
            raise CommandError(
                "AISAC_INBOUND_KEY is not set: Vetrina's inbound endpoints are closed."
            )
        client = AisacInboundClient(base_url=base_url, inbound_key=inbound_key)
        try:
            if action == "get":
                answer = client.get_object(user_key)
            else:
                pairs = dict(item.split("=", 1) for item in variables if "=" in item)
                if not pairs:
                    raise CommandError("Give at least one name=value to update.")
                answer = client.update_object(user_key, {k: _value(v) for k, v in pairs.items()})
        except ProviderError as exc:
            raise CommandError(f"Vetrina answered: {exc}") from exc
        self.stdout.write(json.dumps(answer, indent=2, ensure_ascii=False))
