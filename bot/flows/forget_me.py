""""Forget me": erasure after one clear confirmation."""

from __future__ import annotations

from bot.conversation.choices import match_choice
from bot.flows.base import IDLE, Erase, FlowResult, FlowState, Who, say
from bot.flows.menu import menu_message
from core.messages import Choice, IncomingMessage

FLOW = "forget_me"
KIND_FAREWELL = "farewell"


def _yes_no(who: Who) -> tuple[Choice, Choice]:
    t = who.t
    return (Choice("yes", t.gettext("Yes, erase")), Choice("no", t.gettext("No, keep")))


def start(message: IncomingMessage, who: Who, state: FlowState) -> FlowResult:
    return reprompt(who, FlowState(flow=FLOW, step="confirm"))


def reprompt(who: Who, state: FlowState) -> FlowResult:
    text = who.t.gettext(
        "Erase everything Voisins stores about you? You will not get any more messages. "
        "This cannot be undone."
    )
    return FlowResult(replies=(say(who, text, *_yes_no(who)),), state=state)


def step(message: IncomingMessage, who: Who, state: FlowState) -> FlowResult:
    choice = match_choice(message, _yes_no(who), who.locale)
    if choice is None:
        text = who.t.gettext("Please answer yes or no.")
        return FlowResult(replies=(say(who, text, *_yes_no(who)),), state=state)
    if choice.key == "no":
        return FlowResult(
            replies=(menu_message(who, intro=who.t.gettext("Nothing was erased.")),),
            state=FlowState("menu", "choose"),
        )
    text = who.t.gettext(
        "Done: your data has been erased. Thank you for taking part! "
        "Send JOIN with your code if you ever want to come back."
    )
    return FlowResult(replies=(say(who, text, kind=KIND_FAREWELL),), state=IDLE,
                      effects=(Erase(),))
