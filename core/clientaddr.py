"""The address of the client that made a request, as far as Vetrina can trust it.

Behind `TRUSTED_PROXY_COUNT` reverse proxies each proxy appends the address it was called from
to `X-Forwarded-For`, so the client is the N-th address from the right; whatever stands further
left was written by the client itself and proves nothing. With no trusted proxy the header is
never read: the client is the socket's peer, `REMOTE_ADDR`."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The client's IP address ("" when even REMOTE_ADDR is missing or not an address).

    A request that reached us through fewer proxies than configured (fewer addresses in the
    header than TRUSTED_PROXY_COUNT) or whose N-th address is not an IP address gets the
    nearest peer, REMOTE_ADDR: never an address the client could have chosen."""
    remote = _address(request.META.get("REMOTE_ADDR", ""))
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < count:
        return remote
    return _address(forwarded[-count]) or remote


def _address(text: str) -> str:
    """The address written the one way (an IPv4 client seen through an IPv6 socket as itself)."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return ""
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return str(address)
