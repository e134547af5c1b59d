"""Vetrina's admin site: the standard one, with the marketing dashboard on its home page and,
for every record the audit trail follows, its entries behind the "Cronologia" button.

Installed by `core.apps.VetrinaAdminConfig`."""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import PAGE_VAR
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.access import user_is_shop_scoped
from core.audit import audit_entries_for, audit_is_registered, audit_line
from core.dashboard import dashboard_for

AUDIT_HISTORY_PER_PAGE = 50


class VetrinaAdminSite(AdminSite):
    site_header = "Vetrina"
    site_title = "Vetrina"
    index_title = _("Dashboard")

    def has_permission(self, request) -> bool:
        """Active staff, but never a store manager: their place is the counter (/store/), and
        the admin's lists and dashboard are chain-wide (core.access)."""
        return super().has_permission(request) and not user_is_shop_scoped(request.user)

    def index(self, request, extra_context=None):
        return super().index(
            request, {"dashboard": dashboard_for(request.user), **(extra_context or {})}
        )

    def get_urls(self):
        """Each audited model's `<id>/history/` (the change page's "Cronologia" button, same URL
        name) shows its audit trail instead of the admin's own log of its form saves."""
        audited = []
        for model, model_admin in self._registry.items():
            if audit_is_registered(model):
                opts = model._meta
                audited.append(
                    path(
                        f"{opts.app_label}/{opts.model_name}/<path:object_id>/history/",
                        self.admin_view(self._audit_history(model_admin)),
                        name=f"{opts.app_label}_{opts.model_name}_history",
                    )
                )
        return audited + super().get_urls()

    def _audit_history(self, model_admin):
        def view(request, object_id):
            return self.audit_history_view(request, object_id, model_admin=model_admin)

        return view

    def audit_history_view(self, request, object_id: str, *, model_admin) -> TemplateResponse:
        """Who created, changed, sent, withdrew, approved or erased the record, and when:
        for whoever may see the record and read the audit trail."""
        opts = model_admin.model._meta
        obj = model_admin.get_object(request, unquote(object_id))
        if obj is None:
            return model_admin._get_obj_does_not_exist_redirect(request, opts, object_id)
        if not (
            model_admin.has_view_or_change_permission(request, obj)
            and request.user.has_perm("auditlog.view_logentry")
        ):
            raise PermissionDenied
        paginator = Paginator(audit_entries_for(obj), AUDIT_HISTORY_PER_PAGE)
        page = paginator.get_page(request.GET.get(PAGE_VAR, 1))
        context = {
            **self.each_context(request),
            "title": gettext("History of %(record)s") % {"record": obj},
            "subtitle": None,
            "object": obj,
            "opts": opts,
            "module_name": str(capfirst(opts.verbose_name_plural)),
            "lines": [audit_line(entry) for entry in page],
            "page_obj": page,
            "page_range": paginator.get_elided_page_range(page.number),
            "page_var": PAGE_VAR,
            "preserved_filters": model_admin.get_preserved_filters(request),
        }
        request.current_app = self.name
        return TemplateResponse(request, "admin/audit_history.html", context)
