"""API tokens for tests, made as the product makes them (core.tokens)."""

from core.tokens import api_token_create


def token_for(user) -> str:
    """A new API token of `user`, ready for `Authorization: Token …`."""
    return api_token_create(user=user)[1]
