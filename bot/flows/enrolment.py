"""Joining a community: join code → language → consent → household code (optional) → welcome."""

from __future__ import annotations

from bot.conversation.choices import match_choice
from bot.flows.base import (
    IDLE,
    Directory,
    Enrol,
    FlowResult,
    FlowState,
    LinkHousehold,
    Who,
    say,
)
from bot.flows.language import LANGUAGE_CHOICES
from bot.flows.menu import HINT_CHANNELS, menu_message
from bot.i18n.keywords import fold, is_skip
from core.messages import Choice, IncomingMessage, OutgoingMessage

FLOW = "enrolment"
# After this many unknown household codes we stop asking: the facilitator can link later.
HOUSEHOLD_CODE_TRIES = 2


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
    if community is None:
        text = who.t.gettext(
            "I don't know the code {code}. Please check it with your facilitator "
            "and send JOIN followed by the code.", code=code
        )
        return FlowResult(replies=(say(who, text),), state=IDLE)
    state = FlowState(flow=FLOW, step="language",
                      data={"community_id": community.id, "code": code,
                            "community_name": community.name})
    # The welcome alone asks the question: the choices are five languages, each in its own
    # name, and with Arabic among them this SMS is UCS-2 (67 characters a segment).
    welcome = who.t.gettext("Welcome to {community}!", community=community.name)
    return _ask_language(who, state, text=welcome)


def reprompt(who: Who, state: FlowState) -> FlowResult:
    if state.step == "consent":
        return _ask_consent(who, state)
    if state.step == "household":
        return _ask_household(who, state)
    return _ask_language(who, state)


def step(message: IncomingMessage, who: Who, state: FlowState, directory: Directory,
         consent_version: str) -> FlowResult:
    if state.step == "language":
        return _on_language(message, who, state)
    if state.step == "consent":
        return _on_consent(message, who, state, consent_version)
    if state.step == "household":
        return _on_household(message, who, state, directory)
    return introduction(who)


def _ask_language(who: Who, state: FlowState, text: str | None = None) -> FlowResult:
    text = text or who.t.gettext("Which language do you prefer?")
    return FlowResult(replies=(say(who, text, *LANGUAGE_CHOICES),), state=state)


def _on_language(message: IncomingMessage, who: Who, state: FlowState) -> FlowResult:
    choice = match_choice(message, LANGUAGE_CHOICES, who.locale)
    if choice is None:
        text = who.t.gettext("Please choose a language: reply with its number.")
        return FlowResult(replies=(say(who, text, *LANGUAGE_CHOICES),), state=state)
    chosen = who.speaking(choice.key)
    return _ask_consent(chosen, state.at(FLOW, "consent", locale=choice.key))


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


def _ask_consent(who: Who, state: FlowState) -> FlowResult:
    # All of it does not fit in two SMS segments in Arabic or Spanish, even kept short:
    # on SMS it goes as two messages, the question (with Yes / No) last.
    notice, question = consent_parts(who)
    replies: tuple[OutgoingMessage, ...]
    if who.channel in HINT_CHANNELS:
        replies = (say(who, notice), say(who, question, *_yes_no(who)))
    else:
        replies = (say(who, f"{notice}\n{question}", *_yes_no(who)),)
    return FlowResult(replies=replies, state=state)


def _on_consent(message: IncomingMessage, who: Who, state: FlowState,
                consent_version: str) -> FlowResult:
    choice = match_choice(message, _yes_no(who), who.locale)
    if choice is None:
        text = who.t.gettext("Please answer yes or no.")
        return FlowResult(replies=(say(who, text, *_yes_no(who)),), state=state)
    if choice.key == "no":
        text = who.t.gettext(
            "No problem, nothing has been kept. If you change your mind, send JOIN {code}.",
            code=state.data.get("code", ""),
        )
        return FlowResult(replies=(say(who, text),), state=IDLE)
    enrol = Enrol(
        community_id=int(state.data["community_id"]),
        locale=who.locale,
        consent_version=consent_version,
        name=who.display_name,
    )
    result = _ask_household(who, state.at(FLOW, "household", tries=0),
                            intro=who.t.gettext("Thank you!"))
    return FlowResult(replies=result.replies, state=result.state, effects=(enrol,))


def _skip(who: Who) -> Choice:
    return Choice("skip", who.t.gettext("Skip"))


def _ask_household(who: Who, state: FlowState, intro: str | None = None) -> FlowResult:
    text = who.t.gettext(
        "If your facilitator gave you a household code, type it now. Otherwise, choose Skip."
    )
    if intro:
        text = f"{intro} {text}"
    return FlowResult(replies=(say(who, text, _skip(who)),), state=state)


def _on_household(message: IncomingMessage, who: Who, state: FlowState,
                  directory: Directory) -> FlowResult:
    if match_choice(message, (_skip(who),), who.locale) is not None or _is_skip_word(message):
        return _welcome(who, state, linked=False)
    code = fold(message.text).upper()
    household = None
    if 0 < len(code) <= 32:
        household = directory.household_by_code(int(state.data["community_id"]), code)
    if household is not None:
        result = _welcome(who, state, linked=True)
        return FlowResult(replies=result.replies, state=result.state,
                          effects=(LinkHousehold(household.id),))
    tries = int(state.data.get("tries", 0)) + 1
    if tries >= HOUSEHOLD_CODE_TRIES:
        later = who.t.gettext("No worries: your facilitator can link your home later.")
        return _welcome(who, state, linked=False, intro=later)
    text = who.t.gettext("I don't know this household code. Try again, or choose Skip.")
    return FlowResult(replies=(say(who, text, _skip(who)),), state=state.at(FLOW, "household",
                                                                             tries=tries))


def _is_skip_word(message: IncomingMessage) -> bool:
    return is_skip(message.text)


def _welcome(who: Who, state: FlowState, linked: bool, intro: str | None = None) -> FlowResult:
    text = who.t.gettext(
        "You are in! You will get a message before each grid alert. "
        "Send MENU at any time to see what I can do."
    )
    if intro:
        text = f"{intro}\n{text}"
    # The welcome names MENU itself: no hint after it on SMS.
    return FlowResult(replies=(menu_message(who, intro=text, hint=False),),
                      state=FlowState(flow="menu", step="choose"))
