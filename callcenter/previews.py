"""Lead files waiting between their preview and its confirmation (callcenter/admin.py).

A previewed file is kept under MEDIA_ROOT/lead-imports until the import job reads it (and
deletes it) — and no longer than PREVIEW_MAX_AGE: a preview nobody confirmed, or a job that
failed, leaves no list of phone numbers behind. Beat purges them (core.retention)."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings

IMPORT_DIR = Path(settings.MEDIA_ROOT) / "lead-imports"
PREVIEW_MAX_AGE = timedelta(hours=24)


def lead_import_previews_purge() -> int:
    """Delete the previewed files older than PREVIEW_MAX_AGE; answers how many."""
    if not IMPORT_DIR.is_dir():
        return 0
    oldest = time.time() - PREVIEW_MAX_AGE.total_seconds()
    deleted = 0
    for stored in IMPORT_DIR.iterdir():
        try:
            if stored.is_file() and stored.stat().st_mtime < oldest:
                stored.unlink()
                deleted += 1
        except FileNotFoundError:  # its import job took it meanwhile
            continue
    return deleted
