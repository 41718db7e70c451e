"""Staff are invited, not seeded: the admin routes (invite, list, back to resident) and the
code sent over Telegram and SMS (the terminal's test is in tests/bot/channels)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.app import create_app
from bot.i18n import translator
from core.communities import community_by_slug, create_community
from core.db import session_scope
from core.demo import DEMO_NAME, seed_demo
from core.models import ChannelIdentity, Contact, Role
from core.staff import StaffInvite, create_invite
from core.tokens import TokenRole, create_token
from tests.api.helpers import (
    detail_text,
    post_telegram,
    post_twilio,
    sms_form,
    telegram_press,
    telegram_text,
)
from tests.api.test_webhooks import deliver
from tests.bot.channels.conftest import settings_for
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
ADMIN = {"Authorization": "Bearer s3cret"}
CHAT = 5551234567
PHONE = "+32470123456"


def clock() -> datetime:
    return T0


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    with session_scope(engine) as session:
        seed_demo(session, clock=clock)
        create_community(session, "other", "Cité Jardin", join_code="JARDIN", clock=clock)
    return engine


@pytest.fixture
def client(seeded: Engine, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio
           ) -> Iterator[TestClient]:
    app = create_app(seeded, settings_for(fake_telegram, fake_twilio, admin_token="s3cret"),
                     clock=clock)
    with TestClient(app) as test_client:
        yield test_client


def _invite(client: TestClient, role: str = "facilitator", slug: str = "demo") -> str:
    response = client.post(f"/api/v1/communities/{slug}/staff-invites",
                           json={"role": role, "name": "Inès"}, headers=ADMIN)
    assert response.status_code == 201, response.text
    body = response.json()
    assert datetime.fromisoformat(body["expires_at"]) == T0 + timedelta(days=7)
    return str(body["code"])


def _contact(engine: Engine, channel: str) -> Contact | None:
    with Session(engine) as session:
        identity = session.exec(select(ChannelIdentity).where(
            ChannelIdentity.channel == channel)).first()
        if identity is None or identity.contact_id is None:
            return None
        return session.get(Contact, identity.contact_id)


def _community_id(engine: Engine, slug: str) -> int:
    with Session(engine) as session:
        community = community_by_slug(session, slug)
        assert community is not None and community.id is not None
        return community.id


# --------------------------------------------------------------------------------------------
# The chat, per channel
# --------------------------------------------------------------------------------------------

def test_a_staff_code_on_telegram_makes_a_facilitator_of_that_community_only(
        client: TestClient, seeded: Engine, fake_telegram: FakeTelegram,
        fake_twilio: FakeTwilio) -> None:
    settings = settings_for(fake_telegram, fake_twilio)
    code = _invite(client)
    post_telegram(client, telegram_text(1, f"/start {code}", language_code="en"))
    deliver(seeded, settings)
    assert fake_telegram.sent[-1].text == f"Welcome to {DEMO_NAME}!"
    post_telegram(client, telegram_press(2, "en"))
    deliver(seeded, settings)
    assert (fake_telegram.sent[-1].text or "").endswith("Do you agree?")
    post_telegram(client, telegram_press(3, "yes"))
    deliver(seeded, settings)
    welcome = fake_telegram.sent[-1].text or ""
    assert welcome.startswith(f"Thank you! You are now a facilitator of {DEMO_NAME}.")
    # The facilitator's menu, "Invite a facilitator" in it.
    keyboard = fake_telegram.sent[-1].reply_markup or {}
    keys = [row[0]["callback_data"] for row in keyboard["inline_keyboard"]]
    assert "plan_alert" in keys and "invite_facilitator" in keys
    contact = _contact(seeded, "telegram")
    assert contact is not None and contact.role == Role.FACILITATOR.value
    assert contact.community_id == _community_id(seeded, "demo") and contact.name == "Inès"
    staff = client.get("/api/v1/communities/demo/staff", headers=ADMIN).json()
    assert contact.id in [s["contact_id"] for s in staff]
    assert client.get("/api/v1/communities/other/staff", headers=ADMIN).json() == []
    # Used: a second person is refused, kindly.
    post_telegram(client, telegram_text(4, f"/start {code}", chat_id=777, language_code="en"))
    deliver(seeded, settings)
    assert fake_telegram.texts_to(777)[-1] == (
        "This invitation code has expired or was already used. Please ask the person who "
        "invited you for a new one.")


def test_a_staff_code_by_sms_and_an_expired_one(client: TestClient, seeded: Engine,
                                                fake_telegram: FakeTelegram,
                                                fake_twilio: FakeTwilio) -> None:
    settings = settings_for(fake_telegram, fake_twilio)
    code = _invite(client, role="technician", slug="other")
    for index, text in enumerate([f"JOIN {code}", "3", "yes"]):
        assert post_twilio(client, sms_form(text, f"SM{index:032d}")).status_code == 200
        deliver(seeded, settings)
    bodies = fake_twilio.bodies_to(PHONE)
    assert bodies[-1].startswith("Thank you! You are now a technician of Cité Jardin.")
    contact = _contact(seeded, "sms")
    assert contact is not None and contact.role == Role.TECHNICIAN.value
    assert contact.community_id == _community_id(seeded, "other")
    # An expired code, in the community's language (French) for a stranger.
    with session_scope(seeded) as session:
        community = community_by_slug(session, "demo")
        assert community is not None
        old = create_invite(session, community, Role.FACILITATOR, T0 - timedelta(days=8)).code
    post_twilio(client, sms_form(f"JOIN {old}", "SM" + "e" * 32, sender="+32470555555"))
    deliver(seeded, settings)
    assert fake_twilio.bodies_to("+32470555555")[-1] == translator("fr").gettext(
        "This invitation code has expired or was already used. Please ask the person who "
        "invited you for a new one.")
    assert _contact_count(seeded) == 3  # the demo's two staff and the technician


def _contact_count(engine: Engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(Contact)).all())


def test_a_resident_accepts_a_staff_code_of_their_community(
        client: TestClient, seeded: Engine, fake_telegram: FakeTelegram,
        fake_twilio: FakeTwilio) -> None:
    settings = settings_for(fake_telegram, fake_twilio)
    for index, text in enumerate(["JOIN VOISINS", "3", "yes", "MAISON02"]):
        post_twilio(client, sms_form(text, f"SM{index:032d}"))
    code = _invite(client)
    post_twilio(client, sms_form(f"JOIN {code}", "SM" + "a" * 32))
    deliver(seeded, settings)
    assert fake_twilio.bodies_to(PHONE)[-1].startswith(
        f"This code makes you a facilitator of {DEMO_NAME}. Do you accept?")
    post_twilio(client, sms_form("1", "SM" + "b" * 32))
    deliver(seeded, settings)
    assert fake_twilio.bodies_to(PHONE)[-1].startswith(
        f"You are now a facilitator of {DEMO_NAME}.")
    contact = _contact(seeded, "sms")
    assert contact is not None and contact.role == Role.FACILITATOR.value
    assert contact.household_id is not None  # still their home
    # And back to resident through the API.
    assert client.delete(f"/api/v1/communities/demo/staff/{contact.id}",
                         headers=ADMIN).status_code == 204
    contact = _contact(seeded, "sms")
    assert contact is not None and contact.role == Role.RESIDENT.value
    assert client.delete(f"/api/v1/communities/demo/staff/{contact.id}",
                         headers=ADMIN).status_code == 404


def test_a_code_of_another_community_is_refused_to_a_member(
        client: TestClient, seeded: Engine, fake_telegram: FakeTelegram,
        fake_twilio: FakeTwilio) -> None:
    settings = settings_for(fake_telegram, fake_twilio)
    for index, text in enumerate(["JOIN VOISINS", "3", "yes", "MAISON02"]):
        post_twilio(client, sms_form(text, f"SM{index:032d}"))
    code = _invite(client, slug="other")
    post_twilio(client, sms_form(f"JOIN {code}", "SM" + "c" * 32))
    deliver(seeded, settings)
    assert fake_twilio.bodies_to(PHONE)[-1].startswith(
        f"This invitation is for another community than yours ({DEMO_NAME}).")
    contact = _contact(seeded, "sms")
    assert contact is not None and contact.role == Role.RESIDENT.value
    with Session(seeded) as session:
        invite = session.exec(select(StaffInvite).where(StaffInvite.code == code)).one()
        assert invite.used_at is None


# --------------------------------------------------------------------------------------------
# The admin routes
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "status", "reason"), [
    ({"role": "admin"}, 422, "facilitator"),
    ({"role": "resident"}, 422, "facilitator"),
    ({}, 422, "required"),
    ({"role": "facilitator", "name": "  "}, 422, "blank"),
    ({"role": "facilitator", "name": "x" * 81}, 422, "80"),
])
def test_bad_invites_say_why(client: TestClient, body: dict[str, str], status: int,
                             reason: str) -> None:
    response = client.post("/api/v1/communities/demo/staff-invites", json=body, headers=ADMIN)
    assert response.status_code == status, response.text
    assert reason in detail_text(response)


def test_staff_routes_answer_404_for_unknown_things(client: TestClient) -> None:
    assert client.post("/api/v1/communities/nowhere/staff-invites", json={
        "role": "facilitator"}, headers=ADMIN).status_code == 404
    assert client.get("/api/v1/communities/nowhere/staff", headers=ADMIN).status_code == 404
    assert client.delete("/api/v1/communities/demo/staff/99999",
                         headers=ADMIN).status_code == 404


def test_staff_list_has_roles_and_channels_not_addresses(client: TestClient) -> None:
    staff = client.get("/api/v1/communities/demo/staff", headers=ADMIN).json()
    assert [(s["role"], s["channels"]) for s in staff] == [("facilitator", ["console"]),
                                                          ("technician", ["console"])]
    assert "demo-facilitator" not in str(staff)


def test_who_may_invite_and_remove(client: TestClient, seeded: Engine) -> None:
    with session_scope(seeded) as session:
        tokens = {role: create_token(session, role.value, role, "demo").secret
                  for role in TokenRole}
    def bearer(role: TokenRole) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[role]}"}
    url = "/api/v1/communities/demo/staff-invites"
    assert client.post(url, json={"role": "facilitator"},
                       headers=bearer(TokenRole.VIEWER)).status_code == 403
    assert client.post(url, json={"role": "facilitator"},
                       headers=bearer(TokenRole.FACILITATOR)).status_code == 201
    staff = client.get("/api/v1/communities/demo/staff",
                       headers=bearer(TokenRole.VIEWER)).json()
    removal = f"/api/v1/communities/demo/staff/{staff[0]['contact_id']}"
    assert client.delete(removal, headers=bearer(TokenRole.FACILITATOR)).status_code == 403
    assert client.delete(removal, headers=bearer(TokenRole.ADMIN)).status_code == 204


def test_the_demo_seeds_one_staff_invitation(seeded: Engine) -> None:
    from core.demo import seed_demo_staff_invite

    with session_scope(seeded) as session:
        community = community_by_slug(session, "demo")
        assert community is not None
        code = seed_demo_staff_invite(session, community, T0)
        assert seed_demo_staff_invite(session, community, T0) == code  # once
        invite = session.exec(select(StaffInvite).where(StaffInvite.code == code)).one()
        assert invite.role == Role.FACILITATOR.value
