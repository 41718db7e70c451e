""""Help" in the menu: what Voisins is for and the words that work at any time."""

from __future__ import annotations

from bot.flows.base import Directory, FlowResult, MenuEntry, Who
from bot.flows.menu import OneAnswerFlow, show_help
from core.messages import IncomingMessage

FLOW = "help"


class Help(OneAnswerFlow):
    name = FLOW
    entry = MenuEntry(order=90, label=lambda t: t.gettext("Help"))

    def start(self, message: IncomingMessage, who: Who, directory: Directory) -> FlowResult:
        return show_help(who)


HELP = Help()
