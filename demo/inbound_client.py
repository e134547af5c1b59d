"""Calls Vetrina's own inbound Aisac endpoints the way Aisac does: for demos and tests
(`act_as_aisac`); the product never uses it."""

from __future__ import annotations

from typing import Any

from core.http import ProviderClient, Response, Session


class AisacInboundClient(ProviderClient):
    """Vetrina as Aisac sees it: `/integrations/aisac/getObject` and `updateObject`."""

    provider = "vetrina-inbound"

    def __init__(self, *, base_url: str, inbound_key: str, **timeouts: float) -> None:
        self._key = inbound_key
        super().__init__(base_url=base_url, **timeouts)

    def configure_session(self, session: Session) -> None:
        session.headers["Accept"] = "application/json"
        # In a header, as docs/aisac.md asks Aisac to send it: never in a URL, so in no log.
        session.headers["X-Api-Key"] = self._key

    def parse_error(self, response: Response) -> tuple[str, str]:
        body = self._json_or_none(response) or {}
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            return str(error.get("code") or ""), str(error.get("message") or "")
        return "", ""

    def get_object(self, user_key: str) -> dict[str, Any]:
        response = self.request(
            "GET",
            "integrations/aisac/getObject",
            operation="getObject",
            params={"user_key": user_key},
        )
        return self.json(response)

    def update_object(self, user_key: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = self.request(
            "POST",
            "integrations/aisac/updateObject",
            operation="updateObject",
            json_body={"user_key": user_key, "variables": variables},
        )
        return self.json(response)
