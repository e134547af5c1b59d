"""Security helpers that the settings name: the login lockout's counters and what a failed login
writes to the log."""

from __future__ import annotations

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit, get_lockout_parameters
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.utils.crypto import salted_hmac


def login_hash(kind: str, value: str | None) -> str:
    """A short keyed hash (HMAC-SHA256 under a key derived from SECRET_KEY) of a username or an
    address: the same value gives the same hash, so repeated attempts can be followed in the
    log, but without the key a leaked log cannot be reversed by hashing a list of usernames or
    every IPv4 address. `kind` keeps the two apart (a username that looks like an address)."""
    digest = salted_hmac(f"vetrina.login-log.{kind}", value or "", algorithm="sha256")
    return digest.hexdigest()[:12]


def login_client_str(username, ip_address, user_agent, path_info, request) -> str:
    """django-axes' description of a client in its log lines: the page and keyed hashes of the
    username and the address, never the username or the address itself."""
    user, address = login_hash("username", username), login_hash("address", ip_address)
    return f"{{user: #{user}, address: #{address}, path: {path_info!r}}}"


def _combination_key(combination) -> tuple[str, ...]:
    return (combination,) if isinstance(combination, str) else tuple(combination)


class LoginLockoutHandler(AxesDatabaseHandler):
    """django-axes' database handler with a limit of its own for each lockout counter.

    AXES_LOCKOUT_PARAMETERS lists the counters (one username from one address, one address
    across usernames, one username across addresses) and axes locks a login when any of them
    reaches AXES_FAILURE_LIMIT: one limit for all. LOGIN_FAILURE_LIMITS gives each counter its
    own, and a success clears only what it proves."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        """The failures that count, in units of AXES_FAILURE_LIMIT: that limit minus the least
        headroom any counter has left before its own limit. So axes' one comparison,
        `get_failures() >= AXES_FAILURE_LIMIT` (before a login is tried and after a failure is
        recorded), is true exactly when some counter has reached its own limit."""
        limits = settings.LOGIN_FAILURE_LIMITS
        counters = zip(
            get_lockout_parameters(request, credentials),
            self.get_user_attempts(request, credentials),  # within the cool-off, same order
            strict=True,
        )
        headroom = min(
            limits[_combination_key(combination)]
            - (attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0)
            for combination, attempts in counters
        )
        return get_failure_limit(request, credentials) - headroom

    def reset_user_attempts(self, request, credentials: dict | None = None) -> int:
        """A successful login clears that username's failures from that address, nothing else.
        axes would clear every counter the login belongs to, so whoever owns one account could
        wipe an address's spraying count by logging in with it between rounds, and a login
        would also wipe failures on the username that came from elsewhere."""
        username = get_client_username(request, credentials)
        count, _ = AccessAttempt.objects.filter(
            username=username, ip_address=request.axes_ip_address
        ).delete()
        return count
