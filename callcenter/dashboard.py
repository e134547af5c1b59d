"""The call center's part of the admin home (core/dashboard.py): leads passed to Wolkvox in
the last 30 days, and the newest uploads."""

from __future__ import annotations

from django.db.models import Count, Sum
from django.utils.translation import gettext_lazy as _

from callcenter.models import CallUpload
from callcenter.selectors import recent_uploads
from core.dashboard import (
    Tile,
    admin_list,
    dashboard_panel_register,
    dashboard_since,
    dashboard_tile_register,
)


def leads_tile() -> Tile:
    """Leads Wolkvox confirmed for calling, from the uploads of the last 30 days (by the
    uploads' indexed creation date)."""
    since = dashboard_since()
    sums = CallUpload.objects.filter(created_at__gte=since).aggregate(
        leads=Sum("records_confirmed", default=0), uploads=Count("id")
    )
    return Tile(
        label=_("Leads to call in 30 days"),
        value=sums["leads"],
        note=_("%(n)s uploads to Wolkvox"),
        note_values={"n": sums["uploads"]},
        link=admin_list("callcenter_callupload_changelist", created_at__gte=since),
    )


def callcenter_dashboard_register() -> None:
    """From CallcenterConfig.ready()."""
    dashboard_tile_register("leads", leads_tile, permission="callcenter.view_callupload")
    dashboard_panel_register("uploads", recent_uploads, permission="callcenter.view_callupload")
