"""A circuit breaker per provider, shared by every worker through the database.

Closed: deliveries call the provider; each transient failure (timeout, 5xx, refused or lost
connection) adds one to a count that any answer from the provider resets. At
`PROVIDER_BREAKER["FAILURE_THRESHOLD"]` failures in a row the breaker opens: no delivery calls
the provider and none spends an attempt (each waits, deferred, until the trial call). After
`COOLDOWN_SECONDS` the first delivery that comes along becomes the one trial call (half-open,
won by a conditional UPDATE, so one worker only); its success closes the breaker and sends the
backlog at once, a transient failure opens it for another cool-down. A trial call whose worker
died is taken over when its lease runs out.

A library such as pybreaker keeps its state in a process (or Redis); the outbox runs in several
processes on either database, so the state is a row of `core.ProviderBreaker`, written only
when something changes: a delivery reads it once, and a healthy provider costs no write."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import F, QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from core.errors import ProviderError, ProviderRateLimited, ProviderUnavailable
from core.models import BreakerState, OutboxEntry, OutboxState, ProviderBreaker
from core.prepared import prepared_cursor
from core.providers import provider_label
from core.publish import outbox_publish
from core.sync import Deferred

logger = logging.getLogger("vetrina.outbox")

# The outbox's error code on entries waiting for a breaker: the close sends exactly these.
CIRCUIT_OPEN = "CIRCUIT_OPEN"
# How long a delivery that finds a trial call under way waits before looking again; the
# trial's success sends it at once anyway.
WAIT_FOR_TRIAL_SECONDS = 10
# How many waiting entries a close publishes itself; the sweeper publishes the rest.
RELEASE_AT_ONCE = 500


def _threshold() -> int:
    return max(1, int(settings.PROVIDER_BREAKER["FAILURE_THRESHOLD"]))


def _cooldown() -> timedelta:
    return timedelta(seconds=float(settings.PROVIDER_BREAKER["COOLDOWN_SECONDS"]))


@dataclass(frozen=True)
class Admission:
    """A delivery's permission to call its provider: the failures counted when it was let in,
    and the trial token when it is the half-open breaker's one trial call."""

    provider: str
    failures: int = 0
    trial_token: str = ""


def breaker_admit(provider: str, *, seen: tuple | None = None) -> Admission:
    """Let a delivery call `provider`, or raise Deferred (with code CIRCUIT_OPEN) while the
    breaker is open or another delivery makes the trial call. `seen`: the breaker's state and
    failure count as the statement that claimed the entry read them
    (`breaker_seen_columns`); while they say closed, no read of its own."""
    closed = seen is not None and seen[0] in (None, BreakerState.CLOSED)
    row = seen if closed else _breaker_row(provider)
    if row is None or row[0] in (None, BreakerState.CLOSED):
        return Admission(provider, failures=(row[1] or 0) if row else 0)
    state, failures, retry_at, probe_until, since = row
    now = timezone.now()
    token = uuid.uuid4().hex
    trial = {"state": BreakerState.HALF_OPEN, "probe_token": token}
    trial["probe_until"] = now + timedelta(seconds=settings.OUTBOX["LEASE_SECONDS"])
    if state == BreakerState.OPEN and retry_at and retry_at <= now:
        won = ProviderBreaker.objects.filter(
            provider=provider, state=BreakerState.OPEN, retry_at__lte=now
        ).update(**trial)
    elif state == BreakerState.HALF_OPEN and probe_until and probe_until <= now:
        won = ProviderBreaker.objects.filter(
            provider=provider, state=BreakerState.HALF_OPEN, probe_until__lte=now
        ).update(**trial)  # the trial call's worker died: this delivery takes it over
    else:
        won = 0
    if won:
        return Admission(provider, failures=failures, trial_token=token)
    if state == BreakerState.OPEN and retry_at and retry_at > now:
        until = retry_at
    else:
        until = now + timedelta(seconds=WAIT_FOR_TRIAL_SECONDS)
    raise Deferred(until, _open_message(provider, since, until), code=CIRCUIT_OPEN)


def _open_message(provider: str, since, until) -> str:
    return _(
        "%(provider)s is not answering (circuit breaker open since %(since)s): nothing is sent "
        "and no attempt is spent until a trial call at %(until)s succeeds."
    ) % {
        "provider": provider_label(provider),
        "since": formats.date_format(timezone.localtime(since), "SHORT_DATETIME_FORMAT"),
        "until": formats.time_format(timezone.localtime(until), "TIME_FORMAT"),
    }


def is_transient(exc: BaseException) -> bool:
    """What counts towards opening: the provider did not answer, or answered 5xx. A 429 is an
    answer (it is up, only busy), and an error of ours (no provider named) is not its fault."""
    return (
        isinstance(exc, ProviderUnavailable)
        and not isinstance(exc, ProviderRateLimited)
        and bool(exc.provider)
    )


def breaker_seen_columns(provider_column: str) -> str:
    """The breaker's state and failure count as two columns of another statement, for the
    provider named by `provider_column` (None, None without a breaker row): the outbox's claim
    returns them with the entry, so a delivery needs no read of the breaker of its own."""
    where = f"FROM core_providerbreaker WHERE provider = {provider_column}"
    return f"(SELECT state {where}), (SELECT failures {where})"


def _breaker_row(provider: str) -> tuple | None:
    """The breaker's state, read by every delivery: SQL written once, as the outbox's claim."""
    connection = connections[router.db_for_read(ProviderBreaker)]
    with prepared_cursor(connection) as cursor:
        cursor.execute(_BREAKER_ROW_SQL, [provider])
        row = cursor.fetchone()
    if row is None or row[0] == BreakerState.CLOSED:
        return row  # the dates are not needed, nor converted
    convert = partial(_as_datetime, connection=connection)
    return (row[0], row[1], convert(row[2]), convert(row[3]), convert(row[4]))


_BREAKER_ROW_SQL = (
    "SELECT state, failures, retry_at, probe_until, since FROM core_providerbreaker "
    "WHERE provider = %s"
)


def _as_datetime(value: Any, *, connection) -> Any:
    field = ProviderBreaker._meta.get_field("retry_at")
    expression = field.get_col(ProviderBreaker._meta.db_table)
    for convert in connection.ops.get_db_converters(expression):
        value = convert(value, expression, connection)
    return value


def breaker_record(admission: Admission, exc: BaseException | None, *, called: bool) -> None:
    """After the delivery: `exc` is what it raised (None on success), `called` whether any
    call reached the wire. A trial that made no call proves nothing: the next delivery tries."""
    if not called:
        if admission.trial_token:
            ProviderBreaker.objects.filter(
                provider=admission.provider, probe_token=admission.trial_token
            ).update(
                state=BreakerState.OPEN, retry_at=timezone.now(), probe_token="", probe_until=None
            )
        return
    if exc is not None and is_transient(exc):
        _failed(admission, exc)
    elif (exc is None or isinstance(exc, ProviderError)) and (
        admission.trial_token or admission.failures
    ):
        _answered(admission)  # any answer (a success, a refusal, a drift) shows it is there


def _failed(admission: Admission, exc: BaseException) -> None:
    now = timezone.now()
    message = str(exc)[:2000]
    provider = admission.provider
    if admission.trial_token:
        reopened = ProviderBreaker.objects.filter(
            provider=provider, probe_token=admission.trial_token
        ).update(
            state=BreakerState.OPEN,
            since=now,
            retry_at=now + _cooldown(),
            probe_token="",
            probe_until=None,
            failures=F("failures") + 1,
            last_error=message,
            last_failure_at=now,
        )
        if reopened:
            logger.warning("Circuit breaker of %s stays open: the trial call failed", provider)
        return
    counted = ProviderBreaker.objects.filter(provider=provider).update(
        failures=F("failures") + 1, last_error=message, last_failure_at=now
    )
    if not counted:
        ProviderBreaker.objects.bulk_create(
            [
                ProviderBreaker(
                    provider=provider, failures=1, last_error=message, last_failure_at=now
                )
            ],
            ignore_conflicts=True,
        )
    opened = ProviderBreaker.objects.filter(
        provider=provider, state=BreakerState.CLOSED, failures__gte=_threshold()
    ).update(state=BreakerState.OPEN, since=now, retry_at=now + _cooldown())
    if opened:
        logger.warning(
            "Circuit breaker of %s opened after %s failures in a row", provider, _threshold()
        )


def _answered(admission: Admission) -> None:
    now = timezone.now()
    provider = admission.provider
    if not admission.trial_token:
        ProviderBreaker.objects.filter(provider=provider, state=BreakerState.CLOSED).update(
            failures=0
        )
        return
    _close(
        ProviderBreaker.objects.filter(provider=provider, probe_token=admission.trial_token),
        provider,
        now,
    )


def _close(breakers: QuerySet[ProviderBreaker], provider: str, now) -> int:
    """Close the provider's breaker if `breakers` (its row, on a condition) still matches —
    after a trial call's answer, or by hand — and then send the entries it held back. Answers
    how many rows closed (0 or 1)."""
    with transaction.atomic():
        closed = breakers.update(
            state=BreakerState.CLOSED,
            since=now,
            failures=0,
            retry_at=None,
            probe_token="",
            probe_until=None,
        )
        if closed:
            _release_backlog(provider, now)
    if closed:
        logger.info("Circuit breaker of %s closed", provider)
    return closed


def _release_backlog(provider: str, now) -> None:
    """The breaker closed: the entries it held back go now, in order, rather than at the end of
    the wait each was given."""
    waiting = OutboxEntry.objects.filter(
        provider=provider, state=OutboxState.PENDING, error_code=CIRCUIT_OPEN
    )
    ids = list(waiting.order_by("id").values_list("id", flat=True)[:RELEASE_AT_ONCE])
    waiting.update(next_attempt_at=now, enqueued_at=None, error_code="")
    if ids:
        OutboxEntry.objects.filter(id__in=ids).update(enqueued_at=now)
        for entry_id in ids:
            transaction.on_commit(partial(outbox_publish, entry_id, provider))


def breaker_close(provider: str) -> bool:
    """Close a breaker by hand (marketing knows the provider is back): the backlog goes now."""
    breakers = ProviderBreaker.objects.filter(provider=provider).exclude(
        state=BreakerState.CLOSED, failures=0
    )
    return bool(_close(breakers, provider, timezone.now()))


def breaker_status(provider: str) -> dict[str, Any]:
    """State, since when, failures in a row, next trial and last error: for the dashboard and
    `checkproviders` (plain values, JSON-ready)."""
    row = ProviderBreaker.objects.filter(provider=provider).first()
    if row is None:
        return {
            "state": BreakerState.CLOSED.value,
            "label": str(BreakerState.CLOSED.label),
            "since": None,
            "failures": 0,
            "retry_at": None,
            "last_error": "",
        }
    return {
        "state": row.state,
        "label": str(row.get_state_display()),
        "since": row.since.isoformat(timespec="seconds") if row.since else None,
        "failures": row.failures,
        "retry_at": row.retry_at.isoformat(timespec="seconds") if row.retry_at else None,
        "last_error": row.last_error,
    }


def breaker_is_open(provider: str) -> bool:
    """For background reads (a status refresh every 30 s): skip them while the provider is held
    to be down, rather than calling it anyway."""
    return (
        ProviderBreaker.objects.filter(provider=provider)
        .exclude(state=BreakerState.CLOSED)
        .exists()
    )
