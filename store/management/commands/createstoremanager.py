"""Create (or update) a store manager for some shops, without prompts.

Examples:
    python manage.py createstoremanager mario --shop PV-MI-01
    python manage.py createstoremanager lucia --shop PV-RM-01 --shop PV-NA-01 --password 's3gr3t0!'
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from campaigns.models import Shop
from core.passwords import command_password_set
from store.access import STORE_MANAGERS_GROUP
from store.models import StoreManager


class Command(BaseCommand):
    help = "Create a store manager who can use /store/ for the given shops only."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--shop", action="append", required=True, dest="shops", help="shop code (repeatable)"
        )
        parser.add_argument("--password", help="password; a strong one is generated otherwise")
        parser.add_argument("--email", default="")

    @transaction.atomic
    def handle(
        self, *args, username: str, shops: list[str], password: str | None, email: str, **options
    ):
        found = {s.code: s for s in Shop.objects.filter(code__in=shops)}
        missing = sorted(set(shops) - set(found))
        if missing:
            raise CommandError(_("Unknown shop codes: %(codes)s.") % {"codes": ", ".join(missing)})
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=username, defaults={"email": email}
        )
        if user.is_staff or user.is_superuser:
            raise CommandError(
                _("%(username)s is an admin user: store managers must not reach the admin.")
                % {"username": username}
            )
        generated = command_password_set(user, password)
        user.save()
        group, _new = Group.objects.get_or_create(name=STORE_MANAGERS_GROUP)
        user.groups.add(group)
        manager, _new = StoreManager.objects.get_or_create(user=user)
        manager.shops.add(*found.values())
        shop_list = ", ".join(sorted(found))
        done = (
            _("Store manager %(username)s created for %(shops)s.")
            if created
            else _("Store manager %(username)s updated for %(shops)s.")
        )
        self.stdout.write(self.style.SUCCESS(done % {"username": username, "shops": shop_list}))
        if generated:
            self.stdout.write(
                _("Password (shown only now): %(password)s") % {"password": generated}
            )
