"""The embedded default: SQLite, a broker with no server, and the provider sandboxes mounted in
this very web server. Every value below is only a default; the environment or `.env` wins."""

import os

import config.env  # noqa: F401  (reads .env first, so that its values beat these defaults)

_origin = os.environ.get("SANDBOX_ORIGIN") or "http://127.0.0.1:{}".format(
    os.environ.get("VETRINA_PORT", "8000")
)
_EMBEDDED_DEFAULTS = {
    "DEBUG": "true",
    "SECRET_KEY": "embedded-default-not-secret-change-me-in-production-0123456789",
    "ALLOWED_HOSTS": "127.0.0.1,localhost,[::1]",
    "SANDBOX_ENABLED": "true",
    "VOLANTINOPIU_BASE_URL": f"{_origin}/sandbox/volantinopiu/api/v2",
    "VOLANTINOPIU_TOKEN": "sandbox-volantinopiu-token",
    "AMM_BASE_URL": f"{_origin}/sandbox/amm/sms/v2",
    "AMM_AUTH_KEY": "sandbox-amm-key",
    "AMM_AUTH_SECRET": "sandbox-amm-secret",
    "SMSHOSTING_BASE_URL": f"{_origin}/sandbox/smshosting/rest/api",
    "SMSHOSTING_AUTH_KEY": "sandbox-smshosting-key",
    "SMSHOSTING_AUTH_SECRET": "sandbox-smshosting-secret",
    "WOLKVOX_BASE_URL": f"{_origin}/sandbox/wolkvox/api/v2",
    "WOLKVOX_TOKEN": "sandbox-wolkvox-token",
    "AISAC_BASE_URL": f"{_origin}/sandbox/aisac/v1",
    "AISAC_API_KEY": "sandbox-aisac-key",
    "AISAC_INBOUND_KEY": "sandbox-aisac-inbound-key",
}
for _name, _value in _EMBEDDED_DEFAULTS.items():
    os.environ.setdefault(_name, _value)

from .base import *  # noqa: E402, F403
