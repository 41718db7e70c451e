"""SMS beyond one number: a Messaging Service (MessagingServiceSid instead of From) or a
pool of numbers, each paced at its own rate; alerts go before questionnaires and chats."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.channels.senders import build_senders, channel_limits
from bot.outbound.dispatch import RateLimiter, dispatch_due
from core import outbox
from core.clock import utc_now
from core.communities import create_community
from core.db import session_scope
from core.identities import touch_identity
from core.models import OutboxMessage, Priority
from tests.bot.channels.conftest import settings_for
from tests.fakes.twilio_api import FakeTwilio

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
POOL = [f"+3225550{n:03d}" for n in range(5)]


def _queue(engine: Engine, count: int, kind: str, priority: Priority, now: datetime,
           first: int = 0) -> list[str]:
    numbers = [f"+3247022{n:04d}" for n in range(first, first + count)]
    with session_scope(engine) as session:
        if first == 0:
            create_community(session, "c", "C", join_code="CCC")
        for number in numbers:
            identity = touch_identity(session, "sms", number, now)
            outbox.enqueue(session, dedupe_key=f"{kind}:{number}", identity=identity,
                           kind=kind, payload={"text": f"{kind} for {number}", "locale": "en"},
                           now=now, priority=priority)
    return numbers


def _drain(engine: Engine, settings: object, count_sent: int, fake: FakeTwilio,
           timeout: float = 30.0) -> float:
    senders = build_senders(engine, settings)  # type: ignore[arg-type]
    limiter = RateLimiter(channel_limits(settings))  # type: ignore[arg-type]
    started = time.monotonic()
    while len(fake.sent) < count_sent and time.monotonic() - started < timeout:
        dispatch_due(engine, senders, limiter=limiter, workers=8)
    return time.monotonic() - started


def test_a_messaging_service_sends_without_from(engine: Engine,
                                                fake_twilio: FakeTwilio) -> None:
    service = fake_twilio.add_messaging_service(POOL[:2])
    _queue(engine, 1, "alert_start", Priority.ALERT, T0)
    settings = settings_for(twilio=fake_twilio, twilio_sms_from=None,
                            twilio_messaging_service_sid=service)
    report = dispatch_due(engine, build_senders(engine, settings), clock=lambda: T0)
    assert report.sent == 1
    [sent] = fake_twilio.sent
    assert sent.messaging_service_sid == service and sent.from_ == ""
    assert sent.sent_from in POOL[:2]
    assert "From" not in fake_twilio.requests[0].fields
    with Session(engine) as session:
        row = session.exec(select(OutboxMessage)).one()
    assert row.status == "sent" and row.provider_id == sent.sid


def test_the_fake_refuses_what_twilio_refuses(engine: Engine, fake_twilio: FakeTwilio) -> None:
    _queue(engine, 1, "alert_start", Priority.ALERT, T0)
    settings = settings_for(twilio=fake_twilio, twilio_sms_from=None,
                            twilio_messaging_service_sid="MG" + "0" * 32)
    assert dispatch_due(engine, build_senders(engine, settings), clock=lambda: T0).failed == 1
    with Session(engine) as session:
        row = session.exec(select(OutboxMessage)).one()
    assert row.last_error is not None and row.last_error.startswith("twilio 21701")
    client = build_senders(engine, settings_for(twilio=fake_twilio))["sms"]
    from twilio.base.exceptions import TwilioRestException

    with pytest.raises(TwilioRestException) as refused:
        client.client.messages.create(to="+32470000001", body="no sender")  # type: ignore[attr-defined]
    assert refused.value.code == 21603


def test_a_pool_paces_each_number_on_its_own(engine: Engine, fake_twilio: FakeTwilio) -> None:
    """40 SMS through five numbers at 4/s each: about 2 s (one number would take 10 s), no
    number above its rate, every number used."""
    _queue(engine, 40, "alert_start", Priority.ALERT, utc_now())
    settings = settings_for(twilio=fake_twilio, twilio_sms_from=None,
                            twilio_sms_pool=",".join(POOL), sms_per_second_per_sender=4)
    elapsed = _drain(engine, settings, 40, fake_twilio)
    assert len(fake_twilio.sent) == 40
    assert {m.from_ for m in fake_twilio.sent} == set(POOL)
    assert fake_twilio.busiest_sender_rate() <= 4 + 1  # + one: arrival jitter at the fake
    assert 1.5 <= elapsed < 6.0
    with Session(engine) as session:
        assert {(r.status, r.attempts) for r in session.exec(select(OutboxMessage))} == {
            ("sent", 0)}


def test_alerts_go_before_questionnaires_and_chats(engine: Engine,
                                                  fake_twilio: FakeTwilio) -> None:
    """Questionnaires and chat replies were queued first; the alert written after them still
    reaches every number before any of them, though the pool is saturated."""
    now = utc_now()
    bulk = _queue(engine, 10, "campaign_start", Priority.BULK, now - timedelta(seconds=2))
    chats = _queue(engine, 10, "reply", Priority.CHAT, now - timedelta(seconds=1), first=10)
    alerts = _queue(engine, 20, "alert_start", Priority.ALERT, now, first=20)
    settings = settings_for(twilio=fake_twilio, twilio_sms_from=None,
                            twilio_sms_pool=",".join(POOL[:2]), sms_per_second_per_sender=5)
    _drain(engine, settings, 40, fake_twilio)
    order = [m.to for m in sorted(fake_twilio.sent, key=lambda m: m.at)]
    assert len(order) == 40
    assert set(order[:20]) == set(alerts)
    assert set(order[20:30]) == set(chats) and set(order[30:]) == set(bulk)


def test_one_sender_number_still_works_as_before(engine: Engine,
                                                 fake_twilio: FakeTwilio) -> None:
    _queue(engine, 3, "reply", Priority.CHAT, T0)
    report = dispatch_due(engine, build_senders(engine, settings_for(twilio=fake_twilio)),
                          clock=lambda: T0)
    assert report.sent == 3
    assert {m.from_ for m in fake_twilio.sent} == {"+3225550100"}
