"""Vetrina's admin site: the standard one, with the marketing dashboard on its home page."""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class VetrinaAdminSite(AdminSite):
    site_header = "Vetrina"
    site_title = "Vetrina"
    index_title = _("Dashboard")

    def index(self, request, extra_context=None):
        from core.dashboard import dashboard_data

        return super().index(request, {"dashboard": dashboard_data(), **(extra_context or {})})


class VetrinaAdminConfig(AdminConfig):
    default_site = "core.admin_site.VetrinaAdminSite"
