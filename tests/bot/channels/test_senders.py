"""Each sender against its fake: photos, keyboards, WhatsApp's window, templates, fallback."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.channels import telegram
from bot.channels.delivery import apply_delivery_status
from bot.channels.rendering import render_sms
from bot.channels.senders import build_senders
from bot.channels.sms_segments import count_segments
from bot.channels.twilio_common import incoming_from_form
from bot.channels.twilio_whatsapp import WhatsAppTemplates
from bot.outbound.dispatch import PermanentSendError, dispatch_due
from core import outbox
from core.communities import create_community
from core.contacts import enrol_contact
from core.db import session_scope
from core.identities import touch_identity
from core.media import store_png
from core.models import ChannelIdentity, OutboxMessage
from tests.bot.channels.conftest import PUBLIC_URL, SMS_FROM, settings_for
from tests.fakes.community import CONSENT
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
ADDRESS = "+32470555111"


def fixture(name: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def one_row(engine: Engine, channel: str, address: str, payload: dict[str, object],
            kind: str = "reply", last_inbound: datetime | None = T0,
            sms_too: bool = False) -> None:
    with session_scope(engine) as session:
        community = create_community(session, "c", "C", join_code="CCC")
        assert community.id is not None
        identity = touch_identity(session, channel, address, last_inbound or T0)
        identity.last_inbound_at = last_inbound
        contact = enrol_contact(session, identity, community.id, "nl", CONSENT, T0)
        if sms_too:
            sms = touch_identity(session, "sms", address, T0)
            sms.contact_id = contact.id
        outbox.enqueue(session, dedupe_key="alert:9:start:contact:1", identity=identity,
                       kind=kind, payload={"locale": "nl", **payload}, now=T0)


def rows(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(
            OutboxMessage.id)).all())  # type: ignore[arg-type]


# -- Telegram ----------------------------------------------------------------------------

def test_updates_as_telegram_sends_them_become_incoming_messages() -> None:
    start = telegram.incoming_from_update(telegram.parse_update(
        fixture("telegram/update_start.json")))
    assert start is not None
    assert (start.channel, start.address, start.text) == ("telegram", "5551234567",
                                                          "/start VOISINS")
    assert start.provider_id == "update:718293001"
    assert start.locale_hint == "nl" and start.display_name == "Lina Haddad"
    press = telegram.incoming_from_update(telegram.parse_update(
        fixture("telegram/update_callback_query.json")))
    assert press is not None and press.choice_key == "en" and press.address == "5551234567"
    group = telegram.incoming_from_update(telegram.parse_update(
        fixture("telegram/update_group_command.json")))
    assert group is not None and group.address == "-1001234567890"
    assert telegram.incoming_from_update(telegram.parse_update({"update_id": 5})) is None


def test_telegram_photo_goes_as_png_bytes_with_caption_and_keyboard(
        engine: Engine, fake_telegram: FakeTelegram) -> None:
    with session_scope(engine) as session:
        token = store_png(session, PNG, T0)
    one_row(engine, "telegram", "777", {"text": "Your week", "image_token": token,
                                        "choices": [{"key": "more", "label": "More"}]})
    dispatch_due(engine, build_senders(engine, settings_for(fake_telegram)), clock=lambda: T0)
    [sent] = fake_telegram.sent
    assert sent.method == "sendPhoto" and sent.photo == PNG and sent.text == "Your week"
    assert sent.reply_markup == {"inline_keyboard": [[{"text": "More", "callback_data": "more"}]]}
    assert rows(engine)[0].provider_id == f"777:{sent.message_id}"


@pytest.mark.parametrize(("status", "body", "kind", "reason"), [
    (429, "telegram/error_429.json", "transient", None),
    (502, "telegram/error_502.json", "transient", None),
    (403, "telegram/error_403_blocked.json", "permanent", "blocked"),
    (400, "telegram/error_400_chat_not_found.json", "permanent", "chat_not_found"),
])
def test_telegram_errors_map_to_the_dispatcher(status: int, body: str, kind: str,
                                               reason: str | None) -> None:
    from bot.outbound.dispatch import PermanentSendError, TransientSendError

    error = telegram.error_for(status, fixture(body))
    if kind == "transient":
        assert isinstance(error, TransientSendError)
        if status == 429:
            assert error.retry_after == timedelta(seconds=3)
    else:
        assert isinstance(error, PermanentSendError)
        assert error.unreachable_reason == reason


# -- Twilio ------------------------------------------------------------------------------

def test_inbound_twilio_fields_become_incoming_messages() -> None:
    sms = incoming_from_form({k: str(v) for k, v in fixture("twilio/inbound_sms.json").items()})
    assert (sms.channel, sms.address, sms.text) == ("sms", "+32470123456", "JOIN VOISINS")
    assert sms.provider_id == "SM1f0e8ae6ade43cb3c0ce4525424e404f"
    wa = incoming_from_form({k: str(v) for k, v in
                             fixture("twilio/inbound_whatsapp.json").items()})
    assert wa.channel == "whatsapp" and wa.address == "whatsapp:+32470987654"
    assert wa.display_name == "Youssef"


def test_mms_and_whatsapp_images_are_public_media_urls(engine: Engine,
                                                       fake_twilio: FakeTwilio) -> None:
    one_row(engine, "sms", ADDRESS, {"text": "Chart", "image_token": "tok123"})
    dispatch_due(engine, build_senders(engine, settings_for(twilio=fake_twilio)),
                 clock=lambda: T0)
    assert fake_twilio.sent[0].media_urls == [f"{PUBLIC_URL}/media/tok123.png"]
    assert fake_twilio.sent[0].status_callback == f"{PUBLIC_URL}/webhooks/twilio/status"


def test_a_long_sms_goes_as_several_each_within_two_segments_image_on_the_last(
        engine: Engine, fake_twilio: FakeTwilio) -> None:
    options = [{"key": f"q:{n}", "label": f"خيار طويل بعض الشيء رقم {n}"} for n in range(1, 9)]
    one_row(engine, "sms", ADDRESS, {"text": "ماذا فعلت؟", "choices": options,
                                     "image_token": "tok123"})
    dispatch_due(engine, build_senders(engine, settings_for(twilio=fake_twilio)),
                 clock=lambda: T0)
    *first_parts, last = fake_twilio.sent
    assert len(fake_twilio.sent) > 1
    assert [m.body for m in fake_twilio.sent] == render_sms(rows(engine)[0].payload)
    assert all(count_segments(m.body or "").segments <= 2 for m in fake_twilio.sent)
    first = first_parts[0]
    assert (first.media_urls, last.media_urls) == ([], [f"{PUBLIC_URL}/media/tok123.png"])
    assert all(m.status_callback is None and not m.media_urls for m in first_parts)
    assert last.status_callback is not None
    assert rows(engine)[0].provider_id == last.sid


def test_whatsapp_outside_window_uses_the_template_for_kind_and_locale(
        engine: Engine, fake_twilio: FakeTwilio) -> None:
    templates = json.dumps({"alert": {"nl": "HX" + "1" * 32, "fr": "HX" + "2" * 32}})
    one_row(engine, "whatsapp", ADDRESS, {"text": "Netalarm om 18:00"}, kind="alert",
            last_inbound=T0 - timedelta(hours=25))
    settings = settings_for(twilio=fake_twilio, whatsapp_templates=templates)
    report = dispatch_due(engine, build_senders(engine, settings, clock=lambda: T0),
                          clock=lambda: T0)
    assert report.sent == 1
    [sent] = fake_twilio.sent
    assert sent.to == f"whatsapp:{ADDRESS}" and sent.content_sid == "HX" + "1" * 32
    assert json.loads(sent.content_variables or "") == {"1": "Netalarm om 18:00"}
    assert sent.body is None


def test_whatsapp_templates_setting_reads_a_json_file(tmp_path: Path) -> None:
    path = tmp_path / "templates.json"
    path.write_text('{"reminder": {"fr": "HXabc"}}', encoding="utf-8")
    templates = WhatsAppTemplates.from_setting(str(path))
    assert templates.content_sid("reminder", "fr") == "HXabc"
    assert templates.content_sid("reminder", "nl") is None


def test_whatsapp_outside_window_without_template_falls_back_to_sms(
        engine: Engine, fake_twilio: FakeTwilio) -> None:
    one_row(engine, "whatsapp", ADDRESS, {"text": "Netalarm"}, kind="alert",
            last_inbound=T0 - timedelta(hours=30))
    senders = build_senders(engine, settings_for(twilio=fake_twilio), clock=lambda: T0)
    dispatch_due(engine, senders, clock=lambda: T0)
    dispatch_due(engine, senders, clock=lambda: T0)
    [sent] = fake_twilio.sent
    assert sent.to == ADDRESS and sent.from_ == SMS_FROM and sent.body == "Netalarm"
    original, fallback = rows(engine)
    assert original.status == "failed" and fallback.status == "sent"
    assert fallback.dedupe_key == "alert:9:start:contact:1:via:sms"
    assert fallback.contact_id == original.contact_id
    # The SMS identity was made from the same number, for the same contact.
    with Session(engine) as session:
        sms = session.get(ChannelIdentity, fallback.identity_id)
        assert sms is not None and sms.channel == "sms" and sms.address == ADDRESS


def test_whatsapp_63016_falls_back_to_the_contacts_sms_identity(
        engine: Engine, fake_twilio: FakeTwilio) -> None:
    # We think the window is open, WhatsApp disagrees (e.g. a clock skew): same fallback.
    one_row(engine, "whatsapp", ADDRESS, {"text": "Hallo"}, sms_too=True)
    fake_twilio.outside_window.add(f"whatsapp:{ADDRESS}")
    senders = build_senders(engine, settings_for(twilio=fake_twilio), clock=lambda: T0)
    for _ in range(3):
        dispatch_due(engine, senders, clock=lambda: T0)
    assert [m.to for m in fake_twilio.sent] == [ADDRESS]
    assert [r.status for r in rows(engine)] == ["failed", "sent"]


def test_late_63016_status_callback_reroutes_to_sms(engine: Engine,
                                                    fake_twilio: FakeTwilio) -> None:
    one_row(engine, "whatsapp", ADDRESS, {"text": "Hallo"})
    senders = build_senders(engine, settings_for(twilio=fake_twilio), clock=lambda: T0)
    dispatch_due(engine, senders, clock=lambda: T0)
    sid = fake_twilio.sent[0].sid
    with session_scope(engine) as session:
        apply_delivery_status(session, sid, "undelivered", 63016, T0)
    with session_scope(engine) as session:  # a repeated callback changes nothing
        apply_delivery_status(session, sid, "undelivered", 63016, T0)
    dispatch_due(engine, senders, clock=lambda: T0)
    assert [m.to for m in fake_twilio.sent] == [f"whatsapp:{ADDRESS}", ADDRESS]
    assert [r.status for r in rows(engine)] == ["undelivered", "sent"]


def test_telegram_text_over_4096_goes_in_parts_with_buttons_on_the_last(
        engine: Engine, fake_telegram: FakeTelegram) -> None:
    text = "\n".join(f"Question {n}: " + "réponse " * 40 for n in range(30))  # ~10,000 chars
    one_row(engine, "telegram", "777", {"text": text,
                                        "choices": [{"key": "menu", "label": "Menu"}]})
    report = dispatch_due(engine, build_senders(engine, settings_for(fake_telegram)),
                          clock=lambda: T0)
    assert report.sent == 1
    parts = fake_telegram.sent
    assert len(parts) == 3 and "".join(part.text or "" for part in parts) == text
    assert all(len(part.text or "") <= 4096 for part in parts)
    assert [part.reply_markup is not None for part in parts] == [False, False, True]
    assert all((part.text or "").endswith("\n") for part in parts[:-1])  # cut between lines


def test_the_fake_refuses_what_telegram_refuses(fake_telegram: FakeTelegram) -> None:
    sender = telegram.TelegramSender(fake_telegram.token, fake_telegram.api_url)
    with pytest.raises(PermanentSendError, match="message is too long"):
        sender.call("sendMessage", body={"chat_id": 1, "text": "x" * 4097})
    sender.close()
