"""The menu and the help text: where a resident lands when no conversation is pending.

The menu lists the registered flows a reader's role may use (``bot/flows/registry.py``), in
their registered order, numbered 1, 2, 3…: an entry's number never depends on what is pending.
When a conversation is paused, "Continue where we left off" comes last.

Every reply that ends a step ends at the menu. On Telegram, WhatsApp and the terminal the
menu itself comes with it, as buttons or numbered options. On SMS an answer ends with a
one-line hint to send MENU instead, so that every SMS fits in two segments and nobody on a
basic phone gets five lines of options after each reply; the menu is sent whole only when
asked for. The state records whether the numbered menu was shown: a number typed when it was
not (after a hint, a chart, a result) is answered with the menu, never acted on.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.flows.base import (
    BaseFlow,
    Directory,
    FlowData,
    FlowResult,
    FlowState,
    NoState,
    Who,
    say,
)
from core.messages import Choice, IncomingMessage, OutgoingMessage

FLOW = "menu"
RESUME = "resume"
# Channels where an answer ends with a hint to send MENU rather than the menu itself.
HINT_CHANNELS = frozenset({"sms"})


class Paused(BaseModel):
    """The conversation to come back to, as it was stored."""

    model_config = ConfigDict(frozen=True)

    flow: str
    step: str | None = None
    data: dict[str, Any] = {}

    def state(self) -> FlowState:
        return FlowState(flow=self.flow, step=self.step, data=dict(self.data))


class MenuState(FlowData):
    step: Literal["choose"] = "choose"
    # Whether the reader saw the numbered menu (False after a reply that ended with the hint).
    shown: bool = True
    paused: Paused | None = None


def keep(state: MenuState) -> FlowState:
    return FlowState(flow=FLOW, step=state.step,
                     data=state.model_dump(mode="json", exclude={"step"}))


def load(stored: FlowState) -> MenuState:
    """The menu's typed state; raises ``pydantic.ValidationError`` for a damaged one."""
    return MenuState.model_validate({**stored.data, "step": stored.step})


def menu_choices(who: Who, paused: Paused | None = None) -> tuple[Choice, ...]:
    # Imported here: the registry imports every flow, and every flow ends at the menu.
    from bot.flows.registry import menu_flows

    choices = [Choice(flow.name, flow.entry.label(who.t))
               for flow in menu_flows(who) if flow.entry is not None]
    if paused is not None:
        choices.append(Choice(RESUME, who.t.gettext("Continue where we left off")))
    return tuple(choices)


def menu_hint(who: Who) -> str:
    return who.t.gettext("Send MENU for options.")


def _menu_reply(who: Who, intro: str | None, paused: Paused | None, hint: bool
                ) -> tuple[OutgoingMessage, bool]:
    """The reply and whether it shows the numbered menu."""
    if intro and who.channel in HINT_CHANNELS:
        return say(who, f"{intro}\n{menu_hint(who)}" if hint else intro), False
    text = who.t.gettext("What would you like to do?")
    if intro:
        text = f"{intro}\n{text}"
    return say(who, text, *menu_choices(who, paused)), True


def menu_message(who: Who, intro: str | None = None, paused: Paused | None = None,
                 *, hint: bool = True) -> OutgoingMessage:
    """The menu, after ``intro`` if given. On SMS, ``intro`` then the hint to send MENU
    (``hint=False`` when ``intro`` already says how to get the menu)."""
    return _menu_reply(who, intro, paused, hint)[0]


def show_menu(who: Who, intro: str | None = None, paused: Paused | None = None,
              *, hint: bool = True) -> FlowResult:
    """End a step: ``intro`` with the menu (on SMS with the hint), and the menu's state."""
    reply, shown = _menu_reply(who, intro, paused, hint)
    return FlowResult(replies=(reply,),
                      state=keep(MenuState(shown=shown, paused=paused)))


def menu_after(who: Who) -> FlowResult:
    """End a step whose answer the inbox adds (a chart, survey results, share kits): the
    menu, or on SMS only the hint, as the last message."""
    if who.channel in HINT_CHANNELS:
        return FlowResult(replies=(say(who, menu_hint(who)),),
                          state=keep(MenuState(shown=False)))
    return show_menu(who)


def help_text(who: Who) -> str:
    return who.t.gettext(
        "Voisins helps our community use electricity at the right moments. "
        "Send at any time: MENU, LANGUAGE, HELP, STOP (no more messages), START (to come back)."
    )


def show_help(who: Who, paused: Paused | None = None) -> FlowResult:
    # The help text names MENU itself: no hint after it on SMS.
    return show_menu(who, intro=help_text(who), paused=paused, hint=False)


def not_understood(who: Who, paused: Paused | None = None) -> FlowResult:
    return show_menu(
        who, intro=who.t.gettext("Sorry, I didn't understand that."), paused=paused
    )


def pause_of(state: FlowState) -> Paused | None:
    """The conversation to come back to after a detour through the menu or help."""
    if state.flow == FLOW:
        try:
            return load(state).paused
        except ValidationError:
            return None
    if state.flow is None:
        return None
    return Paused(flow=state.flow, step=state.step, data=state.data)


class OneAnswerFlow(BaseFlow[NoState]):
    """A menu entry answered in one reply that ends at the menu: it never waits, so a stored
    state for it (there should be none) just brings the menu back."""

    State = NoState

    def step(self, message: IncomingMessage, who: Who, state: NoState,
             directory: Directory) -> FlowResult:
        return self.start(message, who, directory)

    def reprompt(self, who: Who, state: NoState, directory: Directory) -> FlowResult:
        return show_menu(who)

    def start(self, message: IncomingMessage, who: Who, directory: Directory) -> FlowResult:
        raise NotImplementedError
