""""Invite a WhatsApp group": ready-to-forward invitations for a facilitator.

No bot can post into residents' WhatsApp groups, so the facilitator forwards what the inbox
renders from the ``SendShareKit`` effect (``share_kit_replies``); the menu comes after.
"""

from __future__ import annotations

from bot.flows.base import FACILITATORS, Directory, FlowResult, MenuEntry, SendShareKit, Who
from bot.flows.menu import OneAnswerFlow, menu_after
from core.messages import IncomingMessage

FLOW = "share_kit"


class ShareKit(OneAnswerFlow):
    name = FLOW
    roles = FACILITATORS
    entry = MenuEntry(order=20, label=lambda t: t.gettext("Invite a WhatsApp group"))

    def start(self, message: IncomingMessage, who: Who, directory: Directory) -> FlowResult:
        closing = menu_after(who)
        return FlowResult(replies=closing.replies, state=closing.state,
                          effects=(SendShareKit(),))


SHARE_KIT = ShareKit()
