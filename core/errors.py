"""One error tree for every provider. Each error carries the provider's own code and a message
the user can act on; the class says whether the outbox retries it."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class ProviderError(Exception):
    """A provider call did not do what we asked."""

    retryable: bool = False
    # True when the provider may have acted although we got no answer (read timeout, lost
    # reply): the next attempt must look the operation up before repeating it.
    outcome_unknown: bool = False
    default_message = _("The provider could not complete the request.")

    def __init__(
        self,
        message: str | None = None,
        *,
        provider: str = "",
        code: str = "",
        status: int | None = None,
        response_text: str = "",
    ) -> None:
        self.user_message = str(message or self.default_message)
        self.provider = provider
        self.code = code
        self.status = status
        self.response_text = response_text[:2000]
        # The answer's keys and value types, for the call log (see ContractDrift).
        self.shape = ""
        super().__init__(self.user_message)

    def __str__(self) -> str:
        prefix = f"[{self.code}] " if self.code else ""
        return f"{prefix}{self.user_message}"


class ProviderUnavailable(ProviderError):
    """Transient: connection refused, timeout, 429, 5xx. Retried with backoff."""

    retryable = True
    default_message = _("The provider is temporarily unavailable; the request will be retried.")


class ProviderTimeout(ProviderUnavailable):
    """The request was sent but no answer came in time: it may or may not have been applied."""

    outcome_unknown = True
    default_message = _("The provider did not answer in time; the outcome will be checked.")


class ProviderRateLimited(ProviderUnavailable):
    default_message = _("The provider is busy (too many requests); the request will be retried.")


class ProviderRejected(ProviderError):
    """Permanent: the provider refused the request as made (4xx). Not retried."""

    default_message = _("The provider rejected the request.")


class ProviderAuthError(ProviderRejected):
    default_message = _(
        "The provider refused our credentials: check the token or key in the settings."
    )


class ProviderNotFound(ProviderRejected):
    default_message = _("The provider does not know this record.")


class NeedsDecision(ProviderRejected):
    """The last attempt may or may not have reached the provider and there is no way to ask:
    a person decides whether to send again or to count it as delivered."""

    default_message = _(
        "The provider's answer was lost and it cannot be asked whether the request arrived: "
        "check at the provider, then resend it or mark it as delivered."
    )


class ContractDrift(ProviderError):
    """The provider answered, but in a form its client cannot read (a missing id, a field of
    another type, a wrapper we have never seen). The request may well have been applied, so a
    repeat looks it up first; it is not retried by itself: the answer will not change until a
    person has looked at it. `shape` is the answer's keys and value types (never its values),
    kept in the call log; `fields` names what differed from what the client expects."""

    outcome_unknown = True
    default_message = _(
        "The provider answered in a form Vetrina cannot read; it may have applied the request. "
        "The call log shows the answer's shape: check the going-live guide before retrying."
    )

    def __init__(
        self,
        message: str | None = None,
        *,
        provider: str = "",
        fields: tuple[str, ...] | list[str] = (),
        shape: str = "",
        status: int | None = None,
    ) -> None:
        super().__init__(message, provider=provider, code="CONTRACT_DRIFT", status=status)
        self.fields = tuple(fields)
        self.shape = shape
