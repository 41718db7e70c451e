"""Staff invitations at the terminal: a facilitator makes a code from the menu, a newcomer
sends it and becomes a facilitator of that community only; a used or expired code is refused
kindly."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.channels.console import ConsoleChat
from bot.i18n import translator
from core.communities import create_community
from core.db import session_scope
from core.demo import DEMO_NAME, seed_demo
from core.identities import identity_for
from core.models import Contact, Role
from core.staff import create_invite

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
REFUSAL = ("This invitation code has expired or was already used. Please ask the person who "
           "invited you for a new one.")


def _contact(engine: Engine, address: str) -> Contact | None:
    with Session(engine) as session:
        identity = identity_for(session, "console", address)
        assert identity is not None
        return session.get(Contact, identity.contact_id) if identity.contact_id else None


def test_a_facilitator_invites_another_at_the_terminal(engine: Engine) -> None:
    with session_scope(engine) as session:
        demo = seed_demo(session, clock=lambda: NOW)
        create_community(session, "other", "Cité Jardin", clock=lambda: NOW)
        expired = create_invite(session, demo, Role.FACILITATOR, NOW - timedelta(days=7)).code
    screen: list[str] = []
    awa = ConsoleChat(engine, "demo-facilitator", write=screen.append, clock=lambda: NOW)
    awa.say("MENU")
    french = translator("fr")  # the demo's facilitator reads French
    assert french.gettext("Invite a facilitator") in screen[-1]
    awa.say("Invite a facilitator", choice_key="invite_facilitator")
    invitation = next(line for line in screen if "Un code pour un nouvel animateur" in line)
    found = re.search(r"REJOINDRE ([A-Z0-9]{8})", invitation)
    assert found is not None
    code = found.group(1)

    newcomer: list[str] = []
    ines = ConsoleChat(engine, "ines", locale_hint="en", write=newcomer.append,
                       clock=lambda: NOW)
    for line in [f"JOIN {code}", "3", "1"]:
        ines.say(line)
    assert f"You are now a facilitator of {DEMO_NAME}." in newcomer[-1]
    assert "Plan an alert" in newcomer[-1]
    contact = _contact(engine, "ines")
    assert contact is not None and contact.role == Role.FACILITATOR.value
    assert contact.community_id == demo.id

    for address, sent in (("late", code), ("later", expired)):
        lines: list[str] = []
        ConsoleChat(engine, address, locale_hint="en", write=lines.append,
                    clock=lambda: NOW).say(f"JOIN {sent}")
        assert lines[-1] == f"\nVoisins › {REFUSAL}"
        assert _contact(engine, address) is None
    with Session(engine) as session:
        staff = session.exec(select(Contact).where(Contact.role != Role.RESIDENT.value)).all()
        assert len(staff) == 3
