"""Fill an empty embedded-default database with demo data and print an admin login.

Examples:
    python manage.py demo_data                 # demo shops (once) + a fresh admin password
    python manage.py demo_data --no-password   # only the data
"""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from PIL import Image, ImageDraw

from callcenter.models import CallCampaign, CallRecord
from callcenter.services import (
    call_records_from_inactive_cards,
    call_records_save,
    call_upload_create,
)
from campaigns.models import Campaign, Media, Shop
from campaigns.services import campaign_batch_create, campaign_create, media_create, shop_create
from core.pull import pull_run
from core.roles import ROLES, STORE_MANAGER
from demo.history import demo_history_seed
from demo.logins import demo_api_token, demo_password
from loyalty.audiences import audience_save
from loyalty.consent import consent_set
from loyalty.models import (
    Audience,
    ConsentSource,
    Customer,
    CustomerTag,
    DoNotCall,
    FidelityCard,
    FidelityProgram,
    Reward,
)
from loyalty.services import card_enrol, customer_get_or_create, movement_add
from messaging.care import care_request_create, order_create
from messaging.models import CareRequest, PushSend
from messaging.services import push_send_confirm, push_send_create, push_send_estimate
from sandbox.models import AmmReward
from store.models import FlyerRequest, StoreManager
from store.services import flyer_request_create

# number, name, surname, shop, first receipt, consents given at the counter
DEMO_CUSTOMERS = [
    ("+39 347 123 4501", "Giulia", "Russo", "PV-MI-01", "32.00", ("push_sms", "whatsapp")),
    ("+39 348 765 4302", "Marco", "Ferrari", "PV-MI-01", "18.50", ("push_sms", "calls")),
    ("+39 333 222 1103", "Sara", "Esposito", "PV-RM-01", "55.00", ()),
]
DEMO_STORE_MANAGER = "negozio.milano"

DEMO_SHOPS = [
    {
        "code": "PV-MI-01",
        "address": "Corso Buenos Aires 12",
        "postal_code": "20124",
        "city": "Milano",
        "province": "MI",
        "latitude": "45.478500",
        "longitude": "9.210300",
        "email": "milano.buenosaires@example.com",
        "url": "https://example.com/negozi/milano-buenos-aires",
        "description": "Milano Buenos Aires",
    },
    {
        "code": "PV-RM-01",
        "address": "Via del Corso 210",
        "postal_code": "00186",
        "city": "Roma",
        "province": "RM",
        "latitude": "41.901000",
        "longitude": "12.481000",
        "email": "roma.corso@example.com",
        "description": "Roma Via del Corso",
    },
    {
        "code": "PV-TO-01",
        "address": "Via Roma 55",
        "postal_code": "10123",
        "city": "Torino",
        "province": "TO",
        "latitude": "45.067500",
        "longitude": "7.682000",
        "description": "Torino Centro",
    },
    {
        "code": "PV-BO-01",
        "address": "Via dell'Indipendenza 8",
        "postal_code": "40121",
        "city": "Bologna",
        "province": "BO",
        "description": "Bologna Indipendenza",
    },
    {
        "code": "PV-NA-01",
        "address": "Via Toledo 150",
        "postal_code": "80134",
        "city": "Napoli",
        "province": "NA",
        "description": "Napoli Toledo",
    },
]


class Command(BaseCommand):
    help = "Create demo data (once) and print a login for the admin."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-password", action="store_true", help="Do not create or reset the admin login."
        )

    def handle(self, *args, no_password: bool = False, **options) -> None:
        if not settings.SANDBOX_ENABLED:
            raise CommandError(
                "Demo data goes to the provider sandboxes only: set SANDBOX_ENABLED=true."
            )
        created = self._shops()
        self.stdout.write(
            gettext("Demo shops: %(new)d created, %(all)d in all.")
            % {"new": created, "all": Shop.objects.count()}
        )
        if not Campaign.objects.exists():
            self._campaigns()
        self.stdout.write(
            gettext("Demo campaigns: %(campaigns)d, images: %(images)d.")
            % {"campaigns": Campaign.objects.count(), "images": Media.objects.count()}
        )
        if not FidelityProgram.objects.exists():
            pull_run(provider="amm", dry_run=False)  # AMM's programs, as a real pull would
        if not Reward.objects.exists():
            self._rewards()
        self.stdout.write(gettext("Demo rewards: %(n)d.") % {"n": Reward.objects.count()})
        if not FidelityCard.objects.exists():
            self._cards()
        self.stdout.write(
            gettext("Demo fidelity cards: %(n)d.") % {"n": FidelityCard.objects.count()}
        )
        if not Audience.objects.exists():
            self._audiences()
        self.stdout.write(gettext("Demo audiences: %(n)d.") % {"n": Audience.objects.count()})
        if not PushSend.objects.exists():
            self._pushes()
        self.stdout.write(gettext("Demo push sends: %(n)d.") % {"n": PushSend.objects.count()})
        if not CareRequest.objects.exists():
            self._care()
        self.stdout.write(
            gettext("Demo care requests: %(n)d.") % {"n": CareRequest.objects.count()}
        )
        if not CallCampaign.objects.exists():
            self._callcenter()
        self.stdout.write(
            gettext("Demo call-center leads: %(n)d.") % {"n": CallRecord.objects.count()}
        )
        if not FlyerRequest.objects.exists():
            self._flyer_requests()
        self.stdout.write(
            gettext("Demo flyer requests: %(n)d.") % {"n": FlyerRequest.objects.count()}
        )
        moved = demo_history_seed()  # 60 days for the dashboard's charts (demo/history.py)
        self.stdout.write(gettext("Demo history: %(n)d point movements.") % {"n": moved})
        if not no_password:
            self._login()

    @transaction.atomic
    def _rewards(self) -> None:
        """The catalogue marketing keeps in the admin (AMM's API does not list its rewards):
        the sandbox AMM's own, each with its rewardId."""
        programs = {p.remote_id: p for p in FidelityProgram.objects.all()}
        for reward in AmmReward.objects.order_by("pk"):
            program = programs.get(str(reward.program_id))
            if program is not None:
                Reward.objects.get_or_create(
                    program=program,
                    remote_id=reward.pk,
                    defaults={"name": reward.name, "points": reward.points},
                )

    @transaction.atomic
    def _shops(self) -> int:
        created = 0
        for fields in DEMO_SHOPS:
            if not Shop.objects.filter(code=fields["code"]).exists():
                shop_create(**fields)
                created += 1
        return created

    @transaction.atomic
    def _campaigns(self) -> None:
        """A flyer image, a chain-wide flyer for every shop, a WhatsApp template for Milano."""
        flyer = media_create(file=_flyer_image(), name="Volantino di dicembre")
        next_week = (timezone.now() + timedelta(days=7)).replace(
            hour=9, minute=0, second=0, microsecond=0
        )
        campaign_batch_create(
            shops=Shop.objects.filter(active=True),
            kind="flyer",
            date_send=next_week,
            promo_name="Volantino di dicembre",
            media=flyer,
            flyer_link="https://example.com/volantini/dicembre.pdf",
        )
        campaign_create(
            kind="template",
            shop=Shop.objects.get(code="PV-MI-01"),
            date_send=next_week + timedelta(days=2),
            promo_name="Sottocosto Milano",
            media=flyer,
            link="https://example.com/promo/sottocosto-milano",
            template_name="promo_negozio",
        )

    @transaction.atomic
    def _cards(self) -> None:
        program = FidelityProgram.objects.order_by("id").first()
        for msisdn, name, surname, shop_code, receipt, consents in DEMO_CUSTOMERS:
            customer = customer_get_or_create(msisdn=msisdn, name=name, surname=surname)
            for channel in consents:
                consent_set(
                    customer=customer, channel=channel, given=True, source=ConsentSource.STORE
                )
            card = card_enrol(
                program=program, customer=customer, shop=Shop.objects.get(code=shop_code)
            )
            movement_add(card=card, amount=Decimal(receipt), shop=card.shop, note="scontrino demo")

    @transaction.atomic
    def _audiences(self) -> None:
        """Two saved audiences: Milano's active cards, and the VIP customers with points."""
        vip, _ = CustomerTag.objects.get_or_create(name="VIP")
        vip.customers.add(*Customer.objects.filter(msisdn__in=["+393471234501", "+393332221103"]))
        audience_save(
            name="Clienti di Milano con carta attiva",
            rules={"shops": [Shop.objects.get(code="PV-MI-01").pk], "card_active": True},
        )
        audience_save(name="Clienti VIP con almeno 5 punti", rules={"tag": vip.pk, "points_min": 5})

    def _pushes(self) -> None:
        """One push already sent to every card holder who agreed, one draft for the wizard, one
        scheduled, and one to a saved audience waiting for confirmation."""
        sent = push_send_create(
            name="Benvenuto nel programma fedeltà",
            text="Grazie per esserti iscritto: 10% di sconto sul prossimo acquisto!",
            only_push=False,
            sms_text="Grazie per esserti iscritto a Carta Vetrina: 10% di sconto sul prossimo acquisto.",
            sms_from="Vetrina",
            programs=FidelityProgram.objects.all(),
        )
        push_send_estimate(send=sent)
        push_send_confirm(send=sent)
        push_send_create(
            name="Volantino di dicembre – Milano",
            text="Il nuovo volantino è online: sottocosto fino a domenica!",
            shops=Shop.objects.filter(code="PV-MI-01"),
            recipients=["+39 348 000 0002"],
        )
        # One scheduled for the day after tomorrow at 10:00 (SMSHosting's `date`; moved to the
        # send window's next opening if that falls on a Sunday or a holiday).
        later = timezone.localtime() + timedelta(days=2)
        scheduled = push_send_create(
            name="Promo del weekend (programmata)",
            text="Da domani sconti del 20% su tutta la spesa!",
            programs=FidelityProgram.objects.all(),
            send_at=later.replace(hour=10, minute=0, second=0, microsecond=0),
        )
        push_send_estimate(send=scheduled)
        push_send_confirm(send=scheduled)
        # One to a saved audience, estimated: its page shows who is in it and who may get it.
        vip = push_send_create(
            name="Anteprima saldi per i clienti VIP",
            text="Per te, in anteprima: i saldi iniziano domani!",
            only_push=False,
            sms_text="Vetrina: per te, in anteprima, i saldi iniziano domani!",
            sms_from="Vetrina",
            audience=Audience.objects.get(name="Clienti VIP con almeno 5 punti"),
        )
        push_send_estimate(send=vip)

    @transaction.atomic
    def _care(self) -> None:
        """A WhatsApp care request and an e-commerce order for Giulia."""
        giulia = Customer.objects.get(msisdn="+393471234501")
        care_request_create(
            customer=giulia,
            type="loyalty",
            subject="Punti dello scontrino di ieri non caricati",
            message="Ho fatto la spesa ieri a Milano ma non vedo i punti.",
        )
        order_create(
            number="WEB-2026-0001",
            customer=giulia,
            shop=Shop.objects.get(code="PV-MI-01"),
            lines=[
                {
                    "sku": "CAF-250",
                    "name": "Caffè macinato 250 g",
                    "quantity": 2,
                    "price": Decimal("3.49"),
                },
                {
                    "sku": "OLI-1L",
                    "name": "Olio extravergine 1 l",
                    "quantity": 1,
                    "price": Decimal("8.90"),
                },
            ],
        )

    def _callcenter(self) -> None:
        """A Wolkvox campaign with outside leads and Vetrina's own, uploaded once."""
        campaign = CallCampaign.objects.create(
            remote_campaign_id="1001", name="Riattivazione clienti"
        )
        rows = [
            (
                2,
                {
                    "customer_name": "Paolo",
                    "customer_last_name": "Conti",
                    "tel1": "+39 347 555 0101",
                    "city": "Milano",
                },
            ),
            (
                3,
                {
                    "customer_name": "Elisa",
                    "customer_last_name": "Galli",
                    "tel1": "+39 347 555 0102",
                    "city": "Roma",
                },
            ),
            (
                4,
                {
                    "customer_name": "Luca",
                    "customer_last_name": "Moretti",
                    "tel1": "+39 347 555 0103",
                    "city": "Torino",
                },
            ),
        ]
        call_records_save(campaign=campaign, rows=rows, source="import")
        DoNotCall.objects.get_or_create(msisdn="393475550103")  # Luca objected: never called
        for shop in Shop.objects.filter(code__in=["PV-MI-01", "PV-RM-01"]):
            call_records_from_inactive_cards(campaign=campaign, shop=shop, days=0)
        call_upload_create(campaign=campaign)

    def _store_manager_user(self):
        """Milano's store manager (store managers use /store/, never the admin)."""
        user, _ = get_user_model().objects.get_or_create(username=DEMO_STORE_MANAGER)
        user.is_staff = user.is_superuser = False
        user.save()
        user.groups.add(Group.objects.get(name=STORE_MANAGER.group))
        manager, _ = StoreManager.objects.get_or_create(user=user)
        manager.shops.add(Shop.objects.get(code="PV-MI-01"))
        return user

    def _store_manager(self) -> str:
        return demo_password(self._store_manager_user(), length=9)

    @transaction.atomic
    def _flyer_requests(self) -> None:
        """Milano asked marketing for a weekend flyer: it waits for approval in the admin."""
        flyer_request_create(
            user=self._store_manager_user(),
            shop=Shop.objects.get(code="PV-MI-01"),
            promo_name="Weekend del panettone – Milano",
            date_send=(timezone.now() + timedelta(days=10)).replace(
                hour=10, minute=0, second=0, microsecond=0
            ),
            image=_flyer_image(),
            flyer_link="https://example.com/volantini/panettone-milano.pdf",
            note="Vorremmo spingere i panettoni artigianali nel fine settimana.",
        )

    def _role_user(self, username: str, role: str) -> str:
        """A user with one of the roles (core.roles) and a fresh password."""
        spec = ROLES[role]
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.is_staff, user.is_superuser = spec.staff, False
        password = demo_password(user)
        user.groups.set([Group.objects.get(name=spec.group)])
        return password

    def _login(self) -> None:
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(
            username="admin", defaults={"email": "admin@example.com"}
        )
        user.is_staff = user.is_superuser = True
        password = demo_password(user)
        self.stdout.write(
            self.style.SUCCESS(
                gettext("Admin login — user: %(user)s  password: %(password)s")
                % {"user": "admin", "password": password}
            )
        )
        counter = self._store_manager()
        self.stdout.write(
            self.style.SUCCESS(
                gettext("Counter login (/store/, Milano) — user: %(user)s  password: %(password)s")
                % {"user": DEMO_STORE_MANAGER, "password": counter}
            )
        )
        marketing = self._role_user("marketing", "marketing")
        auditor = self._role_user("revisore", "auditor")
        self._role_user("gestionale", "api")
        # The same logins on every start (demo/logins.py keeps them under var/).
        secret = demo_api_token(get_user_model().objects.get(username="gestionale"))
        self.stdout.write(
            gettext("Marketing login (admin) — user: %(user)s  password: %(password)s")
            % {"user": "marketing", "password": marketing}
        )
        self.stdout.write(
            gettext("Auditor login (admin, read-only) — user: %(user)s  password: %(password)s")
            % {"user": "revisore", "password": auditor}
        )
        self.stdout.write(
            gettext("API script token (user %(user)s): %(token)s")
            % {"user": "gestionale", "token": secret}
        )


def _flyer_image() -> SimpleUploadedFile:
    image = Image.new("RGB", (800, 1100), (196, 30, 58))
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, 760, 1060), outline=(255, 255, 255), width=8)
    draw.text((80, 120), "VOLANTINO DI DICEMBRE", fill=(255, 255, 255))
    draw.text((80, 180), "Sottocosto in tutti i negozi", fill=(255, 230, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return SimpleUploadedFile("volantino-dicembre.png", buffer.getvalue(), content_type="image/png")
