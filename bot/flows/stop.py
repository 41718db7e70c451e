"""STOP and START, in every language: stopping is honoured at once and never argued with."""

from __future__ import annotations

from bot.flows.base import IDLE, FlowResult, OptIn, OptOut, Who, say
from bot.flows.menu import show_menu
from core import outbox

# Messages of these kinds may still reach a contact who has stopped: they answer the STOP.
KIND_STOP_ACK = outbox.KIND_STOP_ACK


def stop(who: Who) -> FlowResult:
    text = who.t.gettext(
        "You will not get any more messages from Voisins. Send START if you want to come back."
    )
    effects = (OptOut(),) if who.enrolled else ()
    return FlowResult(replies=(say(who, text, kind=KIND_STOP_ACK),), state=IDLE, effects=effects)


def still_stopped(who: Who) -> FlowResult:
    text = who.t.gettext("Your messages from Voisins are stopped. Send START to get them again.")
    return FlowResult(replies=(say(who, text, kind=KIND_STOP_ACK),), state=IDLE)


def start_again(who: Who) -> FlowResult:
    result = show_menu(who, intro=who.t.gettext("Welcome back! You will get our messages again."))
    return FlowResult(replies=result.replies, state=result.state, effects=(OptIn(),))
