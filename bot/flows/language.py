"""Change language: the choice is offered in each language's own name."""

from __future__ import annotations

from typing import Literal

from bot.conversation.choices import match_choice
from bot.flows.base import (
    BaseFlow,
    Directory,
    FlowData,
    FlowResult,
    MenuEntry,
    SetLocale,
    Who,
    say,
)
from bot.flows.menu import show_menu
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


class LanguageState(FlowData):
    step: Literal["choose"] = "choose"


class Language(BaseFlow[LanguageState]):
    name = FLOW
    State = LanguageState
    entry = MenuEntry(order=70, label=lambda t: t.gettext("Change language"))

    def start(self, message: IncomingMessage, who: Who, directory: Directory) -> FlowResult:
        return self.reprompt(who, LanguageState(), directory)

    def reprompt(self, who: Who, state: LanguageState, directory: Directory) -> FlowResult:
        text = who.t.gettext("Which language do you prefer?")
        return FlowResult(replies=(say(who, text, *LANGUAGE_CHOICES),), state=self.keep(state))

    def step(self, message: IncomingMessage, who: Who, state: LanguageState,
             directory: Directory) -> FlowResult:
        choice = match_choice(message, LANGUAGE_CHOICES, who.locale)
        if choice is None:
            text = who.t.gettext("Please choose a language: reply with its number.")
            return FlowResult(replies=(say(who, text, *LANGUAGE_CHOICES),),
                              state=self.keep(state))
        now_speaking = who.speaking(choice.key)
        # Inside a sentence: "en español", "en français" (the menu's labels are capitalised).
        done = now_speaking.t.gettext("Done: I will write to you in {language}.",
                                      language=language_name(choice.key))
        result = show_menu(now_speaking, intro=done)
        return FlowResult(replies=result.replies, state=result.state,
                          effects=(SetLocale(choice.key),))


LANGUAGE = Language()
