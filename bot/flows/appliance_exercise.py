""""Which appliances can wait?": L'Échappée's first experiment as a short chat activity.

For each appliance of ``core/content/exercises/appliances.yaml``: during an alert, is it
indispensable, useful, or for comfort (or "I don't have one")? At the end the resident reads
what they could put off, and one matching gesture at a time, which they may choose
(``ChooseSuggestedGesture``, applied with ``core.gestures.choose_gesture``). Their answers
are kept with ``RecordApplianceRatings`` (a new say replaces the old one); only the group's
summary, from ``privacy_k`` households, ever reaches a facilitator ("Gestures together").

Nobody is judged: everything indispensable is a fine answer. Each message fits in two SMS
segments in every language with its numbered choices.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bot.conversation.choices import match_choice
from bot.flows.base import (
    BaseFlow,
    ChooseSuggestedGesture,
    Directory,
    FlowData,
    FlowResult,
    MenuEntry,
    RecordApplianceRatings,
    Who,
    say,
)
from bot.flows.menu import show_menu
from bot.i18n.formatting import format_items
from core.gesture_content import Appliance, Rating, appliance_exercise, localized
from core.messages import Choice, IncomingMessage
from core.models import Role

FLOW = "appliance_exercise"
NONE = "none"
YES, ANOTHER, NO = "yes", "another", "no"
# The summary names this many appliances at most, so that it fits in two SMS segments.
MAX_NAMED = 4
# One suggestion at a time, from the first few.
MAX_SUGGESTIONS = 3


class ExerciseState(FlowData):
    step: Literal["rate", "suggest"] = "rate"
    # The appliance being asked (its position in the exercise).
    index: int = Field(default=0, ge=0, le=100)
    ratings: dict[str, Rating] = Field(default_factory=dict)
    # The gestures still to suggest: (slug, text per language); the first is on screen.
    suggestions: list[tuple[str, dict[str, str]]] = Field(default_factory=list)


def _appliances() -> tuple[Appliance, ...]:
    return appliance_exercise().appliances


def _rating_choices(who: Who) -> tuple[Choice, ...]:
    labels = appliance_exercise().ratings
    return (*(Choice(rating.value, localized(labels[rating], who.locale)) for rating in Rating),
            Choice(NONE, who.t.gettext("I don't have one")))


def _question(who: Who, index: int) -> str:
    appliance = _appliances()[index]
    return who.t.gettext("{position}/{total} {appliance}. During an alert, for you it is:",
                         position=index + 1, total=len(_appliances()),
                         appliance=localized(appliance.name, who.locale))


def _lower_first(text: str) -> str:
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def summary_text(who: Who, ratings: dict[str, Rating]) -> str:
    """"During an alert you could put off: the dryer, the oven", comfort first."""
    t = who.t
    names = {a.slug: localized(a.name, who.locale) for a in _appliances()}
    order = [a.slug for a in _appliances()]
    waiting = sorted((slug for slug, rating in ratings.items()
                      if rating.can_wait and slug in names),
                     key=lambda slug: (ratings[slug] is not Rating.COMFORTABLE,
                                       order.index(slug)))
    if not ratings:
        return t.gettext("Thank you for taking part!")
    if not waiting:
        return t.gettext("During an alert, all of these are indispensable for you, and that "
                         "is fine: each household does what it can.")
    named = [_lower_first(names[slug]) for slug in waiting[:MAX_NAMED]]
    more = len(waiting) - len(named)
    if more:
        named.append(t.ngettext("{count} more", "{count} more", more))
    return t.gettext("During an alert you could put off: {appliances}.",
                     appliances=format_items(named, who.locale))


def _suggestion_choices(who: Who, state: ExerciseState) -> tuple[Choice, ...]:
    choices = [Choice(YES, who.t.gettext("Yes, I choose it"))]
    if len(state.suggestions) > 1:
        choices.append(Choice(ANOTHER, who.t.gettext("Another one")))
    choices.append(Choice(NO, who.t.gettext("No, thank you")))
    return tuple(choices)


def _suggestion(who: Who, state: ExerciseState) -> str:
    # The gesture alone: up to 100 characters, which with the question and its numbered
    # answers would not fit in two Arabic SMS segments.
    _slug, texts = state.suggestions[0]
    return who.t.gettext("A gesture that goes with it: {gesture}.",
                         gesture=localized(texts, who.locale).rstrip("."))


class ApplianceExercise(BaseFlow[ExerciseState]):
    name = FLOW
    State = ExerciseState
    roles = frozenset({Role.RESIDENT})
    entry = MenuEntry(order=54, label=lambda t: t.gettext("Which appliances can wait?"))

    def start(self, message: IncomingMessage, who: Who, directory: Directory) -> FlowResult:
        if who.contact_id is None:
            return show_menu(who)
        intro = who.t.gettext("For each appliance, tell me what it is for you during an "
                              "alert. No answer is wrong.")
        # Its own message: with the first question and its answers it would not fit in two
        # Arabic SMS segments.
        first = self.reprompt(who, ExerciseState(), directory)
        return FlowResult(replies=(say(who, intro), *first.replies), state=first.state)

    def reprompt(self, who: Who, state: ExerciseState, directory: Directory,
                 intro: str | None = None) -> FlowResult:
        if state.step == "suggest" and state.suggestions:
            question = who.t.gettext("Would you like to choose it?")
            if intro:
                question = f"{intro}\n{question}"
            return FlowResult(replies=(say(who, _suggestion(who, state)),
                                       say(who, question, *_suggestion_choices(who, state))),
                              state=self.keep(state))
        if state.step == "rate" and state.index < len(_appliances()):
            text, choices = _question(who, state.index), _rating_choices(who)
        else:
            return show_menu(who, who.t.gettext("Thank you for taking part!"))
        if intro:
            text = f"{intro}\n{text}"
        return FlowResult(replies=(say(who, text, *choices),), state=self.keep(state))

    def step(self, message: IncomingMessage, who: Who, state: ExerciseState,
             directory: Directory) -> FlowResult:
        if state.step == "suggest":
            return self._answer_suggestion(message, who, state, directory)
        if state.index >= len(_appliances()):
            return self._finish(who, state, directory)
        choice = match_choice(message, _rating_choices(who), who.locale)
        if choice is None:
            return self.reprompt(who, state, directory,
                                 intro=who.t.gettext("Please choose one of the answers."))
        ratings = dict(state.ratings)
        slug = _appliances()[state.index].slug
        if choice.key == NONE:
            ratings.pop(slug, None)
        else:
            ratings[slug] = Rating(choice.key)
        rated = state.model_copy(update={"index": state.index + 1, "ratings": ratings})
        if rated.index < len(_appliances()):
            return self.reprompt(who, rated, directory)
        return self._finish(who, rated, directory)

    def _finish(self, who: Who, state: ExerciseState, directory: Directory) -> FlowResult:
        effect = RecordApplianceRatings(tuple(sorted((slug, rating.value)
                                                     for slug, rating in state.ratings.items())))
        summary = summary_text(who, state.ratings)
        slugs = tuple(appliance_exercise().suggestions(state.ratings))
        suggestions = directory.exercise_suggestions(who.contact_id, slugs) \
            if slugs and who.contact_id is not None else ()
        if not suggestions:
            closing = show_menu(who, summary)
            return FlowResult(replies=closing.replies, state=closing.state, effects=(effect,))
        suggesting = ExerciseState(step="suggest", index=state.index, ratings=state.ratings,
                                   suggestions=[(slug, dict(texts)) for slug, texts
                                                in suggestions[:MAX_SUGGESTIONS]])
        asked = self.reprompt(who, suggesting, directory)
        return FlowResult(replies=(say(who, summary), *asked.replies), state=asked.state,
                          effects=(effect,))

    def _answer_suggestion(self, message: IncomingMessage, who: Who, state: ExerciseState,
                           directory: Directory) -> FlowResult:
        if not state.suggestions:
            return show_menu(who, who.t.gettext("Thank you for taking part!"))
        choice = match_choice(message, _suggestion_choices(who, state), who.locale)
        if choice is None:
            return self.reprompt(who, state, directory,
                                 intro=who.t.gettext("Please choose one of the answers."))
        if choice.key == ANOTHER:
            return self.reprompt(who, state.model_copy(
                update={"suggestions": state.suggestions[1:]}), directory)
        if choice.key == NO:
            return show_menu(who, who.t.gettext("All right. Thank you for taking part!"))
        slug, texts = state.suggestions[0]
        done = show_menu(who, who.t.gettext("Noted: {gesture}. Thank you!",
                                            gesture=localized(texts, who.locale)))
        return FlowResult(replies=done.replies, state=done.state,
                          effects=(ChooseSuggestedGesture(slug),))


APPLIANCE_EXERCISE = ApplianceExercise()
