"""A planned alert walked with a controlled clock all the way to the providers: Telegram and
Twilio fakes on loopback receive each stage once, at its time, in each reader's language.

WhatsApp readers are outside their 24-hour window by the time of the notice, so Arabic gets
the approved templates configured for alert messages and Dutch (no template) gets SMS.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.channels.senders import build_senders
from bot.channels.sms_segments import count_segments, sms_text
from bot.flows.alert import AlertMessages, post_alert_respondents
from bot.outbound.dispatch import dispatch_due
from core.alerts import Alert, AlertKind, AlertStage, plan_alert
from core.communities import community_by_slug
from core.db import session_scope
from core.models import Community, Contact
from scheduler.timeline import run_due_steps
from tests.bot.channels.conftest import settings_for
from tests.fakes.community import seed_residents
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Brussels
START = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)  # Thursday 17:00, for 3 hours
STAGES = [
    (AlertStage.NOTICE_24H, START - timedelta(hours=24)),
    (AlertStage.NOTICE_30MIN, START - timedelta(minutes=30)),
    (AlertStage.START, START),
    (AlertStage.END, START + timedelta(hours=3)),
]
TEMPLATES = {f"alert_{stage.value}": {"ar": f"HX{stage.value}ar"} for stage, _ in STAGES}


def _texts(engine: Engine, alert_id: int, locale: str) -> list[str]:
    with Session(engine) as session:
        alert = session.get(Alert, alert_id)
        community = session.exec(select(Community)).one()
        assert alert is not None
        reader = Contact(community_id=community.id or 0, locale=locale)
        return [AlertMessages().render(stage, alert, community, reader).payload["text"]
                for stage, _ in STAGES]


def test_planned_alert_reaches_every_channel_once_in_each_language(
        engine: Engine, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio) -> None:
    seed_residents(engine, NOW)
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None
        alert = plan_alert(session, community, starts_at=START, duration_minutes=180,
                           kind=AlertKind.PLANNED, now=NOW)
        alert_id = alert.id
    assert alert_id is not None
    settings = settings_for(fake_telegram, fake_twilio, whatsapp_templates=json.dumps(TEMPLATES))

    def walk_to(moment: datetime) -> None:
        for _ in range(2):  # a second pass at the same moment must send nothing more
            run_due_steps(engine, AlertMessages(), clock=lambda: moment,
                          respondents=post_alert_respondents)
            senders = build_senders(engine, settings, clock=lambda: moment)
            dispatch_due(engine, senders, clock=lambda: moment, limit=500)

    for _, due in STAGES:
        walk_to(due - timedelta(seconds=1))
        walk_to(due)

    fr, nl, ar = (_texts(engine, alert_id, locale) for locale in ("fr", "nl", "ar"))
    # Telegram: the text itself, buttons under the start message; the post-alert
    # questionnaire's first question comes with the end.
    for chat, texts in ((100000005, fr), (100000002, nl)):
        received = fake_telegram.texts_to(chat)
        assert received[:4] == texts and len(received) == 5 and "1/5" in received[4]
    start_call = [m for m in fake_telegram.sent if m.chat_id == 100000005][2]
    assert start_call.reply_markup is not None
    # SMS: the text, with the numbered choices for the start message; each SMS within two
    # segments (the Arabic end message with the first question goes as two SMS).
    for number, texts in (("+32470000001", fr), ("+32470000004", ar)):
        bodies = fake_twilio.bodies_to(number)
        questionnaire = bodies[len(STAGES):]
        assert 1 <= len(questionnaire) <= 2 and "1/5" in "\n".join(questionnaire)
        assert all(count_segments(body).segments <= 2 for body in bodies)
        # (As SMS: without the invisible direction marks of the Arabic text.)
        assert all(body.startswith(sms_text(text))
                   for body, text in zip(bodies[:4], texts, strict=True))
        assert "1." in bodies[2] and "3." in bodies[2]
    # WhatsApp outside the window: Arabic by template, Dutch rerouted to SMS.
    arabic = [m for m in fake_twilio.sent if m.to == "whatsapp:+32470000003"]
    assert [m.content_sid for m in arabic] == [TEMPLATES[f"alert_{s.value}"]["ar"]
                                               for s, _ in STAGES]
    assert json.loads(arabic[0].content_variables or "{}")["1"].startswith(ar[0][:10])
    # (The questionnaire has no template: it goes by SMS.)
    assert len(fake_twilio.bodies_to("+32470000003")) == 1
    assert not [m for m in fake_twilio.sent if m.to == "whatsapp:+32470000006"]
    dutch_sms = fake_twilio.bodies_to("+32470000006")
    assert len(dutch_sms) == len(STAGES) + 1 and dutch_sms[0].startswith(sms_text(nl[0]))
    # The times: nothing of a stage went before its due moment (checked by the walk order),
    # and the 24-hour notice names Thursday 17:00 in each language.
    assert "jeudi à 17:00" in fr[0] and "donderdag om 17:00" in nl[0] and "الخميس" in ar[0]
