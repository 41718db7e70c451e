""""Gestures together": a facilitator's view of the community's gestures and of the appliance
exercise, counted together (``ShowGesturesTogether``, answered by
``bot.rendering.gestures_together``: a text, and a chart of the exercise); then the menu.

Only figures over at least ``privacy_k`` households, never who chose what: a starting point
for a workshop discussion.
"""

from __future__ import annotations

from bot.flows.base import (
    FACILITATORS,
    Directory,
    FlowResult,
    MenuEntry,
    ShowGesturesTogether,
    Who,
)
from bot.flows.menu import OneAnswerFlow, menu_after
from core.messages import IncomingMessage

FLOW = "gestures_together"


class GesturesTogether(OneAnswerFlow):
    name = FLOW
    roles = FACILITATORS
    entry = MenuEntry(order=47, label=lambda t: t.gettext("Gestures together"))

    def start(self, message: IncomingMessage, who: Who, directory: Directory) -> FlowResult:
        closing = menu_after(who)
        return FlowResult(replies=closing.replies, state=closing.state,
                          effects=(ShowGesturesTogether(),))


GESTURES_TOGETHER = GesturesTogether()
