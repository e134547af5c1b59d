"""`manage.py pull volantinopiu` and the admin pull page: import remote-only records, report
drift, and with --dry-run change nothing."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, Media, Shop
from campaigns.volantinopiu import format_date_send
from core.models import SyncStatus
from sandbox.models import SandboxObject
from tests.campaigns.factories import make_campaign, make_shop

pytestmark = pytest.mark.django_db


def remote(kind: str, **data) -> SandboxObject:
    return SandboxObject.objects.create(provider="volantinopiu", kind=kind, data=data)


def pull(*args) -> str:
    out = StringIO()
    call_command("pull", "volantinopiu", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def diverged(django_capture_on_commit_callbacks):
    """VolantinoPiù and Vetrina disagree in every way a pull must notice."""
    with django_capture_on_commit_callbacks(execute=True):
        kept = make_shop(code="PV-KEPT", city="Milano")
        edited_there = make_shop(code="PV-EDIT", city="Milano")
        deleted_there = make_shop(code="PV-GONE")
    SandboxObject.objects.filter(pk=Shop.objects.get(pk=edited_there.pk).remote_id).update(
        data={
            **SandboxObject.objects.get(pk=Shop.objects.get(pk=edited_there.pk).remote_id).data,
            "citta": "Monza",
        }
    )
    SandboxObject.objects.filter(pk=Shop.objects.get(pk=deleted_there.pk).remote_id).delete()
    only_there = remote(
        "shop", codice="PV-NEW", indirizzo="Via Nuova 1", citta="Lodi", provincia="LO"
    )
    remote("media", name="natale.png", url="http://sandbox.test/storage/9/natale.png", size=10)
    remote(
        "campaign",
        type="flyer",
        pv_id=only_there.pk,
        image="http://sandbox.test/storage/9/natale.png",
        flyer_link="https://example.com/natale.pdf",
        date_send=format_date_send(timezone.now() + timedelta(days=2)),
        promo_name="Natale",
    )
    return kept


def test_pull_on_an_empty_sandbox_reports_local_records_only_here():
    make_shop(code="PV-LOCAL")  # never sent (inline delivery is not captured here)
    output = pull()
    assert "PV-LOCAL" in output
    assert Shop.objects.count() == 1


def test_a_dry_run_reports_everything_and_changes_nothing(diverged):
    before = (Shop.objects.count(), Media.objects.count(), Campaign.objects.count())
    output = pull("--dry-run")

    assert "prova" in output  # Italian: "(prova: nulla è stato modificato)"
    for expected in ("PV-NEW", "PV-GONE", "PV-EDIT", "Natale", "Monza"):
        assert expected in output
    assert (Shop.objects.count(), Media.objects.count(), Campaign.objects.count()) == before


def test_a_pull_imports_remote_only_records_and_never_overwrites_differences(diverged):
    pull()

    imported = Shop.objects.get(code="PV-NEW")
    assert (imported.city, imported.sync_status, imported.remote_id) == (
        "Lodi",
        SyncStatus.SYNCED,
        str(SandboxObject.objects.get(data__codice="PV-NEW").pk),
    )
    assert Shop.objects.get(code="PV-EDIT").city == "Milano"  # reported, not overwritten
    assert Shop.objects.filter(code="PV-GONE").exists()
    media = Media.objects.get(name="natale.png")
    campaign = Campaign.objects.get(promo_name="Natale")
    assert (campaign.shop, campaign.media, campaign.kind) == (imported, media, "flyer")
    # A second pull finds nothing more to import.
    assert "PV-NEW" not in pull().split("Solo presso il fornitore")[1].split("Diversi")[0]


def test_campaigns_in_step_are_counted(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        shop = make_shop()
    shop.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        make_campaign(shop)
    output = pull("--dry-run")
    assert "Campagne allineate: 1" in output
    assert "Negozi allineati: 1" in output


def test_an_unknown_provider_is_a_clear_error():
    with pytest.raises(CommandError, match="Fornitore sconosciuto"):
        call_command("pull", "nessuno")


def test_a_provider_failure_is_a_clear_error(knobs):
    knobs("volantinopiu", forced_status=401)
    with pytest.raises(CommandError, match="Impossibile leggere"):
        pull()


def test_the_admin_pull_runs_as_a_job_with_a_live_page(admin_client, diverged, deliver):
    assert (
        "Confronta soltanto" in admin_client.get(reverse("admin:campaigns_pull")).content.decode()
    )
    with deliver():
        response = admin_client.post(reverse("admin:campaigns_pull"), {"mode": "compare"})
    job_page = admin_client.get(response["Location"]).content.decode()
    assert 'id="job-bar"' in job_page and "PV-NEW" in job_page  # the report of the dry run
    assert not Shop.objects.filter(code="PV-NEW").exists()

    with deliver():
        response = admin_client.post(reverse("admin:campaigns_pull"), {"mode": "import"})
    progress = admin_client.get(response["Location"].replace("/change/", "/progress.json")).json()
    assert progress["finished"] and progress["status"] == "done"
    assert Shop.objects.filter(code="PV-NEW").exists()
