from django.conf import settings
from django.http import HttpRequest


def sandbox(request: HttpRequest) -> dict[str, bool]:
    """Lets every page say plainly when the providers are simulated."""
    return {"SANDBOX_ENABLED": settings.SANDBOX_ENABLED}
