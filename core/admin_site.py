"""Vetrina's admin site: the standard one, with the marketing dashboard on its home page.

Installed by `core.apps.VetrinaAdminConfig`."""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.utils.translation import gettext_lazy as _

from core.access import user_is_shop_scoped
from core.dashboard import dashboard_data


class VetrinaAdminSite(AdminSite):
    site_header = "Vetrina"
    site_title = "Vetrina"
    index_title = _("Dashboard")

    def has_permission(self, request) -> bool:
        """Active staff, but never a store manager: their place is the counter (/store/), and
        the admin's lists and dashboard are chain-wide (core.access)."""
        return super().has_permission(request) and not user_is_shop_scoped(request.user)

    def index(self, request, extra_context=None):
        return super().index(request, {"dashboard": dashboard_data(), **(extra_context or {})})
