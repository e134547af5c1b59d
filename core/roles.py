"""The four roles, as auth groups with their model permissions. Created by a migration and kept
in step after every `migrate` (new models get their permissions without another migration)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

# Apps whose records are the marketing team's work.
MARKETING_APPS = ("campaigns", "loyalty", "messaging", "callcenter", "store")


@dataclass(frozen=True)
class Role:
    group: str
    label: str
    staff: bool  # reaches the admin
    # (app_label, actions) for every model of the app, or (app_label, actions, models).
    grants: tuple[tuple, ...]


MARKETING = Role(
    group="Marketing",
    label=_("marketing staff: the admin on everything marketing"),
    staff=True,
    grants=(
        *((app, ("add", "change", "delete", "view")) for app in MARKETING_APPS),
        ("core", ("change", "view")),  # retry or cancel outbox rows, read the call log
        ("sandbox", ("add", "change", "delete", "view")),
        ("core", ("add", "delete", "view"), ("apitoken",)),  # made (shown once), revoked
        ("auditlog", ("view",)),  # the audit trail: read, never changed
    ),
)
STORE_MANAGER = Role(
    group="Store managers",
    label=_("store managers: the /store/ forms of their own shops only"),
    staff=False,
    # The counter checks the shop itself; these let a shop's own scripts read its records
    # through the API (core.access still limits them to their shops).
    grants=(
        ("campaigns", ("view",), ("shop", "campaign")),
        ("loyalty", ("view",), ("customer", "fidelitycard", "pointmovement")),
        ("store", ("view",), ("flyerrequest",)),
    ),
)
AUDITOR = Role(
    group="Auditors",
    label=_("auditors: read-only access to the admin"),
    staff=True,
    grants=(*((app, ("view",)) for app in (*MARKETING_APPS, "core", "sandbox", "auditlog")),),
)
API_SCRIPT = Role(
    group="API scripts",
    label=_("API scripts: token access to /api/v1/, no admin"),
    staff=False,
    grants=(*((app, ("add", "change", "delete", "view")) for app in MARKETING_APPS),),
)

ROLES = {"marketing": MARKETING, "store": STORE_MANAGER, "auditor": AUDITOR, "api": API_SCRIPT}

# Roles whose members see every shop's records; a store manager sees their own shops' only.
UNSCOPED_GROUPS = (MARKETING.group, AUDITOR.group, API_SCRIPT.group)


def roles_apply(*, group_model, permission_model) -> None:
    """Create the groups and give each exactly its role's permissions. Works with the real models
    and with a migration's historical ones."""
    for role in ROLES.values():
        group, _created = group_model.objects.get_or_create(name=role.group)
        wanted = permission_model.objects.none()
        for app_label, actions, *models in role.grants:
            perms = permission_model.objects.filter(content_type__app_label=app_label)
            if models:
                perms = perms.filter(content_type__model__in=models[0])
            wanted = wanted | perms.filter(codename__regex=rf"^({'|'.join(actions)})_")
            if "change" in actions:  # custom permissions (approve_flyerrequest) go with change
                wanted = wanted | perms.exclude(codename__regex=r"^(add|change|delete|view)_")
        group.permissions.set(wanted.distinct())


def roles_apply_after_migrate(*, using: str = "default", **kwargs) -> None:
    """post_migrate: make sure every model's permissions exist, then set the groups again, so a
    model added later is in its roles without another migration."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    roles_apply(group_model=Group, permission_model=Permission)
