"""Create (or update) a user with one of Vetrina's roles, without prompts.

Examples:
    python manage.py createuser anna --role marketing
    python manage.py createuser revisore --role auditor --password 's3gr3t0-lungo!'
    python manage.py createuser gestionale --role api          # prints a new API token, once
    python manage.py createuser mario --role store --shop PV-MI-01

Roles: marketing (the admin on everything marketing), auditor (the admin, read-only), api (token
access to /api/v1/, no admin), store (the /store/ counter for the given shops only).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from core.passwords import command_password_set
from core.roles import ROLES
from core.tokens import api_token_create


class Command(BaseCommand):
    help = "Create a user with a role: marketing, auditor, api or store."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=sorted(ROLES))
        parser.add_argument("--shop", action="append", default=[], dest="shops")
        parser.add_argument("--password", help="password; a strong one is generated otherwise")
        parser.add_argument("--email", default="")

    def handle(self, *args, username, role, shops, password, email, **options):
        if role == "store":
            if not shops:
                raise CommandError(_("A store manager needs at least one --shop CODE."))
            extra = ["--password", password] if password else []
            shop_args = [arg for code in shops for arg in ("--shop", code)]
            call_command("createstoremanager", username, *shop_args, *extra, email=email)
            return
        if shops:
            raise CommandError(_("--shop is for store managers (--role store) only."))
        self._create(username=username, role=role, password=password, email=email)

    @transaction.atomic
    def _create(self, *, username: str, role: str, password: str | None, email: str) -> None:
        spec = ROLES[role]
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"email": email}
        )
        if user.is_superuser:
            raise CommandError(
                _("%(username)s is a superuser: give roles to ordinary users only.")
                % {"username": username}
            )
        if hasattr(user, "store_manager"):
            raise CommandError(
                _("%(username)s is a store manager: use another username.") % {"username": username}
            )
        generated = command_password_set(user, password)
        user.is_staff = spec.staff
        user.save()
        user.groups.set([Group.objects.get(name=spec.group)])
        done = (
            _("User %(username)s created: %(role)s.")
            if created
            else _("User %(username)s updated: %(role)s.")
        )
        self.stdout.write(done % {"username": username, "role": spec.label})
        if generated:
            self.stdout.write(
                _("Password (shown only now): %(password)s") % {"password": generated}
            )
        if role == "api":
            # Only a digest is kept: this is the one time the token can be read. Earlier tokens
            # of the user keep working until revoked in the admin (API tokens).
            _token, secret = api_token_create(user=user)
            self.stdout.write(_("API token: %(token)s") % {"token": secret})
            self.stdout.write(_("Shown only now: only its digest is stored."))
