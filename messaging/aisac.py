"""Aisac client (`../shared/api-docs/aisac-requests-whatsapp-shopify.txt`): WhatsApp customer
care requests, flows and charges by user key (the customer's phone), and orders.

The document gives the endpoint names, that the API is REST with JSON bodies and answers, that
`api_key` travels in the query string (`…/getRequest?api_key=…&request_id=…`), and that times
are Italian (CEST/CET). It leaves the bodies out: they are designed here, once, and written down
in docs/aisac.md; the sandbox answers exactly these shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from core import errors
from core.http import ProviderClient, Response, Session, cached_client_factory

AISAC_TZ = ZoneInfo("Europe/Rome")  # "il CEST … UTC+2 con l'ora legale, UTC+1 con l'ora solare"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
ERROR_MESSAGES = {
    "INVALID_API_KEY": _("Aisac refused our api_key: check AISAC_API_KEY."),
    "VALIDATION_ERROR": _("Aisac refused the request data."),
    "REQUEST_NOT_FOUND": _("Aisac does not know this request."),
    "ORDERS_DISABLED": _("The Aisac account is not set up to manage orders."),
    "DUPLICATE_ORDER": _("Aisac already has an order with this number."),
}


def format_date(value: datetime) -> str:
    return value.astimezone(AISAC_TZ).strftime(DATE_FORMAT)


def parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.strptime(value, DATE_FORMAT).replace(tzinfo=AISAC_TZ)


@dataclass(frozen=True)
class RemoteRequest:
    request_id: str
    user_key: str
    type: str
    subject: str
    status: str
    created_at: datetime | None
    updated_at: datetime | None
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, raw: dict[str, Any]) -> RemoteRequest:
        return cls(
            request_id=str(raw["request_id"]),
            user_key=str(raw.get("user_key") or ""),
            type=str(raw.get("type") or ""),
            subject=str(raw.get("subject") or ""),
            status=str(raw.get("status") or ""),
            created_at=parse_date(raw.get("created_at")),
            updated_at=parse_date(raw.get("updated_at")),
            raw=raw,
        )


@dataclass(frozen=True)
class OrderLine:
    sku: str
    name: str
    quantity: int
    price: Decimal


class AisacClient(ProviderClient):
    provider = "aisac"

    def __init__(self, *, base_url: str, api_key: str, **timeouts: float) -> None:
        self._api_key = api_key
        super().__init__(base_url=base_url, **timeouts)

    def configure_session(self, session: Session) -> None:
        session.headers["Accept"] = "application/json"

    def parse_error(self, response: Response) -> tuple[str, str]:
        body = self._json_or_none(response)
        if not isinstance(body, dict):
            return "", ""
        code = str(body.get("code") or "")
        detail = str(body.get("message") or "")
        message = ERROR_MESSAGES.get(code)
        return code, f"{message} {detail}".strip() if message else detail

    def _params(self, **params: Any) -> dict[str, Any]:
        return {
            "api_key": self._api_key,
            **{k: v for k, v in params.items() if v not in (None, "")},
        }

    def _get(self, endpoint: str, **params: Any) -> Any:
        return self.json(
            self.request("GET", endpoint, operation=endpoint, params=self._params(**params))
        )

    def _post(self, endpoint: str, body: dict[str, Any]) -> Any:
        response = self.request(
            "POST", endpoint, operation=endpoint, params=self._params(), json_body=body
        )
        return self.json(response)

    # --- care requests ----------------------------------------------------------------------
    def create_request(
        self, *, user_key: str, type: str, subject: str, message: str = "", reference: str = ""
    ) -> RemoteRequest:
        body = {"user_key": user_key, "type": type, "subject": subject, "message": message}
        if reference:
            body["reference"] = reference  # ours: lets a lost answer be found again
        return RemoteRequest.from_wire(self._post("createRequest", body))

    def get_request(self, request_id: str) -> RemoteRequest:
        return RemoteRequest.from_wire(self._get("getRequest", request_id=request_id))

    def get_requests(
        self,
        *,
        user_key: str = "",
        status: str = "",
        type: str = "",
        reference: str = "",
        from_date: datetime | None = None,
        page: int = 1,
    ) -> tuple[int, list[RemoteRequest]]:
        body = self._get(
            "getRequests",
            user_key=user_key,
            status=status,
            type=type,
            reference=reference,
            from_date=format_date(from_date) if from_date else None,
            page=page,
        )
        items = [RemoteRequest.from_wire(r) for r in (body or {}).get("requests", [])]
        return int((body or {}).get("total", len(items))), items

    def iter_requests(self, **filters: Any):
        page, seen = 1, 0
        while True:
            total, items = self.get_requests(page=page, **filters)
            yield from items
            seen += len(items)
            if not items or seen >= total:
                return
            page += 1

    # --- per user ---------------------------------------------------------------------------
    def flows_by_user_key(self, user_key: str) -> list[dict[str, Any]]:
        return list((self._get("getFlowByUserKey", user_key=user_key) or {}).get("flows", []))

    def charges_by_user_key(self, user_key: str) -> list[dict[str, Any]]:
        return list((self._get("getChargesByUserKey", user_key=user_key) or {}).get("charges", []))

    # --- orders -----------------------------------------------------------------------------
    def create_order(
        self,
        *,
        order_id: str,
        user_key: str,
        shop_code: str,
        total: Decimal,
        lines: list[OrderLine],
        currency: str = "EUR",
    ) -> dict[str, Any]:
        body = {
            "order_id": order_id,
            "user_key": user_key,
            "shop_code": shop_code,
            "total": str(total),
            "currency": currency,
            "lines": [
                {
                    "sku": line.sku,
                    "name": line.name,
                    "quantity": line.quantity,
                    "price": str(line.price),
                }
                for line in lines
            ],
        }
        answer = self._post("createOrder", body)
        if not isinstance(answer, dict) or not answer.get("order_id"):
            raise errors.ProviderTimeout(
                _("Aisac sent an answer we cannot read; the outcome will be checked."),
                provider=self.provider,
                code="UNEXPECTED_RESPONSE",
            )
        return answer


@cached_client_factory
def _client(base_url: str, api_key: str, connect: float, read: float) -> AisacClient:
    return AisacClient(
        base_url=base_url, api_key=api_key, connect_timeout=connect, read_timeout=read
    )


def aisac_client() -> AisacClient:
    return _client(
        settings.AISAC_BASE_URL,
        settings.AISAC_API_KEY,
        settings.PROVIDER_CONNECT_TIMEOUT,
        settings.PROVIDER_READ_TIMEOUT,
    )
