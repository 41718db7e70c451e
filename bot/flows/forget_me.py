""""Forget me": erasure after one clear confirmation."""

from __future__ import annotations

from typing import Literal

from bot.conversation.choices import match_choice
from bot.flows.base import (
    IDLE,
    BaseFlow,
    Directory,
    Erase,
    FlowData,
    FlowResult,
    MenuEntry,
    Who,
    say,
)
from bot.flows.menu import show_menu
from core.messages import Choice, IncomingMessage

FLOW = "forget_me"
KIND_FAREWELL = "farewell"


class ForgetMeState(FlowData):
    step: Literal["confirm"] = "confirm"


def _yes_no(who: Who) -> tuple[Choice, Choice]:
    t = who.t
    return (Choice("yes", t.gettext("Yes, erase")), Choice("no", t.gettext("No, keep")))


class ForgetMe(BaseFlow[ForgetMeState]):
    name = FLOW
    State = ForgetMeState
    entry = MenuEntry(order=80, label=lambda t: t.gettext("Erase my data"))

    def start(self, message: IncomingMessage, who: Who, directory: Directory) -> FlowResult:
        return self.reprompt(who, ForgetMeState(), directory)

    def reprompt(self, who: Who, state: ForgetMeState, directory: Directory) -> FlowResult:
        text = who.t.gettext(
            "Erase everything Voisins stores about you? You will not get any more messages. "
            "This cannot be undone."
        )
        return FlowResult(replies=(say(who, text, *_yes_no(who)),), state=self.keep(state))

    def step(self, message: IncomingMessage, who: Who, state: ForgetMeState,
             directory: Directory) -> FlowResult:
        choice = match_choice(message, _yes_no(who), who.locale)
        if choice is None:
            text = who.t.gettext("Please answer yes or no.")
            return FlowResult(replies=(say(who, text, *_yes_no(who)),), state=self.keep(state))
        if choice.key == "no":
            return show_menu(who, intro=who.t.gettext("Nothing was erased."))
        text = who.t.gettext(
            "Done: your data has been erased. Thank you for taking part! "
            "Send JOIN with your code if you ever want to come back."
        )
        # Nothing to come back to: no menu after a farewell.
        return FlowResult(replies=(say(who, text, kind=KIND_FAREWELL),), state=IDLE,
                          effects=(Erase(),))


FORGET_ME = ForgetMe()
