import re
from io import StringIO

import pytest
from django.core.management import call_command

from campaigns.models import Campaign, CampaignBatch, Media, Shop
from core.models import SyncStatus
from demo.history import CARD_PREFIX
from loyalty.models import FidelityCard
from messaging.models import PushSend, SendStatus

pytestmark = pytest.mark.django_db


def test_demo_data_fills_every_app_once_syncs_it_and_prints_a_login(
    django_capture_on_commit_callbacks,
):
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo_data", stdout=out)
    call_command("demo_data", "--no-password", stdout=StringIO())  # idempotent

    printed = out.getvalue()
    assert re.search(r"(user|utente): admin  password: \S+", printed)
    assert Shop.objects.count() == 5 and Media.objects.count() == 1
    assert CampaignBatch.objects.get(promo_name="Volantino di dicembre").campaigns.count() == 5
    # and the history's flyer of three weeks ago, one per shop (demo/history.py)
    assert CampaignBatch.objects.get(promo_name="Volantino del weekend").campaigns.count() == 5
    assert Campaign.objects.count() == 6 + 5
    assert set(Campaign.objects.values_list("sync_status", flat=True)) == {SyncStatus.SYNCED}
    assert re.search(r"/store/, Milano\) — (user|utente): negozio\.milano  password: ", printed)
    assert re.search(r"— (user|utente): revisore  password: ", printed)
    assert re.search(r"\((user|utente) gestionale\): vtr_", printed)
    from store.models import FlyerRequest

    flyer_request = FlyerRequest.objects.get()
    assert flyer_request.status == "pending" and flyer_request.shop.code == "PV-MI-01"
    sent, draft = PushSend.objects.order_by("id")[:2]  # then the history (demo/history.py)
    assert (sent.status, draft.status) == (SendStatus.SENT, SendStatus.DRAFT)
    assert sent.messages.count() == 2  # Sara gave no push consent
    assert sent.excluded == {"no_consent": 1}
    from messaging.models import CareRequest, Order

    assert CareRequest.objects.get().sync_status == SyncStatus.SYNCED
    assert Order.objects.get().sync_status == SyncStatus.SYNCED
    from callcenter.models import CallUpload

    upload = CallUpload.objects.order_by("id").first()
    # 3 outside leads + 3 card holders; Luca is on the do-not-call list, Marco withdrew nothing
    assert (upload.status, upload.excluded) == ("done", {"do_not_call": 1})
    assert upload.records_confirmed == upload.records_total == 5
    cards = FidelityCard.objects.exclude(code__startswith=CARD_PREFIX)
    assert len(cards) == 3
    assert {(c.points, c.remote_points, c.sync_status) for c in cards} == {
        (6, 6, SyncStatus.SYNCED),
        (3, 3, SyncStatus.SYNCED),
        (11, 11, SyncStatus.SYNCED),
    }


def test_the_demo_logins_are_the_same_on_every_start_until_someone_changes_one(
    django_capture_on_commit_callbacks, settings, tmp_path
):
    """A newcomer who wrote the printed logins down can still use them after a restart; a
    password changed meanwhile is not shown (it no longer opens the account): a new one is."""
    from django.contrib.auth import get_user_model

    from loyalty.models import Reward

    settings.VAR_DIR = tmp_path

    def start() -> dict[str, str]:
        out = StringIO()
        with django_capture_on_commit_callbacks(execute=True):
            call_command("demo_data", stdout=out)
        printed = out.getvalue()
        return dict(re.findall(r"(?:user|utente): (\S+)\s+password: (\S+)", printed)) | {
            "token": re.search(r"\((?:user|utente) gestionale\): (\S+)", printed)[1]
        }

    first, second = start(), start()

    assert first == second and len(first) == 5
    assert oct((tmp_path / "demo-logins.json").stat().st_mode)[-3:] == "600"
    admin = get_user_model().objects.get(username="admin")
    assert admin.check_password(first["admin"])
    admin.set_password("changed-by-hand-2026!")
    admin.save()
    third = start()
    assert third["admin"] != first["admin"] and third["marketing"] == first["marketing"]
    assert get_user_model().objects.get(username="admin").check_password(third["admin"])
    # The demo rewards, for the counter's picker: the sandbox AMM's, with their rewardId.
    assert Reward.objects.count() >= 1
    assert all(r.remote_id for r in Reward.objects.all())


def test_demo_data_seeds_sixty_days_of_history_for_the_dashboard(
    django_capture_on_commit_callbacks,
):
    from datetime import timedelta

    from django.utils import timezone

    from callcenter.models import CallUpload
    from loyalty.dashboard import points_per_day, points_per_shop
    from loyalty.models import PointMovement
    from messaging.dashboard import pushes_per_day
    from sandbox.models import AmmCard

    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo_data", "--no-password", stdout=StringIO())

    history = PointMovement.objects.filter(card__code__startswith=CARD_PREFIX)
    oldest = timezone.localdate() - timedelta(days=59)
    assert timezone.localtime(history.order_by("date").first().date).date() >= oldest
    assert history.filter(date__lt=timezone.now() - timedelta(days=31)).exists()
    assert not history.exclude(sync_status=SyncStatus.SYNCED).exists()
    # The sandbox AMM holds the same cards with the same balances.
    for card in FidelityCard.objects.filter(code__startswith=CARD_PREFIX):
        assert AmmCard.objects.get(code=card.code).points == card.points == card.remote_points
    issued, _redeemed = (values for _label, values in points_per_day().lines)
    assert sum(1 for v in issued if v) >= 25  # most of the 30 days have points
    assert len(points_per_shop().bars) == 5
    sent, delivered = (values for _label, values in pushes_per_day().lines)
    assert sum(1 for v in sent if v) >= 6 and 0 < sum(delivered) < sum(sent)
    assert CallUpload.objects.count() >= 8
    # Once only.
    before = PointMovement.objects.count()
    call_command("demo_data", "--no-password", stdout=StringIO())
    assert PointMovement.objects.count() == before
