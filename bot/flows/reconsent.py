"""When the consent text changes version (``consent_version`` in core/config.py), members
are asked again at their next message, before anything else: the new text, then Yes (go on,
the new version is recorded), No (no more messages: STOP) or erase everything."""

from __future__ import annotations

from typing import Literal

from bot.conversation.choices import match_choice
from bot.flows.base import (
    BaseFlow,
    Directory,
    FlowData,
    FlowResult,
    RenewConsent,
    Who,
    say,
)
from bot.flows.enrolment import consent_parts
from bot.flows.forget_me import FORGET_ME
from bot.flows.menu import HINT_CHANNELS, show_menu
from bot.flows.stop import stop
from core.messages import Choice, IncomingMessage, OutgoingMessage

FLOW = "reconsent"


class ReconsentState(FlowData):
    step: Literal["consent"] = "consent"


def _choices(who: Who) -> tuple[Choice, Choice, Choice]:
    t = who.t
    return (Choice("yes", t.gettext("Yes")), Choice("no", t.gettext("No")),
            Choice("erase", t.gettext("Erase my data")))


class Reconsent(BaseFlow[ReconsentState]):
    """Reached by the router only (a member whose consent is of an older text)."""

    name = FLOW
    State = ReconsentState

    def start(self, message: IncomingMessage, who: Who, directory: Directory) -> FlowResult:
        return self.reprompt(who, ReconsentState(), directory)

    def reprompt(self, who: Who, state: ReconsentState, directory: Directory) -> FlowResult:
        notice, question = consent_parts(who)
        changed = who.t.gettext("Our privacy notice has changed. Please read it again:")
        replies: tuple[OutgoingMessage, ...]
        if who.channel in HINT_CHANNELS:
            # As at enrolment: two SMS, the question (with its choices) last.
            replies = (say(who, f"{changed}\n{notice}"), say(who, question, *_choices(who)))
        else:
            replies = (say(who, f"{changed}\n{notice}\n{question}", *_choices(who)),)
        return FlowResult(replies=replies, state=self.keep(state))

    def step(self, message: IncomingMessage, who: Who, state: ReconsentState,
             directory: Directory) -> FlowResult:
        choice = match_choice(message, _choices(who), who.locale)
        if choice is None:
            text = who.t.gettext("Please answer yes or no.")
            return FlowResult(replies=(say(who, text, *_choices(who)),),
                              state=self.keep(state))
        if choice.key == "erase":
            return FORGET_ME.start(message, who, directory)
        if choice.key == "no":
            # Without consent, no messages: as STOP (their data stays until they erase it).
            return stop(who)
        result = show_menu(who, intro=who.t.gettext("Thank you!"))
        return FlowResult(replies=result.replies, state=result.state, effects=(RenewConsent(),))


RECONSENT = Reconsent()
