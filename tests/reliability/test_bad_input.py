"""The bad-input corpus: invalid and foreign phone numbers, uploads that are not images or are too
big, wrong types, missing fields, very long strings, emoji and non-GSM text in SMS, HTML/script
and SQL-looking strings, spreadsheet formulas — through the API, the admin, the counter, the
lead and do-not-call imports and Aisac's inbound endpoints.

Every bad input gets a clear 4xx or form error, in Italian by default (the same request in
English must answer differently: no message is left untranslated), and writes nothing: the
counts of every model it could touch, and of the outbox, stay as they were."""

from __future__ import annotations

import functools
import io
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from callcenter.models import CallCampaign, CallRecord
from campaigns.models import Campaign, Media, Shop
from core.models import OutboxEntry
from loyalty.models import ConsentEvent, Customer, DoNotCall, FidelityCard, PointMovement
from messaging.models import CareRequest, Order, PushSend
from store.models import FlyerRequest
from tests.campaigns.factories import make_shop, shop_fields
from tests.campaigns.images import fake_image_upload, image_upload
from tests.campaigns.images import image_bomb_upload as _image_bomb_upload
from tests.loyalty.factories import make_card, pulled_program

pytestmark = [pytest.mark.reliability, pytest.mark.django_db]

MODELS = (
    Shop,
    Media,
    Campaign,
    Customer,
    ConsentEvent,
    FidelityCard,
    PointMovement,
    PushSend,
    CareRequest,
    Order,
    CallRecord,
    DoNotCall,
    FlyerRequest,
    OutboxEntry,
)
LONG = "x" * 10_000
SCRIPT = "<script>alert('xss')</script>"
SQL = "Robert'); DROP TABLE loyalty_customer;--"
EMOJI = "Offerta 🎉🔥"  # not GSM 03.38: 7BIT cannot carry it
EMOJI_LONG = "🎉" * 200  # 200 characters, 400 UTF-16 units: 6 UCS2 SMS, one more than allowed


@functools.cache
def _bomb_bytes() -> bytes:
    return _image_bomb_upload().read()


def image_bomb_upload():
    """A PNG of a few kilobytes that decodes to 400 million pixels (made once: it is slow)."""
    return SimpleUploadedFile("bomba.png", _bomb_bytes(), content_type="image/png")


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


@pytest.fixture
def nothing_written():
    """Asserts, at the end of the test, that no row was added or removed anywhere."""
    before = counts()
    yield
    assert counts() == before


def english(client: Client) -> Client:
    client.cookies["django_language"] = "en"
    return client


def italian(client: Client) -> Client:
    client.cookies.pop("django_language", None)
    return client


def leaves(value, path=()):
    """Every message of an error body, with where it sits."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    elif isinstance(value, str):
        yield path, value


def assert_translated(italian_messages: dict, english_messages: dict) -> None:
    """Each message differs between Italian and English: none is left English-only."""
    same = {
        path: text
        for path, text in italian_messages.items()
        if english_messages.get(path) == text
        and not (isinstance(path, tuple) and path[-1:] == ("code",))
        and re.search(r"[A-Za-z]{3}", text)
    }
    assert not same, f"not translated: {same}"


# --- the world the corpus is thrown at -------------------------------------------------------
@pytest.fixture
def world():
    """Nothing is delivered: the corpus is about what reaches the outbox, not the providers."""
    shop = make_shop(code="PV-MINE")
    closed = make_shop(code="PV-CLOSED", active=False)
    card = make_card(shop=shop, msisdn="+39 347 111 2233", code="CARTA000001")
    from loyalty.models import Reward

    Reward.objects.create(program=card.program, name="Buono 5 euro", points=5, remote_id=1)
    return {
        "shop": shop.pk,
        "closed": closed.pk,
        "card": card.pk,
        "card_code": card.code,
        "program": pulled_program().pk,
        "call_campaign": CallCampaign.objects.create(remote_campaign_id="42", name="Riatt.").pk,
    }


def fill(value, world):
    """Placeholders like "{program}" in a case become the world's ids."""
    if isinstance(value, dict):
        return {k: fill(v, world) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, world) for v in value]
    if isinstance(value, str) and re.fullmatch(r"\{\w+\}", value):
        return world[value[1:-1]]
    return value


# --- the API -----------------------------------------------------------------------------------
CUSTOMERS = "/api/v1/customers/"
CARDS = "/api/v1/fidelity-cards/"
MOVEMENTS = "/api/v1/fidelity-cards/{card}/movements/"
PUSH = "/api/v1/push-sends/"
SHOPS = "/api/v1/shops/"
LEADS = "/api/v1/call-campaigns/{call_campaign}/records/"
PROGRAM = "{program}"

API_CORPUS = [
    # customers: phone numbers
    ("letters in the number", CUSTOMERS, {"msisdn": "12ab"}, "msisdn"),
    ("empty number", CUSTOMERS, {"msisdn": ""}, "msisdn"),
    ("number cut short", CUSTOMERS, {"msisdn": "+39 347"}, "msisdn"),
    ("number too long", CUSTOMERS, {"msisdn": "+39 347 123 456 789 012"}, "msisdn"),
    ("Italian landline", CUSTOMERS, {"msisdn": "02 1234 5678"}, "msisdn"),
    ("British landline", CUSTOMERS, {"msisdn": "+44 20 7946 0958"}, "msisdn"),
    ("unknown country code", CUSTOMERS, {"msisdn": "+999 1234 5678"}, "msisdn"),
    ("10,000-character number", CUSTOMERS, {"msisdn": LONG}, "msisdn"),
    ("emoji in the number", CUSTOMERS, {"msisdn": "347 123 4567 📱"}, "msisdn"),
    ("letters read as digits", CUSTOMERS, {"msisdn": "347 123 ABCD"}, "msisdn"),
    ("an extension", CUSTOMERS, {"msisdn": "347 123 4567 ext. 12"}, "msisdn"),
    ("script as number", CUSTOMERS, {"msisdn": SCRIPT}, "msisdn"),
    ("SQL as number", CUSTOMERS, {"msisdn": SQL}, "msisdn"),
    ("number as a list", CUSTOMERS, {"msisdn": ["3471234567"]}, "msisdn"),
    ("number null", CUSTOMERS, {"msisdn": None}, "msisdn"),
    ("no number", CUSTOMERS, {"name": "Anna"}, "msisdn"),
    # customers: other fields
    ("10,000-character name", CUSTOMERS, {"msisdn": "3471234567", "name": LONG}, "name"),
    ("bad email", CUSTOMERS, {"msisdn": "3471234567", "email": "anna@"}, "email"),
    ("script email", CUSTOMERS, {"msisdn": "3471234567", "email": SCRIPT}, "email"),
    ("consent as a word", CUSTOMERS, {"msisdn": "3471234567", "consent_calls": "forse"}, None),
    ("consent as a number", CUSTOMERS, {"msisdn": "3471234567", "consent_calls": 7}, None),
    # cards
    ("card for a bad number", CARDS, {"program": PROGRAM, "msisdn": "12ab"}, "msisdn"),
    ("card for a landline", CARDS, {"program": PROGRAM, "msisdn": "06 1234 5678"}, "msisdn"),
    ("card without holder", CARDS, {"program": PROGRAM}, "msisdn"),
    ("card without program", CARDS, {"msisdn": "3471234567"}, "program"),
    ("program as text", CARDS, {"program": "carta", "msisdn": "3471234567"}, "program"),
    ("unknown program", CARDS, {"program": 99999, "msisdn": "3471234567"}, "program"),
    (
        "card code with spaces",
        CARDS,
        {"program": PROGRAM, "msisdn": "3471234567", "code": "AB 12 CD"},
        "code",
    ),
    (
        "card code taken",
        CARDS,
        {"program": PROGRAM, "msisdn": "3471234567", "code": "{card_code}"},
        None,  # program and code together: a non-field error
    ),
    (
        "10,000-character card code",
        CARDS,
        {"program": PROGRAM, "msisdn": "3471234567", "code": LONG},
        "code",
    ),
    (
        "starting points as text",
        CARDS,
        {"program": PROGRAM, "msisdn": "3471234567", "starting_points": "tanti"},
        "starting_points",
    ),
    (
        "starting amount not a number",
        CARDS,
        {"program": PROGRAM, "msisdn": "3471234567", "starting_amount": "NaN"},
        "starting_amount",
    ),
    (
        "card at a closed shop (new customer)",
        CARDS,
        {"program": PROGRAM, "msisdn": "3479876543", "shop": "{closed}"},
        "shop",
    ),
    # movements
    ("unknown action", MOVEMENTS, {"action": "REGALO"}, "action"),
    ("add without points", MOVEMENTS, {"action": "ADD"}, "points"),
    ("zero points", MOVEMENTS, {"action": "ADD", "points": 0}, "points"),
    ("negative points", MOVEMENTS, {"action": "ADD", "points": -50}, "points"),
    ("points as text", MOVEMENTS, {"action": "ADD", "points": "dieci"}, "points"),
    ("points as a float", MOVEMENTS, {"action": "ADD", "points": 1.5}, "points"),
    ("negative amount", MOVEMENTS, {"action": "ADD", "amount": "-20.00"}, "amount"),
    ("huge amount", MOVEMENTS, {"action": "ADD", "amount": "1e30"}, "amount"),
    ("reward without id", MOVEMENTS, {"action": "REWARD"}, "reward_id"),
    ("reward id as text", MOVEMENTS, {"action": "REWARD", "reward_id": "x"}, "reward_id"),
    ("10,000-character note", MOVEMENTS, {"action": "ADD", "points": 1, "note": LONG}, "note"),
    # push sends: the SMS text's encoding and length (smshosting-push.txt)
    ("neither text nor image", PUSH, {"name": "Vuoto"}, "text"),
    ("SMS fallback without SMS text", PUSH, {"text": "Ciao", "only_push": False}, "sms_text"),
    (
        "emoji in a 7BIT SMS",
        PUSH,
        {"text": "Ciao", "only_push": False, "sms_text": EMOJI, "sms_encoding": "7BIT"},
        "sms_text",
    ),
    (
        "SMS longer than 5 parts (7BIT)",
        PUSH,
        {"text": "Ciao", "only_push": False, "sms_text": "a" * 766},
        "sms_text",
    ),
    (
        "€ counts twice in 7BIT",
        PUSH,
        {"text": "Ciao", "only_push": False, "sms_text": "€" * 383},
        "sms_text",
    ),
    (
        "emoji count twice in UCS2",
        PUSH,
        {"text": "Ciao", "only_push": False, "sms_text": EMOJI_LONG, "sms_encoding": "UCS2"},
        "sms_text",
    ),
    (
        "emoji count twice in AUTO",
        PUSH,
        {"text": "Ciao", "only_push": False, "sms_text": EMOJI_LONG, "sms_encoding": "AUTO"},
        "sms_text",
    ),
    (
        "10,000-character SMS",
        PUSH,
        {"text": "Ciao", "only_push": False, "sms_text": LONG},
        "sms_text",
    ),
    ("unknown encoding", PUSH, {"text": "Ciao", "sms_encoding": "UTF8"}, "sms_encoding"),
    ("sender too long", PUSH, {"text": "Ciao", "sms_from": "SUPERMERCATO-VETRINA"}, "sms_from"),
    ("sender with emoji", PUSH, {"text": "Ciao", "sms_from": "Vetrina🎉"}, "sms_from"),
    ("date in the past", PUSH, {"text": "Ciao", "send_at": "2001-01-01T10:00:00Z"}, "send_at"),
    ("date as a word", PUSH, {"text": "Ciao", "send_at": "domani"}, "send_at"),
    ("numbers as a string", PUSH, {"text": "Ciao", "recipients": "3471234567"}, "recipients"),
    ("10,000-character number", PUSH, {"text": "Ciao", "recipients": [LONG]}, "recipients"),
    ("group as a word", PUSH, {"text": "Ciao", "groups": ["clienti"]}, "groups"),
    ("group zero", PUSH, {"text": "Ciao", "groups": [0]}, "groups"),
    ("10,000-character name", PUSH, {"text": "Ciao", "name": LONG}, "name"),
    ("unknown shop audience", PUSH, {"text": "Ciao", "audience_shops": [99999]}, "audience_shops"),
    # shops
    ("shop without code", SHOPS, {**shop_fields(), "code": ""}, "code"),
    ("latitude as text", SHOPS, {**shop_fields(), "latitude": "nord"}, "latitude"),
    ("latitude off the globe", SHOPS, {**shop_fields(), "latitude": "123.0"}, "latitude"),
    ("four-digit CAP", SHOPS, {**shop_fields(), "postal_code": "2012"}, "postal_code"),
    ("province in full", SHOPS, {**shop_fields(), "province": "Milano"}, "province"),
    ("script as province", SHOPS, {**shop_fields(), "province": SCRIPT}, "province"),
    ("10,000-character address", SHOPS, {**shop_fields(), "address": LONG}, "address"),
    ("10,000-character description", SHOPS, {**shop_fields(), "description": LONG}, "description"),
    ("javascript URL", SHOPS, {**shop_fields(), "url": "javascript:alert(1)"}, "url"),
    ("active as a word", SHOPS, {**shop_fields(), "active": "sì sì"}, "active"),
    # leads
    ("lead with a bad phone", LEADS, {"tel1": "12ab"}, None),
    ("lead with a landline abroad", LEADS, {"tel1": "+44 20 7946 0958"}, None),
    ("lead without phone", LEADS, {"customer_name": "Anna"}, None),
    ("lead with a past recall", LEADS, {"tel1": "3471234567", "recall_date": "2001-01-01"}, None),
    (
        "lead with a 10,000-character name",
        LEADS,
        {"tel1": "3471234567", "customer_name": LONG},
        None,
    ),
    ("lead with an unknown column", LEADS, {"tel1": "3471234567", "punti": 10}, None),
    ("leads that are not objects", LEADS, ["3471234567"], None),
    ("one bad lead in a list", LEADS, [{"tel1": "3471234567"}, {"tel1": "12ab"}], None),
]


def api_post(api, path, body, **extra):
    return api.post(path, json.dumps(body), content_type="application/json", **extra)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [pytest.param(path, body, field, id=name) for name, path, body, field in API_CORPUS],
)
def test_the_api_refuses_bad_input_in_italian_and_writes_nothing(api, world, path, body, field):
    path, body = path.format(**world), fill(body, world)
    before = counts()

    response = api_post(italian(api), path, body)
    assert counts() == before

    assert response.status_code == 400, response.content[:500]
    error = response.json()["error"]
    assert error["code"] in ("invalid", "invalid_rows") and error["message"]
    if field:
        assert field in error["fields"], error
    in_english = api_post(english(api), path, body).json()["error"]
    assert_translated(dict(leaves(error)), dict(leaves(in_english)))
    assert counts() == before


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("{{", id="not JSON"),
        pytest.param("[]", id="a list"),
        pytest.param('"3471234567"', id="a bare string"),
        pytest.param("null", id="null"),
        pytest.param(b"\xff\xfe\x00", id="not UTF-8"),
    ],
)
@pytest.mark.parametrize("path", [CUSTOMERS, CARDS, PUSH, SHOPS])
def test_the_api_refuses_bodies_that_are_not_an_object(api, nothing_written, path, body):
    response = api.post(path, body, content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()["error"]) >= {"code", "message"}


@pytest.mark.parametrize(
    ("upload", "code"),
    [
        pytest.param(fake_image_upload, "not_an_image", id="text named .png"),
        pytest.param(image_bomb_upload, "too_many_pixels", id="image bomb"),
        pytest.param(
            lambda: image_upload("big.jpg", "JPEG", size=(400, 300)), "too_large", id="too big"
        ),
        pytest.param(lambda: image_upload("anim.gif", "GIF"), "bad_format", id="GIF"),
        pytest.param(
            lambda: SimpleUploadedFile("vuoto.png", b"", content_type="image/png"), None, id="empty"
        ),
    ],
)
def test_the_api_refuses_bad_image_uploads(api, settings, nothing_written, upload, code):
    settings.MEDIA_UPLOAD_MAX_BYTES = 2_000
    response = api.post("/api/v1/media/", {"file": upload(), "name": "Volantino"})
    assert response.status_code == 400
    assert "file" in response.json()["error"]["fields"]
    media = api.get("/api/v1/media/").json()
    assert media["count"] == 0


@pytest.mark.parametrize(
    "upload",
    [
        pytest.param(fake_image_upload, id="text named .png"),
        pytest.param(image_bomb_upload, id="image bomb"),
        pytest.param(lambda: image_upload("big.jpg", "JPEG", size=(400, 300)), id="too big"),
    ],
)
def test_a_push_refuses_bad_image_uploads(api, settings, nothing_written, upload):
    settings.MEDIA_UPLOAD_MAX_BYTES = 2_000
    response = api.post(PUSH, {"image": upload(), "name": "Con immagine"})
    assert response.status_code == 400
    assert "image" in response.json()["error"]["fields"]


# --- the admin ---------------------------------------------------------------------------------
def errorlist(page: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", " ", chunk).strip()
        for chunk in re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', page, re.S)
    ]


def form_errors_in_both_languages(client, url, data) -> list[str]:
    """The form's errors in Italian, checked against English: none left untranslated."""
    page = italian(client).post(url, data)
    assert page.status_code in (200, 400), page.status_code  # the counter answers 400
    italian_errors = errorlist(page.content.decode())
    assert italian_errors, "no form error shown"
    english_page = english(client).post(url, data)
    english_errors = errorlist(english_page.content.decode())
    italian(client)
    assert_translated(dict(enumerate(italian_errors)), dict(enumerate(english_errors)))
    return italian_errors


ADMIN_CORPUS = [
    ("customer with letters in the number", "loyalty/customer", {"msisdn": "12ab"}),
    ("customer with a landline", "loyalty/customer", {"msisdn": "02 1234 5678"}),
    ("customer with letters read as digits", "loyalty/customer", {"msisdn": "347 123 ABCD"}),
    ("customer with a foreign landline", "loyalty/customer", {"msisdn": "+44 20 7946 0958"}),
    ("customer with a long name", "loyalty/customer", {"msisdn": "3471234567", "name": LONG}),
    ("customer with a bad email", "loyalty/customer", {"msisdn": "3471234567", "email": SCRIPT}),
    ("shop with a bad CAP", "campaigns/shop", {**shop_fields(), "postal_code": "ABCDE"}),
    ("shop off the globe", "campaigns/shop", {**shop_fields(), "longitude": "500"}),
    ("shop with a long address", "campaigns/shop", {**shop_fields(), "address": LONG}),
    ("push without text", "messaging/pushsend", {"name": "Vuoto", "sms_encoding": "7BIT"}),
    (
        "push with emoji in a 7BIT SMS",
        "messaging/pushsend",
        {"name": "Emoji", "text": "Ciao", "sms_text": EMOJI, "sms_encoding": "7BIT"},
    ),
    (
        "push with a 6-part UCS2 SMS",
        "messaging/pushsend",
        {"name": "Emoji", "text": "Ciao", "sms_text": EMOJI_LONG, "sms_encoding": "UCS2"},
    ),
    (
        "push with a group that is a word",
        "messaging/pushsend",
        {
            "name": "G",
            "text": "Ciao",
            "groups": "clienti",
            "sms_encoding": "7BIT",
            "only_push": "on",
        },
    ),
    (
        "movement with negative points",
        "loyalty/pointmovement",
        {"card": "{card}", "action": "ADD", "points": "-5"},
    ),
    ("movement with no points", "loyalty/pointmovement", {"card": "{card}", "action": "ADD"}),
    (
        "movement with a long note",
        "loyalty/pointmovement",
        {"card": "{card}", "action": "ADD", "points": "5", "note": LONG},
    ),
]


@pytest.mark.parametrize(
    ("model", "data"),
    [pytest.param(model, data, id=name) for name, model, data in ADMIN_CORPUS],
)
def test_admin_forms_refuse_bad_input_in_italian_and_write_nothing(
    admin_client, world, model, data
):
    before = counts()
    form_errors_in_both_languages(admin_client, f"/admin/{model}/add/", fill(data, world))
    assert counts() == before


@pytest.mark.parametrize(
    "upload",
    [
        pytest.param(fake_image_upload, id="text named .png"),
        pytest.param(image_bomb_upload, id="image bomb"),
        pytest.param(lambda: image_upload("big.jpg", "JPEG", size=(400, 300)), id="too big"),
    ],
)
@pytest.mark.parametrize("model", ["campaigns/media", "messaging/pushsend"])
def test_admin_uploads_refuse_what_is_not_a_small_image(
    admin_client, settings, nothing_written, model, upload
):
    settings.MEDIA_UPLOAD_MAX_BYTES = 2_000
    field = "file" if model == "campaigns/media" else "image"
    data = {"name": "Immagine", field: upload(), "sms_encoding": "7BIT", "only_push": "on"}
    page = admin_client.post(f"/admin/{model}/add/", data)
    assert page.status_code == 200 and errorlist(page.content.decode())


# --- what was typed is shown as text, never as markup -------------------------------------------
@pytest.mark.parametrize("text", [SCRIPT, '"><img src=x onerror=alert(1)>', SQL])
def test_stored_markup_and_sql_are_shown_escaped(
    api, admin_client, world, deliver, text, store_manager_client
):
    with deliver():
        customer = api_post(
            api, CUSTOMERS, {"msisdn": "3475550000", "name": text, "surname": text}
        ).json()
        shop = api_post(api, SHOPS, {**shop_fields(), "description": text, "address": text}).json()
        card = api_post(
            api,
            CARDS,
            {"program": world["program"], "customer": customer["id"], "shop": world["shop"]},
        ).json()
        api_post(
            api,
            f"/api/v1/fidelity-cards/{card['id']}/movements/",
            {"action": "ADD", "points": 3, "note": text},
        )
    assert Customer.objects.get(pk=customer["id"]).name == text  # stored as typed
    pages = [
        "/admin/loyalty/customer/",
        f"/admin/loyalty/customer/{customer['id']}/change/",
        "/admin/campaigns/shop/",
        f"/admin/campaigns/shop/{shop['id']}/change/",
        f"/admin/loyalty/fidelitycard/{card['id']}/change/",
        "/admin/loyalty/pointmovement/",
    ]
    for url in pages:
        page = admin_client.get(url).content.decode()
        assert "<script>alert" not in page and "<img src=x" not in page, url
    page = admin_client.get(f"/admin/loyalty/customer/{customer['id']}/change/").content.decode()
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert escaped.replace('"', "&quot;").replace("'", "&#x27;") in page

    manager = store_manager_client("mario", "PV-MINE")
    counter = manager.get(f"/store/cards/{card['id']}/").content.decode()
    assert "<script>alert" not in counter and "<img src=x" not in counter
    if "<" in text:
        assert "&lt;" in counter


# --- the counter ---------------------------------------------------------------------------------
ENROL = {"program": "{program}", "msisdn": "3471234567", "name": "Anna"}
COUNTER_CORPUS = [
    ("letters in the number", "/store/enrol/", {**ENROL, "msisdn": "12ab"}),
    ("letters read as digits", "/store/enrol/", {**ENROL, "msisdn": "347 123 ABCD"}),
    ("landline", "/store/enrol/", {**ENROL, "msisdn": "02 1234 5678"}),
    ("foreign landline", "/store/enrol/", {**ENROL, "msisdn": "+44 20 7946 0958"}),
    ("SQL as number", "/store/enrol/", {**ENROL, "msisdn": SQL}),
    ("10,000-character number", "/store/enrol/", {**ENROL, "msisdn": LONG}),
    ("10,000-character name", "/store/enrol/", {**ENROL, "name": LONG}),
    ("script as email", "/store/enrol/", {**ENROL, "email": SCRIPT}),
    ("card code with emoji", "/store/enrol/", {**ENROL, "code": "CARTA🎉123"}),
    ("card code taken (new customer)", "/store/enrol/", {**ENROL, "code": "{card_code}"}),
    ("amount as a word", "/store/enrol/", {**ENROL, "starting_amount": "dieci"}),
    ("negative amount", "/store/enrol/", {**ENROL, "starting_amount": "-10"}),
    ("unknown program", "/store/enrol/", {**ENROL, "program": "99999"}),
    ("no receipt amount", "/store/cards/{card}/load/", {"amount": ""}),
    ("receipt amount as a word", "/store/cards/{card}/load/", {"amount": "venti"}),
    ("receipt amount zero", "/store/cards/{card}/load/", {"amount": "0"}),
    ("receipt amount huge", "/store/cards/{card}/load/", {"amount": "1e30"}),
    ("10,000-character note", "/store/cards/{card}/load/", {"amount": "10", "note": LONG}),
    ("reward as a word", "/store/cards/{card}/reward/", {"reward": "premio"}),
    ("reward negative", "/store/cards/{card}/reward/", {"reward": "-1"}),
    ("reset not confirmed", "/store/cards/{card}/reset/", {"note": "via"}),
]


@pytest.mark.parametrize(
    ("url", "data"), [pytest.param(url, data, id=name) for name, url, data in COUNTER_CORPUS]
)
def test_counter_forms_refuse_bad_input_in_italian_and_write_nothing(
    world, url, data, store_manager_client
):
    manager = store_manager_client("mario", "PV-MINE")
    before = counts()
    form_errors_in_both_languages(manager, url.format(**world), fill(data, world))
    assert counts() == before


FLYER = {
    "promo_name": "Sottocosto",
    "date_send": "2099-05-01T09:00",
    "flyer_link": "https://e.it/v.pdf",
}


@pytest.mark.parametrize(
    ("data", "upload"),
    [
        pytest.param({}, fake_image_upload, id="text named .png"),
        pytest.param({}, image_bomb_upload, id="image bomb"),
        pytest.param({}, lambda: image_upload("big.jpg", "JPEG", size=(400, 300)), id="too big"),
        pytest.param({"promo_name": LONG}, image_upload, id="10,000-character promo"),
        pytest.param({"flyer_link": "javascript:alert(1)"}, image_upload, id="javascript link"),
        pytest.param({"date_send": "ieri"}, image_upload, id="date as a word"),
        pytest.param({"date_send": "2001-01-01T09:00"}, image_upload, id="date in the past"),
        pytest.param({"note": LONG}, image_upload, id="10,000-character note"),
    ],
)
def test_counter_flyer_requests_refuse_bad_input(
    world, settings, data, upload, store_manager_client
):
    settings.MEDIA_UPLOAD_MAX_BYTES = 2_000
    manager = store_manager_client("mario", "PV-MINE")
    before = counts()
    page = manager.post("/store/flyers/", {**FLYER, **data, "image": upload()})
    assert page.status_code in (200, 400) and errorlist(page.content.decode())
    assert counts() == before


# --- the lead import (CSV/XLSX) --------------------------------------------------------------------
def xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


LEAD_FILES = [
    ("bad phones", "leads.csv", b"customer_name,tel1\nAnna,12ab\nBruno,02 1234 5678\n"),
    ("foreign landline", "leads.csv", b"tel1\n+44 20 7946 0958\n"),
    ("no tel1 column", "leads.csv", b"customer_name,email\nAnna,anna@example.com\n"),
    ("unknown column", "leads.csv", b"tel1,punti\n3471234567,10\n"),
    ("10,000-character name", "leads.csv", f"tel1,customer_name\n3471234567,{LONG}\n".encode()),
    ("bad email", "leads.csv", f"tel1;email\n3471234567;{SCRIPT}\n".encode()),
    ("past recall date", "leads.csv", b"tel1,recall_date\n3471234567,2001-01-01 10:00\n"),
    ("Latin-1 text", "leads.csv", "tel1,customer_name\n3471234567,Niccolò\n".encode("latin-1")),
    ("binary junk", "leads.csv", bytes(range(256)) * 4),
    ("empty file", "leads.csv", b""),
    ("header only", "leads.csv", b"customer_name,tel1\n"),
    ("a zip that is not a workbook", "leads.xlsx", b"PK\x03\x04 not really a zip"),
    ("text named .xlsx", "leads.xlsx", b"tel1\n3471234567\n"),
    ("workbook with bad phones", "leads.xlsx", xlsx([["tel1", "email"], ["12ab", "x@"]])),
    ("workbook with emoji phones", "leads.xlsx", xlsx([["tel1"], ["📞📞📞"]])),
    ("a PDF", "leads.pdf", b"%PDF-1.4"),
]


@pytest.mark.parametrize(("name", "content"), [pytest.param(n, c, id=i) for i, n, c in LEAD_FILES])
def test_the_lead_import_refuses_bad_files_and_rows(
    admin_client, world, name, content, django_capture_on_commit_callbacks
):
    url = reverse("admin:callcenter_import", args=[world["call_campaign"]])
    before = counts()
    with django_capture_on_commit_callbacks(execute=True):  # the preview job, if it starts
        page = admin_client.post(url, {"file": SimpleUploadedFile(name, content)})
    if page.status_code == 302:  # a readable file: its preview job's page
        page = admin_client.get(page["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert (
        errorlist(html)
        or 'id="import-errors"' in html
        or 'id="import-preview">0 nuovi lead' in html
    ), html[-3000:]
    assert 'name="token"' not in html  # nothing to confirm: no row would be imported
    assert counts() == before


# --- the do-not-call import ---------------------------------------------------------------------
DNC_FILES = [
    ("bad numbers", b"numero,data\n12ab,2026-01-31\nabc,\n"),
    ("bad dates", b"3471234567;31/02/2026\n3471234568;ieri\n"),
    ("script and SQL", f"{SCRIPT}\n{SQL}\n".encode()),
    ("10,000-character number", LONG.encode()),
    ("Latin-1 text", "numéro\n3471234567 è\n".encode("latin-1")),
    ("binary junk", bytes(range(256)) * 4),
    ("empty file", b""),
]


@pytest.mark.parametrize(("content"), [pytest.param(c, id=i) for i, c in DNC_FILES])
def test_the_do_not_call_import_refuses_bad_files_and_rows(admin_client, content):
    url = reverse("admin:loyalty_donotcall_import")
    before = counts()
    page = admin_client.post(url, {"file": SimpleUploadedFile("dnc.csv", content)}, follow=True)
    assert page.status_code == 200
    assert counts() == before


# --- Aisac's inbound endpoints --------------------------------------------------------------------
@pytest.fixture
def inbound_key(settings):
    settings.AISAC_INBOUND_KEY = "inbound-secret"
    return "inbound-secret"


@pytest.mark.parametrize(
    ("user_key", "status"),
    [
        ("12ab", 400),
        ("390212345678", 400),  # an Italian landline
        ("442079460958", 400),  # a British landline
        (LONG[:2000], 400),
        ("393471112233' OR '1'='1", 400),
        ("%3Cscript%3E", 400),
        ("393470000000", 404),
    ],
)
def test_get_object_refuses_bad_phones(client, world, inbound_key, user_key, status):
    response = client.get(
        "/integrations/aisac/getObject", {"user_key": user_key, "api_key": inbound_key}
    )
    assert response.status_code == status and response.json()["error"]["code"]


AISAC_BODIES = [
    ("user_key as a list", {"user_key": ["393471112233"], "variables": {}}),
    ("user_key null", {"user_key": None, "variables": {"name": "X"}}),
    ("variables as a list", {"user_key": "393471112233", "variables": ["name"]}),
    ("name as a number", {"user_key": "393471112233", "variables": {"name": 12}}),
    ("name null", {"user_key": "393471112233", "variables": {"name": None}}),
    ("10,000-character name", {"user_key": "393471112233", "variables": {"name": LONG}}),
    ("email too long", {"user_key": "393471112233", "variables": {"email": "a" * 250 + "@e.it"}}),
    ("email null", {"user_key": "393471112233", "variables": {"email": None}}),
    ("email as a list", {"user_key": "393471112233", "variables": {"email": ["a@e.it"]}}),
    ("consent as a string", {"user_key": "393471112233", "variables": {"consent_calls": "true"}}),
    ("consent as 1", {"user_key": "393471112233", "variables": {"consent_calls": 1}}),
    ("points", {"user_key": "393471112233", "variables": {"points": 1000}}),
    ("a list body", ["393471112233"]),
]


@pytest.mark.parametrize(("body"), [pytest.param(b, id=i) for i, b in AISAC_BODIES])
def test_update_object_refuses_bad_payloads_and_changes_nothing(client, world, inbound_key, body):
    before = counts()
    customer = Customer.objects.get(msisdn="+393471112233")
    response = client.post(
        f"/integrations/aisac/updateObject?api_key={inbound_key}",
        json.dumps(body),
        content_type="application/json",
    )
    assert response.status_code == 400 and response.json()["error"]["code"]
    assert counts() == before
    fresh = Customer.objects.get(pk=customer.pk)
    assert (fresh.name, fresh.email, fresh.consent_calls) == (
        customer.name,
        customer.email,
        customer.consent_calls,
    )


# --- exports -----------------------------------------------------------------------------------
FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1:A2)"]


def test_vetrina_has_no_csv_or_xlsx_export_and_the_privacy_export_is_json(api, admin_client):
    """The only export is the privacy export: JSON, where a formula is just a string."""
    customer = api_post(
        api, CUSTOMERS, {"msisdn": "3475550001", "name": FORMULAS[0], "surname": FORMULAS[3]}
    ).json()
    exported = api.get(f"/api/v1/customers/{customer['id']}/export/")
    assert exported["Content-Type"].startswith("application/json")
    download = admin_client.get(f"/admin/loyalty/customer/{customer['id']}/export/")
    assert download["Content-Type"].startswith("application/json")
    assert json.loads(download.content)["customer"]["name"] == FORMULAS[0]  # a string, as typed
    assert exported.json()["customer"]["surname"] == FORMULAS[3]
