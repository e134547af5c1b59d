"""The four roles as groups with their permissions (core.roles). Permissions are created first:
on a new database they do not exist yet while migrations run. The roles are set again after
every `migrate` (core.roles.roles_apply_after_migrate), so this migration depends on no optional
app: production installs neither the sandbox nor DRF's plain-text tokens."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def create_roles(apps, schema_editor):
    from core.roles import roles_apply

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    roles_apply(
        group_model=apps.get_model("auth", "Group"),
        permission_model=apps.get_model("auth", "Permission"),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("store", "0002_flyerrequest"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0003_idempotencykey"),
        ("campaigns", "0001_initial"),
        ("loyalty", "0002_donotcall_customer_consent_calls_and_more"),
        ("messaging", "0002_inboundcall_carerequest_order_orderline"),
        ("callcenter", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
