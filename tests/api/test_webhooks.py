"""Enrolment end to end over HTTP: provider → webhook → bot → outbox → dispatcher → provider."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from api.app import create_app
from bot.channels.senders import build_senders
from bot.i18n import translator
from bot.outbound.dispatch import dispatch_due
from core.config import Settings
from core.db import session_scope
from core.demo import DEMO_NAME, seed_demo
from core.models import (
    ChannelIdentity,
    Contact,
    Household,
    InboundEvent,
    OutboxMessage,
)
from tests.api.helpers import (
    post_telegram,
    post_twilio,
    sms_form,
    telegram_press,
    telegram_text,
    whatsapp_form,
)
from tests.bot.channels.conftest import SMS_FROM, WHATSAPP_FROM, settings_for
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
CHAT = 5551234567


def clock() -> datetime:
    return T0


def deliver(engine: Engine, settings: Settings) -> int:
    senders = build_senders(engine, settings, clock=clock)
    sent = 0
    while True:
        report = dispatch_due(engine, senders, clock=clock)
        sent += report.sent
        if report.total == 0:
            return sent


def count(engine: Engine, table: type) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    with session_scope(engine) as session:
        seed_demo(session, clock=clock)
    return engine


@pytest.fixture
def client(seeded: Engine, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio
           ) -> Iterator[TestClient]:
    app = create_app(seeded, settings_for(fake_telegram, fake_twilio), clock=clock)
    with TestClient(app) as test_client:
        yield test_client


def test_telegram_webhook_is_registered_with_its_secret(client: TestClient,
                                                        fake_telegram: FakeTelegram) -> None:
    assert fake_telegram.calls("getMe")
    assert fake_telegram.webhook is not None
    assert fake_telegram.webhook["url"] == "https://voisins.example.org/webhooks/telegram"
    assert fake_telegram.webhook["secret_token"] == "s3cret-token_for-webhooks"


def test_enrolment_by_telegram_with_start_code_and_buttons(
        client: TestClient, seeded: Engine, fake_telegram: FakeTelegram,
        fake_twilio: FakeTwilio) -> None:
    settings = settings_for(fake_telegram, fake_twilio)
    # The resident's app is in Dutch, so the bot greets in Dutch before any choice.
    assert post_telegram(client, telegram_text(1001, "/start VOISINS")).status_code == 200
    assert deliver(seeded, settings) == 1
    first = fake_telegram.sent[-1]
    assert first.chat_id == CHAT
    assert translator("nl").gettext("Welcome to {community}!", community=DEMO_NAME) == \
        first.text
    keyboard = first.reply_markup
    assert keyboard is not None
    keys = [row[0]["callback_data"] for row in keyboard["inline_keyboard"]]
    assert keys == ["fr", "nl", "en", "ar", "es"]

    assert post_telegram(client, telegram_press(1002, "en")).status_code == 200
    deliver(seeded, settings)
    consent = fake_telegram.sent[-1]
    assert (consent.text or "").endswith("Do you agree?")
    assert consent.reply_markup == {"inline_keyboard": [[
        {"text": "Yes", "callback_data": "yes"}, {"text": "No", "callback_data": "no"}]]}

    post_telegram(client, telegram_press(1003, "yes"))
    deliver(seeded, settings)
    assert "household code" in (fake_telegram.sent[-1].text or "")
    post_telegram(client, telegram_text(1004, "maison03"))
    deliver(seeded, settings)
    assert "What would you like to do?" in (fake_telegram.sent[-1].text or "")
    # Every button press was answered, once each.
    assert fake_telegram.answered_callbacks == ["cbq-1002", "cbq-1003"]

    with Session(seeded) as session:
        identity = session.exec(select(ChannelIdentity).where(
            ChannelIdentity.channel == "telegram")).one()
        assert identity.address == str(CHAT) and identity.locale_hint == "nl"
        contact = session.get(Contact, identity.contact_id)
        assert contact is not None and contact.locale == "en"
        household = session.get(Household, contact.household_id)
        assert household is not None and household.ref == "H03"


def test_telegram_duplicate_delivery_gets_one_reply(client: TestClient, seeded: Engine,
                                                    fake_telegram: FakeTelegram,
                                                    fake_twilio: FakeTwilio) -> None:
    update = telegram_text(2001, "/start VOISINS")
    for _ in range(3):
        assert post_telegram(client, update).status_code == 200
    assert deliver(seeded, settings_for(fake_telegram, fake_twilio)) == 1
    assert len(fake_telegram.texts_to(CHAT)) == 1


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", "s3cret-token_for-webhooks "])
def test_telegram_without_the_right_secret_is_refused_and_leaves_no_trace(
        client: TestClient, seeded: Engine, secret: str | None) -> None:
    before = count(seeded, ChannelIdentity)
    response = post_telegram(client, telegram_text(3001, "/start VOISINS"), secret=secret)
    assert response.status_code == 403
    assert count(seeded, InboundEvent) == 0
    assert count(seeded, ChannelIdentity) == before
    assert count(seeded, OutboxMessage) == 0


def test_enrolment_by_sms(client: TestClient, seeded: Engine, fake_telegram: FakeTelegram,
                          fake_twilio: FakeTwilio) -> None:
    settings = settings_for(fake_telegram, fake_twilio)
    for index, text in enumerate(["JOIN VOISINS", "3", "yes", "MAISON02"]):
        response = post_twilio(client, sms_form(text, f"SM{index:032d}"))
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/xml")
        deliver(seeded, settings)
    bodies = fake_twilio.bodies_to("+32470123456")
    # Language question, consent in two parts, household question, welcome.
    assert len(bodies) == 5
    assert all(message.from_ == SMS_FROM for message in fake_twilio.sent)
    # The language question is asked in French (the community's language) with numbers.
    assert "3. English" in bodies[0]
    assert bodies[0].endswith(translator("fr").gettext("Reply {first} to {last}",
                                                       first=1, last=5))
    assert bodies[1].startswith("Voisins sends you") and "Reply" not in bodies[1]
    assert bodies[2].endswith("Do you agree?\n1. Yes\n2. No\nReply 1 or 2")
    # On SMS the welcome says to send MENU rather than carry the menu.
    assert bodies[4].startswith("You are in!") and "1. " not in bodies[4]
    with Session(seeded) as session:
        identity = session.exec(select(ChannelIdentity).where(
            ChannelIdentity.channel == "sms")).one()
        contact = session.get(Contact, identity.contact_id)
        assert contact is not None and contact.household_id is not None


def test_enrolment_by_whatsapp(client: TestClient, seeded: Engine, fake_telegram: FakeTelegram,
                               fake_twilio: FakeTwilio) -> None:
    settings = settings_for(fake_telegram, fake_twilio)
    for index, text in enumerate(["JOIN VOISINS", "2", "ja", "overslaan"]):
        assert post_twilio(client, whatsapp_form(text, f"SMwa{index:030d}")).status_code == 200
        deliver(seeded, settings)
    sent = [m for m in fake_twilio.sent if m.to == "whatsapp:+32470987654"]
    assert len(sent) == 4 and all(m.from_ == WHATSAPP_FROM for m in sent)
    assert all(m.content_sid is None for m in sent)  # within the 24 h window: free text
    with Session(seeded) as session:
        identity = session.exec(select(ChannelIdentity).where(
            ChannelIdentity.channel == "whatsapp")).one()
        assert identity.address == "+32470987654" and identity.display_name == "Youssef"
        contact = session.get(Contact, identity.contact_id)
        assert contact is not None and contact.locale == "nl"


def test_twilio_duplicate_delivery_gets_one_reply(client: TestClient, seeded: Engine,
                                                  fake_telegram: FakeTelegram,
                                                  fake_twilio: FakeTwilio) -> None:
    form = sms_form("JOIN VOISINS", "SM" + "d" * 32)
    for _ in range(3):
        assert post_twilio(client, form).status_code == 200
    deliver(seeded, settings_for(fake_telegram, fake_twilio))
    assert len(fake_twilio.sent) == 1


@pytest.mark.parametrize("signature", [None, "", "bm90IGEgc2lnbmF0dXJl", "tampered"])
def test_forged_or_missing_twilio_signature_is_refused_and_leaves_no_trace(
        client: TestClient, seeded: Engine, signature: str | None) -> None:
    form = sms_form("JOIN VOISINS", "SM" + "f" * 32)
    if signature == "tampered":
        # Signed for another body: a changed field breaks the signature.
        from tests.api.helpers import twilio_signature

        signature = twilio_signature("/webhooks/twilio", {**form, "Body": "STOP"})
    before = count(seeded, ChannelIdentity)
    response = post_twilio(client, form, signature=signature)
    assert response.status_code == 403
    assert count(seeded, InboundEvent) == 0
    assert count(seeded, ChannelIdentity) == before


def test_signature_for_the_internal_url_is_refused(client: TestClient, seeded: Engine) -> None:
    # Twilio signs the public URL; a signature over the URL we see behind the proxy is not it.
    from twilio.request_validator import RequestValidator

    from tests.fakes.twilio_api import AUTH_TOKEN

    form = sms_form("JOIN VOISINS", "SM" + "e" * 32)
    internal = RequestValidator(AUTH_TOKEN).compute_signature(
        "http://testserver/webhooks/twilio", form)
    assert post_twilio(client, form, signature=internal).status_code == 403
    assert count(seeded, InboundEvent) == 0


def test_delivery_status_callbacks_update_the_row(client: TestClient, seeded: Engine,
                                                  fake_telegram: FakeTelegram,
                                                  fake_twilio: FakeTwilio) -> None:
    post_twilio(client, sms_form("JOIN VOISINS", "SM" + "1" * 32))
    deliver(seeded, settings_for(fake_telegram, fake_twilio))
    sid = fake_twilio.sent[0].sid
    path = "/webhooks/twilio/status"
    base = {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "a" * 32,
            "To": "+32470123456", "From": SMS_FROM, "ApiVersion": "2010-04-01"}

    def status_of() -> str:
        with Session(seeded) as session:
            row = session.exec(select(OutboxMessage).where(OutboxMessage.provider_id == sid)
                               ).one()
            return row.status

    assert status_of() == "sent"
    forged = {**base, "MessageStatus": "failed", "SmsStatus": "failed"}
    assert post_twilio(client, forged, path=path, signature="bad").status_code == 403
    assert post_twilio(client, forged, path=path, signature=None).status_code == 403
    assert status_of() == "sent"
    for status, expected in [("delivered", "delivered"), ("read", "read"),
                             ("delivered", "read")]:  # a late "delivered" does not go back
        form = {**base, "MessageStatus": status, "SmsStatus": status}
        assert post_twilio(client, form, path=path).status_code == 204
        assert status_of() == expected


def test_signed_form_without_sender_is_a_400(client: TestClient, seeded: Engine) -> None:
    form = {"Body": "hello", "MessageSid": "SM" + "2" * 32}
    assert post_twilio(client, form).status_code == 400
    assert count(seeded, InboundEvent) == 0
