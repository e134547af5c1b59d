"""`pull smshosting`: bring every open message's delivery status up to date from push/search."""

from __future__ import annotations

from django.utils.translation import gettext as _

from core.pull import DriftReport, pull_register
from messaging.services import push_status_refresh


def smshosting_pull(*, dry_run: bool, progress=None, **options) -> DriftReport:
    report = DriftReport(provider="SMSHosting", dry_run=dry_run)
    if dry_run:
        return report  # statuses only ever move forward: nothing to compare without applying
    report.in_step[_("messages updated")] = push_status_refresh()
    return report


pull_register("smshosting", smshosting_pull)
