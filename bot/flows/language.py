"""Change language: the choice is offered in each language's own name."""

from __future__ import annotations

from bot.conversation.choices import match_choice
from bot.flows.base import FlowResult, FlowState, SetLocale, Who, say
from bot.flows.menu import menu_message
from bot.i18n.formatting import language_name
from core.messages import Choice, IncomingMessage

FLOW = "language"

# Each language is offered under its own name, so anyone can find theirs.
LANGUAGE_NAMES: dict[str, str] = {
    "fr": "Français",
    "nl": "Nederlands",
    "en": "English",
    "ar": "العربية",
    "es": "Español",
}
LANGUAGE_CHOICES = tuple(Choice(code, name) for code, name in LANGUAGE_NAMES.items())


def start(message: IncomingMessage, who: Who, state: FlowState) -> FlowResult:
    return reprompt(who, FlowState(flow=FLOW, step="choose"))


def reprompt(who: Who, state: FlowState) -> FlowResult:
    text = who.t.gettext("Which language do you prefer?")
    return FlowResult(replies=(say(who, text, *LANGUAGE_CHOICES),), state=state)


def step(message: IncomingMessage, who: Who, state: FlowState) -> FlowResult:
    choice = match_choice(message, LANGUAGE_CHOICES, who.locale)
    if choice is None:
        text = who.t.gettext("Please choose a language: reply with its number.")
        return FlowResult(replies=(say(who, text, *LANGUAGE_CHOICES),), state=state)
    now_speaking = who.speaking(choice.key)
    # Inside a sentence: "en español", "en français" (the menu's labels are capitalised).
    done = now_speaking.t.gettext("Done: I will write to you in {language}.",
                                  language=language_name(choice.key))
    return FlowResult(
        replies=(menu_message(now_speaking, intro=done),),
        state=FlowState(flow="menu", step="choose"),
        effects=(SetLocale(choice.key),),
    )
