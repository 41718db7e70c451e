"""Telegram groups linked with /link CODE, collective posts only, and the WhatsApp share kit."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.app import create_app
from bot.channels.senders import build_senders
from bot.i18n import translator
from bot.outbound.dispatch import dispatch_due
from bot.rendering.share_kit import share_kits
from core.config import SUPPORTED_LOCALES
from core.db import session_scope
from core.demo import seed_demo
from core.groups import NotCollective, TelegramGroup, post_to_groups
from core.identities import touch_identity
from core.models import Contact, Role
from tests.api.helpers import fixture, post_telegram
from tests.bot.channels.conftest import settings_for
from tests.fakes.telegram_api import FakeTelegram

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
GROUP = -1001234567890
FACILITATOR = 5559990000


def group_command(update_id: int, text: str, user_id: int = FACILITATOR) -> dict[str, Any]:
    update = copy.deepcopy(fixture("telegram/update_group_command.json"))
    update["update_id"] = update_id
    update["message"]["text"] = text
    update["message"]["from"]["id"] = user_id
    return update


@pytest.fixture
def community(engine: Engine) -> int:
    with session_scope(engine) as session:
        demo = seed_demo(session, clock=lambda: T0)
        # The facilitator also talks to the bot on Telegram, from their own account.
        facilitator = session.exec(select(Contact).where(
            Contact.role == Role.FACILITATOR.value)).one()
        identity = touch_identity(session, "telegram", str(FACILITATOR), T0)
        identity.contact_id = facilitator.id
        assert demo.id is not None
        return demo.id


@pytest.fixture
def client(engine: Engine, community: int, fake_telegram: FakeTelegram
           ) -> Iterator[TestClient]:
    with TestClient(create_app(engine, settings_for(fake_telegram), clock=lambda: T0)) as c:
        yield c


def test_a_facilitator_links_a_group_and_it_gets_collective_posts_only(
        client: TestClient, engine: Engine, community: int,
        fake_telegram: FakeTelegram) -> None:
    senders = build_senders(engine, settings_for(fake_telegram))
    # A resident's /start in a group does not enrol the group.
    post_telegram(client, group_command(1, "/start@voisins_bot VOISINS", user_id=777))
    post_telegram(client, group_command(2, "/link@voisins_bot VOISINS", user_id=777))
    dispatch_due(engine, senders, clock=lambda: T0)
    t = translator("fr")
    assert fake_telegram.texts_to(GROUP) == [t.gettext(
        "Only a facilitator of {community} can link this group.",
        community="Voisins d'Énergie (démo)")]

    post_telegram(client, group_command(3, "/link@voisins_bot VOISINS"))
    dispatch_due(engine, senders, clock=lambda: T0)
    assert "Voisins d'Énergie (démo)" in fake_telegram.texts_to(GROUP)[-1]
    with Session(engine) as session:
        group = session.exec(select(TelegramGroup)).one()
        assert group.chat_id == str(GROUP) and group.title == "Rue des Tilleuls"
        assert group.community_id == community

    with session_scope(engine) as session:
        rows = post_to_groups(session, community, dedupe_key="alert:1:start", kind="alert_start",
                              payload={"text": "Alert now", "locale": "fr",
                                       "choices": [{"key": "alert:1:in", "label": "In"}]},
                              now=T0)
        assert len(rows) == 1
        with pytest.raises(NotCollective):
            post_to_groups(session, community, dedupe_key="my:data", kind="my_data",
                           payload={"text": "Your home used 3 kWh"}, now=T0)
    dispatch_due(engine, senders, clock=lambda: T0)
    last = fake_telegram.sent[-1]
    assert last.text == "Alert now" and last.reply_markup is None  # no buttons in groups


def test_share_kit_links(engine: Engine) -> None:
    kits = share_kits("Rue des Tilleuls", "VOISINS", SUPPORTED_LOCALES,
                      whatsapp_number="whatsapp:+32 2 555 01 99", telegram_bot="@voisins_bot")
    assert [kit.locale for kit in kits] == list(SUPPORTED_LOCALES)
    for kit in kits:
        assert kit.join_link == "https://wa.me/3225550199?text=JOIN%20VOISINS"
        assert kit.telegram_link == "https://t.me/voisins_bot?start=VOISINS"
        assert kit.share_link.startswith("https://wa.me/?text=")
        assert unquote(kit.share_link.removeprefix("https://wa.me/?text=")) == kit.text
        assert kit.join_link in kit.text and "VOISINS" in kit.text
