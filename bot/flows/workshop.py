"""A resident's answer to a workshop invitation: Yes / Maybe / No, and "My invitations" to
change one's mind later.

An invitation opens this flow at "answer" (a typed 1/2/3 answers it); a button under it
answers it from anywhere (``answer_button``, called by the router). What the answer means
(a place, or the waiting list) is worded by the inbox once recorded
(``bot.rendering.workshops.apply_answer``).
"""

from __future__ import annotations

from typing import Literal

from bot.conversation.choices import match_choice
from bot.flows.base import (
    AnswerWorkshop,
    BaseFlow,
    Directory,
    FlowData,
    FlowResult,
    InvitationView,
    MenuEntry,
    Who,
    say,
)
from bot.flows.menu import Paused, show_menu
from bot.i18n import Translator
from bot.i18n.formatting import format_local_datetime
from core.messages import Choice, IncomingMessage, OutgoingMessage
from core.workshop_tables import Answer

FLOW = "workshop"
BUTTON_PREFIX = "workshop:"
ANSWERS = (Answer.YES, Answer.MAYBE, Answer.NO)


def answer_label(t: Translator, answer: str | None) -> str:
    if answer == Answer.YES:
        return t.gettext("Yes")
    if answer == Answer.MAYBE:
        return t.gettext("Maybe")
    if answer == Answer.NO:
        return t.gettext("No")
    if answer == Answer.WAITING:
        return t.gettext("On the waiting list")
    return t.gettext("Not answered yet")


def answer_choices(t: Translator, workshop_id: int) -> tuple[Choice, ...]:
    return tuple(Choice(f"{BUTTON_PREFIX}{workshop_id}:{answer.value}", answer_label(t, answer))
                 for answer in ANSWERS)


def is_workshop_button(message: IncomingMessage) -> bool:
    return bool(message.choice_key and message.choice_key.startswith(BUTTON_PREFIX))


def _answered(who: Who, workshop_id: int, answer: str, paused: Paused | None = None
              ) -> FlowResult:
    if answer not in {a.value for a in ANSWERS}:
        return show_menu(who, paused=paused)
    # The inbox replaces this with what the answer meant (a place, the waiting list...).
    result = show_menu(who, paused=paused)
    return FlowResult(replies=result.replies, state=result.state,
                      effects=(AnswerWorkshop(workshop_id, answer),))


def answer_button(message: IncomingMessage, who: Who, paused: Paused | None) -> FlowResult:
    """A tap under an invitation answers it, whatever was pending (kept paused)."""
    _, workshop, answer = (message.choice_key or "").split(":", 2)
    return _answered(who, int(workshop) if workshop.isdigit() else 0, answer, paused)


class WorkshopState(FlowData):
    # "pick": which invitation (from the menu); "answer": Yes / Maybe / No to one.
    step: Literal["pick", "answer"] = "answer"
    workshop_id: int = 0
    choices: tuple[int, ...] = ()


def _when(who: Who, invitation: InvitationView) -> str:
    timezone = who.community.timezone if who.community else "Europe/Brussels"
    return format_local_datetime(invitation.starts_at, timezone, who.locale)


class WorkshopAnswer(BaseFlow[WorkshopState]):
    name = FLOW
    State = WorkshopState
    entry = MenuEntry(order=56, label=lambda t: t.gettext("My invitations"))

    def start(self, message: IncomingMessage, who: Who, directory: Directory) -> FlowResult:
        invitations = directory.invitations(who.contact_id or 0, who.locale)
        if not invitations:
            return show_menu(who, intro=who.t.gettext(
                "You have no open invitation at the moment."))
        if len(invitations) == 1:
            return self._ask(who, invitations[0])
        state = WorkshopState(step="pick", choices=tuple(i.workshop_id for i in invitations))
        return FlowResult(replies=(self._list(who, invitations),), state=self.keep(state))

    def _list(self, who: Who, invitations: tuple[InvitationView, ...]) -> OutgoingMessage:
        t = who.t
        choices = [Choice(str(i.workshop_id), t.gettext(
            "{title}, {when} ({answer})", title=i.title, when=_when(who, i),
            answer=answer_label(t, i.answer))) for i in invitations]
        return say(who, t.gettext("Your invitations: which one?"), *choices)

    def _ask(self, who: Who, invitation: InvitationView) -> FlowResult:
        t = who.t
        text = "\n".join([
            t.gettext("{title}, {when}, {place}.", title=invitation.title,
                      when=_when(who, invitation), place=invitation.place),
            t.gettext("Your answer: {answer}. Will you come?",
                      answer=answer_label(t, invitation.answer))])
        state = WorkshopState(step="answer", workshop_id=invitation.workshop_id)
        return FlowResult(replies=(say(who, text, *answer_choices(t, invitation.workshop_id)),),
                          state=self.keep(state))

    def step(self, message: IncomingMessage, who: Who, state: WorkshopState,
             directory: Directory) -> FlowResult:
        if is_workshop_button(message):
            return answer_button(message, who, None)
        if state.step == "pick":
            invitations = {i.workshop_id: i for i in
                           directory.invitations(who.contact_id or 0, who.locale)}
            listed = tuple(invitations[w] for w in state.choices if w in invitations)
            if not listed:
                return show_menu(who, intro=who.t.gettext(
                    "You have no open invitation at the moment."))
            reply = self._list(who, listed)
            choice = match_choice(message, reply.choices, who.locale)
            if choice is None:
                return FlowResult(replies=(reply,), state=self.keep(state))
            return self._ask(who, invitations[int(choice.key)])
        choices = answer_choices(who.t, state.workshop_id)
        choice = match_choice(message, choices, who.locale)
        if choice is None:
            text = who.t.gettext("Reply with 1, 2 or 3, or MENU for something else.")
            return FlowResult(replies=(say(who, text, *choices),), state=self.keep(state))
        return _answered(who, state.workshop_id, choice.key.rsplit(":", 1)[1])

    def reprompt(self, who: Who, state: WorkshopState, directory: Directory) -> FlowResult:
        if state.step == "pick":
            return self.start(IncomingMessage("", "", "", ""), who, directory)
        text = who.t.gettext("Will you come to the workshop?")
        return FlowResult(replies=(say(who, text, *answer_choices(who.t, state.workshop_id)),),
                          state=self.keep(state))


WORKSHOP = WorkshopAnswer()
