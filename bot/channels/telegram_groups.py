"""Telegram groups: a facilitator sends ``/link CODE`` in the group to link it.

Group chats never enter the residents' flows (nothing personal is said in a group). In
privacy mode the bot only sees commands there anyway; everything but ``/link`` is ignored.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session
from telegram import Update

from bot.i18n import translator
from bot.i18n.keywords import command_and_argument
from core import groups, outbox
from core.clock import Clock, utc_now
from core.communities import community_by_join_code
from core.db import session_scope
from core.identities import identity_for
from core.inbound import first_delivery
from core.models import Contact, OutboxMessage, Role

PRIVATE = "private"


def is_group_update(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type != PRIVATE


def handle_group_update(engine: Engine, update: Update, clock: Clock = utc_now
                        ) -> list[OutboxMessage]:
    """Link the group when a facilitator of the community asks; answer in the group."""
    message = update.message
    if message is None or message.text is None or message.from_user is None:
        return []
    command, argument = command_and_argument(message.text)
    if command != "link":
        return []
    now = clock()
    with session_scope(engine) as session:
        if not first_delivery(session, "telegram", f"update:{update.update_id}", now):
            return []
        chat_id = str(message.chat.id)
        code = argument.split()[0].upper() if argument.split() else ""
        text, locale = _link(session, code, chat_id, message.chat.title,
                             str(message.from_user.id), now)
        identity = groups.group_identity(session, chat_id, now)
        row = outbox.enqueue(session, dedupe_key=f"group:{chat_id}:update:{update.update_id}",
                             identity=identity, kind="group_notice",
                             payload={"text": text, "locale": locale, "choices": []}, now=now)
        return [row] if row is not None else []


def _link(session: Session, code: str, chat_id: str, title: str | None, user_id: str,
          now: datetime) -> tuple[str, str]:
    community = community_by_join_code(session, code) if code else None
    if community is None or community.id is None:
        t = translator("fr")
        return t.gettext("Send /link followed by your community's join code, "
                         "for example: /link ABC123"), t.locale
    t = translator(community.default_locale)
    # The sender's private chat with the bot has the same id as the user: that is how we
    # know who they are, and whether they facilitate this community.
    identity = identity_for(session, "telegram", user_id)
    contact = session.get(Contact, identity.contact_id) if identity and identity.contact_id \
        else None
    if contact is None or contact.role != Role.FACILITATOR.value \
            or contact.community_id != community.id:
        return t.gettext("Only a facilitator of {community} can link this group.",
                         community=community.name), t.locale
    groups.link_group(session, community.id, chat_id, title, contact.id, now)
    return t.gettext(
        "This group is now linked to {community}. I will post collective messages here "
        "(alerts, group results, invitations), never anyone's personal data.",
        community=community.name), t.locale
