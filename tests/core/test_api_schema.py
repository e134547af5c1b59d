import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_the_openapi_schema_is_valid_and_generates_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = target.read_text()
    for path in (
        "/api/v1/shops/",
        "/api/v1/media/",
        "/api/v1/campaigns/",
        "/api/v1/customers/",
        "/api/v1/fidelity-programs/",
        "/api/v1/fidelity-cards/",
        "/api/v1/fidelity-cards/{card_pk}/movements/",
    ):
        assert f"{path}:" in schema
