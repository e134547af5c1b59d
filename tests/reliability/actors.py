"""What users do in their own processes during the process-fault tests (see processes.py)."""

from __future__ import annotations

import time

from django.db import close_old_connections
from django.db.utils import DatabaseError

from campaigns.models import Shop
from campaigns.services import shop_create, shop_update
from tests.campaigns.factories import shop_fields


def create_shops(prefix: str, count: int, *, edits: int = 0, pause: float = 0.0) -> None:
    """Create `count` shops, editing each `edits` times; a refused write (the database
    restarting) is tried again, as a person would, and noted in the log."""
    for number in range(count):
        code = f"{prefix}{number:03d}"
        _insist(
            lambda code=code: (
                Shop.objects.filter(code=code).exists() or shop_create(**shop_fields(code=code))
            )
        )
        for edit in range(edits):
            _insist(
                lambda code=code, edit=edit: shop_update(
                    shop=Shop.objects.get(code=code),
                    data={"description": f"{code} edit {edit + 1}"},
                )
            )
        time.sleep(pause)
    print(f"done: {count} shops", flush=True)


def _insist(action, attempts: int = 60) -> None:
    for _ in range(attempts):
        try:
            action()
            return
        except DatabaseError as exc:
            print(f"database refused a write ({type(exc).__name__}); trying again", flush=True)
            close_old_connections()
            time.sleep(0.5)
    raise RuntimeError("the database never came back")
