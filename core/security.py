"""Security helpers that the settings name: what a failed login writes to the log."""

from __future__ import annotations

import hashlib


def login_client_str(username, ip_address, user_agent, path_info, request) -> str:
    """django-axes' description of a client in its log lines: the page and a short hash of the
    username (enough to see repeated attempts), never the username or the address itself."""
    digest = hashlib.sha256((username or "").encode()).hexdigest()[:10]
    return f"{{user: #{digest}, path: {path_info!r}}}"
