"""Joining a community: join code → language → consent → household code (optional) → welcome."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from bot.conversation.choices import match_choice
from bot.flows.base import (
    IDLE,
    BaseFlow,
    Directory,
    Enrol,
    FlowData,
    FlowResult,
    HouseholdView,
    LinkHousehold,
    Who,
    say,
)
from bot.flows.language import LANGUAGE_CHOICES
from bot.flows.link_home import HOUSEHOLD_CODE_TRIES, SKIP, ask_text, read_code, skip_choice
from bot.flows.menu import HINT_CHANNELS, show_menu
from bot.flows.staff import unusable, you_are_now
from core.messages import Choice, IncomingMessage, OutgoingMessage
from core.models import Role

FLOW = "enrolment"

class EnrolmentState(FlowData):
    step: Literal["language", "consent", "household"]
    community_id: int
    code: str = ""
    community_name: str = ""
    # Chosen at the first step; the contact does not exist yet, so it lives here.
    locale: str | None = None
    tries: int = 0
    # Joining with a staff invitation: the role it gives (no household step then).
    staff_role: Role | None = None


def introduction(who: Who, intro: str | None = None) -> FlowResult:
    text = who.t.gettext(
        "Hello! I am Voisins, the bot of your energy community. To join, send JOIN "
        "followed by the code your facilitator gave you, for example: JOIN ABC123"
    )
    # On SMS the introduction alone is what fits in two segments: no preamble there.
    if intro and who.channel not in HINT_CHANNELS:
        text = f"{intro}\n{text}"
    return FlowResult(replies=(say(who, text),), state=IDLE)


def begin(code: str, who: Who, directory: Directory) -> FlowResult:
    community = directory.community_by_join_code(code)
    invite = directory.staff_invite(code) if community is None else None
    if invite is not None and not invite.usable:
        return FlowResult(replies=(say(who, unusable(who)),), state=IDLE)
    if invite is not None:
        state = EnrolmentState(step="language", community_id=invite.community_id, code=code,
                               community_name=invite.community_name, staff_role=invite.role)
        return ENROLMENT.ask_language(who, state, text=who.t.gettext(
            "Welcome to {community}!", community=invite.community_name))
    if community is None:
        text = who.t.gettext(
            "I don't know the code {code}. Please check it with your facilitator "
            "and send JOIN followed by the code.", code=code
        )
        return FlowResult(replies=(say(who, text),), state=IDLE)
    state = EnrolmentState(step="language", community_id=community.id, code=code,
                           community_name=community.name)
    # The welcome alone asks the question: the choices are five languages, each in its own
    # name, and with Arabic among them this SMS is UCS-2 (67 characters a segment).
    welcome = who.t.gettext("Welcome to {community}!", community=community.name)
    return ENROLMENT.ask_language(who, state, text=welcome)


def _yes_no(who: Who) -> tuple[Choice, Choice]:
    return (Choice("yes", who.t.gettext("Yes")), Choice("no", who.t.gettext("No")))


def consent_parts(who: Who) -> tuple[str, str]:
    """What residents agree to (``consent_version`` in core/config.py names this wording):
    what we send and keep, then their rights and the question."""
    t = who.t
    return (
        t.gettext("Voisins sends you grid alerts, short questions and your own energy figures. "
                  "We keep your name, language, phone number or chat id, your answers and "
                  "your home's meter readings; only you see them."),
        t.gettext("Group results always cover at least 5 homes. You can see or erase your "
                  "data, or send STOP, at any time. Do you agree?"),
    )


def consent_text(who: Who) -> str:
    return "\n".join(consent_parts(who))


class Enrolment(BaseFlow[EnrolmentState]):
    """Reached by a join code (``begin``), not from the menu."""

    name = FLOW
    State = EnrolmentState

    def start(self, message: IncomingMessage, who: Who, directory: Directory) -> FlowResult:
        return introduction(who)

    def reprompt(self, who: Who, state: EnrolmentState, directory: Directory) -> FlowResult:
        if state.step == "consent":
            return self._ask_consent(who, state)
        if state.step == "household":
            return self._ask_household(who, state)
        return self.ask_language(who, state)

    def step(self, message: IncomingMessage, who: Who, state: EnrolmentState,
             directory: Directory) -> FlowResult:
        if state.step == "language":
            return self._on_language(message, who, state)
        if state.step == "consent":
            return self._on_consent(message, who, state)
        return self._on_household(message, who, state, directory)

    def ask_language(self, who: Who, state: EnrolmentState, text: str | None = None
                     ) -> FlowResult:
        text = text or who.t.gettext("Which language do you prefer?")
        return FlowResult(replies=(say(who, text, *LANGUAGE_CHOICES),), state=self.keep(state))

    def _on_language(self, message: IncomingMessage, who: Who, state: EnrolmentState
                     ) -> FlowResult:
        choice = match_choice(message, LANGUAGE_CHOICES, who.locale)
        if choice is None:
            text = who.t.gettext("Please choose a language: reply with its number.")
            return FlowResult(replies=(say(who, text, *LANGUAGE_CHOICES),),
                              state=self.keep(state))
        chosen = who.speaking(choice.key)
        return self._ask_consent(chosen, state.model_copy(
            update={"step": "consent", "locale": choice.key}))

    def _ask_consent(self, who: Who, state: EnrolmentState) -> FlowResult:
        # All of it does not fit in two SMS segments in Arabic or Spanish, even kept short:
        # on SMS it goes as two messages, the question (with Yes / No) last.
        notice, question = consent_parts(who)
        replies: tuple[OutgoingMessage, ...]
        if who.channel in HINT_CHANNELS:
            replies = (say(who, notice), say(who, question, *_yes_no(who)))
        else:
            replies = (say(who, f"{notice}\n{question}", *_yes_no(who)),)
        return FlowResult(replies=replies, state=self.keep(state))

    def _on_consent(self, message: IncomingMessage, who: Who, state: EnrolmentState
                    ) -> FlowResult:
        choice = match_choice(message, _yes_no(who), who.locale)
        if choice is None:
            text = who.t.gettext("Please answer yes or no.")
            return FlowResult(replies=(say(who, text, *_yes_no(who)),), state=self.keep(state))
        if choice.key == "no":
            text = who.t.gettext(
                "No problem, nothing has been kept. If you change your mind, send JOIN {code}.",
                code=state.code,
            )
            return FlowResult(replies=(say(who, text),), state=IDLE)
        if state.staff_role is not None:
            # Consent is the staff member's confirmation; the inbox replaces this answer if
            # the code was used meanwhile.
            enrol = Enrol(community_id=state.community_id, locale=who.locale,
                          name=who.display_name, staff_code=state.code)
            staff = replace(who, role=state.staff_role)
            welcome = show_menu(staff, intro=who.t.gettext("Thank you!") + " " + you_are_now(
                who, state.staff_role, state.community_name))
            return FlowResult(replies=welcome.replies, state=welcome.state, effects=(enrol,))
        enrol = Enrol(community_id=state.community_id, locale=who.locale, name=who.display_name)
        result = self._ask_household(who, state.model_copy(update={"step": "household",
                                                                   "tries": 0}),
                                     intro=who.t.gettext("Thank you!"))
        return FlowResult(replies=result.replies, state=result.state, effects=(enrol,))

    def _ask_household(self, who: Who, state: EnrolmentState, intro: str | None = None
                       ) -> FlowResult:
        text = ask_text(who)
        if intro:
            text = f"{intro} {text}"
        return FlowResult(replies=(say(who, text, skip_choice(who)),), state=self.keep(state))

    def _on_household(self, message: IncomingMessage, who: Who, state: EnrolmentState,
                      directory: Directory) -> FlowResult:
        found = read_code(message, who, state.community_id, directory)
        if found == SKIP:
            return _welcome(who)
        if isinstance(found, HouseholdView):
            result = _welcome(who)
            return FlowResult(replies=result.replies, state=result.state,
                              effects=(LinkHousehold(found.id),))
        tries = state.tries + 1
        if tries >= HOUSEHOLD_CODE_TRIES:
            later = who.t.gettext("No worries: your facilitator can link your home later.")
            return _welcome(who, intro=later)
        text = who.t.gettext("I don't know this household code. Try again, or choose Skip.")
        return FlowResult(replies=(say(who, text, skip_choice(who)),),
                          state=self.keep(state.model_copy(update={"tries": tries})))


def _welcome(who: Who, intro: str | None = None) -> FlowResult:
    text = who.t.gettext(
        "You are in! You will get a message before each grid alert. "
        "Send MENU at any time to see what I can do."
    )
    if intro:
        text = f"{intro}\n{text}"
    # The welcome names MENU itself: no hint after it on SMS.
    return show_menu(who, intro=text, hint=False)


ENROLMENT = Enrolment()
