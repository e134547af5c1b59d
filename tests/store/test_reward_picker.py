"""The counter gives a reward picked by name from the program's catalogue (loyalty.Reward),
never a raw id typed by the clerk: AMM is sent the reward's rewardId."""

import re

import pytest
from django.test import Client
from django.utils import translation

from loyalty.models import PointMovement, Reward
from sandbox.models import AmmRecord, AmmReward
from tests.campaigns.factories import make_shop
from tests.loyalty.factories import make_card, pulled_program

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(deliver):
    with deliver():
        shop = make_shop(code="PV-MINE")
    pulled_program()
    return shop


@pytest.fixture
def manager(shop, store_manager_client) -> Client:
    return store_manager_client("mario", "PV-MINE")


@pytest.fixture
def card(shop, deliver):
    with deliver():
        return make_card(shop=shop, starting_points=20)


@pytest.fixture
def catalogue(card):
    """Marketing's catalogue for the card's program, entered so that no local id equals the
    AMM id it stands for (a form sending the local id would give the wrong reward)."""
    bag, voucher = (AmmReward.objects.get(name=n) for n in ("Borsa spesa", "Buono 5 euro"))
    rewards = {
        "bag": Reward.objects.create(
            program=card.program, name="Borsa della spesa", points=10, remote_id=bag.pk
        ),
        "voucher": Reward.objects.create(
            program=card.program, name="Buono da 5 euro", points=5, remote_id=voucher.pk
        ),
        "retired": Reward.objects.create(
            program=card.program, name="Ombrello", points=30, remote_id=999, active=False
        ),
        "other_program": Reward.objects.create(
            program=pulled_program("Carta Vetrina Premium"),
            name="Buono 10 euro",
            points=50,
            remote_id=AmmReward.objects.get(name="Buono 10 euro").pk,
        ),
    }
    assert rewards["bag"].pk != bag.pk and rewards["voucher"].pk != voucher.pk
    return rewards


def _it(text: str) -> str:
    """A message as an Italian user reads it (new messages: Italian once the catalogue has them)."""
    with translation.override("it"):
        return translation.gettext(text)


def _options(page: str) -> list[str]:
    select = re.search(r'<select name="reward"[^>]*>(.*?)</select>', page, re.S)
    assert select, "the card page has no reward picker"
    return re.findall(r"<option[^>]*>([^<]*)</option>", select.group(1))


def test_the_card_page_offers_the_programs_active_rewards_by_name(manager, card, catalogue):
    page = manager.get(f"/store/cards/{card.pk}/").content.decode()
    points = _it("%(name)s (%(points)d points)")
    assert _options(page) == [
        _it("Choose a reward"),
        points % {"name": "Buono da 5 euro", "points": 5},
        points % {"name": "Borsa della spesa", "points": 10},
    ]
    assert "Id premio" not in page and 'name="reward_id"' not in page


def test_the_picked_reward_reaches_amm_as_its_reward_id(manager, card, catalogue, deliver):
    with deliver():
        response = manager.post(
            f"/store/cards/{card.pk}/reward/", {"reward": catalogue["bag"].pk}, follow=True
        )
    assert "Premio assegnato" in response.content.decode()
    movement = PointMovement.objects.get(card=card, action="REWARD")
    assert movement.reward_id == catalogue["bag"].remote_id
    # What AMM recorded: the reward its console knows as "Borsa spesa", 10 points deducted.
    record = AmmRecord.objects.get(action="REWARD")
    assert (record.reward_id, record.points) == (AmmReward.objects.get(name="Borsa spesa").pk, -10)
    card.refresh_from_db()
    assert card.points == 10


@pytest.mark.parametrize("which", ["retired", "other_program"])
def test_a_reward_not_on_offer_is_refused_in_italian(manager, card, catalogue, which):
    response = manager.post(f"/store/cards/{card.pk}/reward/", {"reward": catalogue[which].pk})
    assert response.status_code == 400
    assert "Scegli un&#x27;opzione valida" in response.content.decode()
    assert not PointMovement.objects.filter(action="REWARD").exists()
    assert not AmmRecord.objects.filter(action="REWARD").exists()


def test_a_program_without_rewards_says_so_instead_of_asking_for_an_id(manager, card):
    page = manager.get(f"/store/cards/{card.pk}/").content.decode()
    assert 'id="no-rewards"' in page
    assert 'name="reward"' not in page and 'name="reward_id"' not in page


def test_the_reset_checkbox_label_has_no_colon(manager, card):
    page = manager.get(f"/store/cards/{card.pk}/").content.decode()
    label = re.search(r'<label for="id_confirm"[^>]*>([^<]*)</label>', page)
    assert label, "the reset form has no label for its checkbox"
    assert label.group(1) == "Sì, azzera i punti di questa carta"


def test_the_enrol_form_checkbox_labels_have_no_colon(manager):
    page = manager.get("/store/enrol/").content.decode()
    labels = re.findall(r'<label for="id_(?:send_sms|consent_\w+)"[^>]*>([^<]*)</label>', page)
    assert len(labels) == 4
    assert not [text for text in labels if text.rstrip().endswith(":")]
