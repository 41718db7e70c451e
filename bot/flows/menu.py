"""The menu and the help text: where a resident lands when no conversation is pending.

On Telegram and WhatsApp an answer comes with the menu as buttons or numbered options, ready
for the next step. On SMS the menu is only sent on its own (MENU, START, a new member): an
answer ends with a one-line hint to send MENU instead, so that every SMS fits in two segments
and nobody on a basic phone gets five lines of options after each reply. The conversation
state is the same on every channel, so a number from the last menu still works.
"""

from __future__ import annotations

from typing import Any

from bot.flows.base import FlowResult, FlowState, Who, say
from core.messages import Choice, OutgoingMessage

FLOW = "menu"
# Channels where an answer ends with a hint to send MENU rather than the menu itself.
HINT_CHANNELS = frozenset({"sms"})


def menu_choices(who: Who, paused: dict[str, Any] | None = None) -> tuple[Choice, ...]:
    t = who.t
    choices = []
    if paused:
        choices.append(Choice("resume", t.gettext("Continue where we left off")))
    if who.role == "facilitator":
        choices.append(Choice("plan_alert", t.gettext("Plan an alert")))
        choices.append(Choice("share_kit", t.gettext("Invite a WhatsApp group")))
        choices.append(Choice("send_survey", t.gettext("Send a survey")))
        choices.append(Choice("survey_results", t.gettext("Survey results")))
    choices += [
        Choice("consumption", t.gettext("My consumption")),
        Choice("my_data", t.gettext("My data")),
        Choice("language", t.gettext("Change language")),
        Choice("forget_me", t.gettext("Erase my data")),
        Choice("help", t.gettext("Help")),
    ]
    return tuple(choices)


def menu_hint(who: Who) -> str:
    return who.t.gettext("Send MENU for options.")


def menu_message(who: Who, intro: str | None = None, paused: dict[str, Any] | None = None,
                 *, hint: bool = True) -> OutgoingMessage:
    """The menu, after ``intro`` if given. On SMS, ``intro`` then the hint to send MENU
    (``hint=False`` when ``intro`` already says how to get the menu)."""
    if intro and who.channel in HINT_CHANNELS:
        return say(who, f"{intro}\n{menu_hint(who)}" if hint else intro)
    text = who.t.gettext("What would you like to do?")
    if intro:
        text = f"{intro}\n{text}"
    return say(who, text, *menu_choices(who, paused))


def show_menu(who: Who, intro: str | None = None, paused: dict[str, Any] | None = None,
              *, hint: bool = True) -> FlowResult:
    data = {"paused": paused} if paused else {}
    return FlowResult(
        replies=(menu_message(who, intro, paused, hint=hint),),
        state=FlowState(flow=FLOW, step="choose", data=data),
    )


def help_text(who: Who) -> str:
    return who.t.gettext(
        "Voisins helps our community use electricity at the right moments. "
        "Send at any time: MENU, LANGUAGE, HELP, STOP (no more messages), START (to come back)."
    )


def show_help(who: Who, paused: dict[str, Any] | None = None) -> FlowResult:
    # The help text names MENU itself: no hint after it on SMS.
    return show_menu(who, intro=help_text(who), paused=paused, hint=False)


def not_understood(who: Who, paused: dict[str, Any] | None = None) -> FlowResult:
    return show_menu(
        who, intro=who.t.gettext("Sorry, I didn't understand that."), paused=paused
    )


def pause_of(state: FlowState) -> dict[str, Any] | None:
    """The conversation to come back to after a detour through the menu or help."""
    if state.flow == FLOW:
        paused = state.data.get("paused")
        return paused if isinstance(paused, dict) else None
    if state.flow is None:
        return None
    return {"flow": state.flow, "step": state.step, "data": state.data}
