"""A facilitator sends news in chat, with a preview in every language the audience reads,
the audience per channel and the time to send; residents mute topics from the menu."""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.conversation.inbox import handle_incoming
from bot.flows.base import AudienceView, ChannelReach, SendBroadcast, SetTopicMuted
from bot.flows.fanout_preview import reach_line
from bot.i18n import translator
from bot.rendering.broadcasts import broadcast_message
from core.alerts import audience_for
from core.broadcasts import Broadcast
from core.config import SUPPORTED_LOCALES
from core.contacts import enrol_contact
from core.db import session_scope
from core.demo import seed_demo
from core.identities import touch_identity
from core.messages import IncomingMessage
from core.models import Community, Contact, OutboxMessage, Role, SubjectKind
from core.topics import Topic, muted_contact_ids
from scheduler.broadcasts import run_due_broadcasts
from tests.bot.flows.conversation import Conversation, member
from tests.fakes.community import CONSENT

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Brussels


def _facilitator(locale: str, channel: str = "telegram") -> Conversation:
    chat = member(locale, channel=channel)
    chat.who = replace(chat.who, role=Role.FACILITATOR)
    return chat


def _number(chat: Conversation, key: str) -> str:
    return str(chat.choice_keys.index(key) + 1)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_news_is_composed_with_a_preview_in_each_language_and_the_time_to_send(
        locale: str) -> None:
    t = translator(locale)
    chat = _facilitator(locale)
    chat.says("menu")
    assert chat.choice_keys.index("send_news") == chat.choice_keys.index("invite_workshop") + 1
    chat.says(_number(chat, "send_news"))
    assert chat.state.flow == "send_news" and chat.state.step == "text"
    chat.says("x" * 601)
    assert chat.state.step == "text" and "601" in chat.text
    chat.says("Soupe partagée vendredi à 18 h, salle B.")
    assert chat.choice_keys == ["*", "cluster:Cabine A", "cluster:Cabine B"]
    chat.says("banana")
    assert chat.state.step == "audience"
    chat.says("1")
    preview = chat.text
    # The issue's own example, worded in the facilitator's language.
    assert reach_line(t, AudienceView(("ar",), (ChannelReach("telegram", 240, 8.0),
                                                ChannelReach("sms", 72, 120.0)))) in preview
    # Every language the audience reads, each with the frame in its own language.
    for reader in ("ar", "fr", "nl"):
        frame = translator(reader).gettext("News from {community}:", community="Les Voisins")
        assert f"[{reader}] {frame}\nSoupe partagée vendredi" in preview
    assert chat.choice_keys == ["yes", "no"]
    chat.says("1")
    assert chat.effects == [SendBroadcast(text="Soupe partagée vendredi à 18 h, salle B.",
                                          locale=locale, cluster=None)]
    assert t.gettext("Sending now. I will tell you how it goes.") in chat.text
    assert chat.state.flow == "menu"


def test_the_reach_line_reads_like_the_issue() -> None:
    audience = AudienceView(("fr",), (ChannelReach("telegram", 240, 8.0),
                                      ChannelReach("sms", 72, 120.0)))
    assert reach_line(translator("en"), audience) == \
        "312 people: 240 on Telegram in about 8 s, 72 by SMS in about 2 min."
    assert reach_line(translator("fr"), audience) == \
        "312 personnes : 240 sur Telegram en 8 s environ, 72 par SMS en 2 min environ."


def test_cancelling_sends_nothing_and_a_cluster_is_kept() -> None:
    chat = _facilitator("nl", channel="sms")
    for text in ("menu", _number_of("send_news"), "Vergadering maandag", "2", "2"):
        chat.says(text)
    assert chat.effects == []
    assert translator("nl").gettext("Nothing was sent.") in chat.text
    for text in ("menu", _number_of("send_news"), "Vergadering maandag", "3"):
        chat.says(text)
    assert "[fr]" in chat.text  # the cluster's audience
    chat.says("1")
    assert chat.effects == [SendBroadcast("Vergadering maandag", "nl", "Cabine B")]


def _number_of(key: str) -> str:
    facilitator_menu = ["plan_alert", "share_kit", "invite_workshop", "send_news",
                        "send_survey", "survey_results"]
    return str(facilitator_menu.index(key) + 1)


def test_residents_do_not_get_send_news() -> None:
    chat = member("fr")
    chat.says("menu")
    assert "send_news" not in chat.choice_keys and "topics" in chat.choice_keys


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_residents_mute_and_unmute_topics(locale: str) -> None:
    t = translator(locale)
    chat = member(locale, channel="telegram")
    chat.says("menu")
    chat.says(_number(chat, "topics"))
    assert chat.state.flow == "topics"
    assert chat.choice_keys == ["workshops", "news", "done"]
    assert t.gettext("News: on") in [c.label for m in chat.last for c in m.choices]
    chat.says("2")
    assert chat.effects == [SetTopicMuted("news", True)]
    assert t.gettext("Done: no more news.") in chat.text
    assert t.gettext("News: off") in [c.label for m in chat.last for c in m.choices]
    chat.says("1")
    assert chat.effects[-1] == SetTopicMuted("workshops", True)
    chat.says("2")
    assert chat.effects[-1] == SetTopicMuted("news", False)
    assert t.gettext("Done: news again.") in chat.text
    chat.says("3")
    assert chat.state.flow == "menu" and len(chat.effects) == 3
    # The effects were applied: the topics shown next time are where they were left.
    with Session(chat.engine) as session:
        assert muted_contact_ids(session, 1, Topic.WORKSHOPS) == {chat.who.contact_id}
        assert muted_contact_ids(session, 1, Topic.NEWS) == set()


def _console(engine: Engine, address: str, texts: list[str], start: datetime = NOW
             ) -> list[OutboxMessage]:
    rows: list[OutboxMessage] = []
    for index, text in enumerate(texts):
        at = start + timedelta(seconds=index)
        rows = handle_incoming(engine, IncomingMessage("console", address, text,
                                                       f"{address}-{index}-{text}"),
                               clock=functools.partial(lambda moment: moment, at))
    return rows


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_over_the_terminal_a_resident_mutes_news_and_the_facilitators_news_skips_them(
        sqlite_engine: Engine, locale: str) -> None:
    engine = sqlite_engine
    with session_scope(engine) as session:
        community = seed_demo(session)
        assert community.id is not None
        for reader in SUPPORTED_LOCALES:
            identity = touch_identity(session, "console", f"reader-{reader}", NOW)
            enrol_contact(session, identity, community.id, reader, CONSENT, NOW)
        facilitator = session.exec(select(Contact).where(
            Contact.role == Role.FACILITATOR.value)).one()
        facilitator.locale = locale
    # The resident reading ``locale`` mutes news from the menu (Topics, then News).
    t = translator(locale)
    menu_rows = _console(engine, f"reader-{locale}", ["menu"])
    keys = [c["key"] for c in menu_rows[-1].payload["choices"]]
    rows = _console(engine, f"reader-{locale}", [str(keys.index("topics") + 1), "2"],
                    NOW + timedelta(seconds=5))
    assert t.gettext("Done: no more news.") in rows[-1].payload["text"]
    # The facilitator sends news to the whole community.
    rows = _console(engine, "demo-facilitator", ["menu", "4", "Repair café on Saturday!",
                                                 "1"], NOW + timedelta(minutes=1))
    preview = rows[-1].payload["text"]
    others = [reader for reader in SUPPORTED_LOCALES if reader != locale]
    assert all(f"[{reader}]" in preview for reader in others)
    assert f"[{locale}]" not in preview or locale == "fr"  # demo homes read French
    _console(engine, "demo-facilitator", ["1"], NOW + timedelta(minutes=2))
    with Session(engine) as session:
        broadcast = session.exec(select(Broadcast)).one()
        assert broadcast.status == "scheduled" and broadcast.texts == {
            locale: "Repair café on Saturday!"}
        assert broadcast.created_by is not None
    run_due_broadcasts(engine, broadcast_message, clock=lambda: NOW + timedelta(minutes=3))
    with Session(engine) as session:
        readers = set(session.exec(select(OutboxMessage.contact_id).where(
            OutboxMessage.subject_kind == SubjectKind.BROADCAST.value,
            col(OutboxMessage.contact_id).is_not(None))).all())
        muted = session.exec(select(Contact).join(
            Community, col(Community.id) == Contact.community_id)).all()
        mine = next(c for c in muted if c.locale == locale and c.household_id is None
                    and c.role == Role.RESIDENT.value)
        assert mine.id not in readers and len(readers) >= 4
        # Muting news is not stopping: alerts still reach them.
        assert mine.id in {c.id for c, _ in audience_for(session, mine.community_id, None)}
