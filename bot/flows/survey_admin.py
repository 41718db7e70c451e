"""Facilitator chat: send a survey to an audience, or read a survey's results.

"Send a survey": choose a questionnaire → audience (whole community, a cluster, a language)
→ confirm → effect ``StartCampaign`` (applied by
``bot.rendering.survey_results.apply_campaign_effect``).
"Survey results": choose a questionnaire → effect ``ShowSurveyResults`` (answered by
``bot.rendering.survey_results.survey_results_replies``: a summary and one chart per choice
question), then the menu.

Two menu entries, two flows sharing one state model. Facilitators only: the router checks
``roles`` before every step.
"""

from __future__ import annotations

from typing import Literal

from babel import Locale
from pydantic import Field

from bot.conversation.choices import match_choice
from bot.flows.audience_choices import confirm_choices
from bot.flows.base import (
    FACILITATORS,
    BaseFlow,
    Directory,
    FlowData,
    FlowResult,
    MenuEntry,
    ShowSurveyResults,
    StartCampaign,
    Who,
    say,
)
from bot.flows.menu import menu_after, show_menu
from core.messages import Choice, IncomingMessage
from core.questionnaires.definition import localized

SEND = "send_survey"
RESULTS = "survey_results"
WHOLE = "*"
BY_CLUSTER = "cluster"
BY_LANGUAGE = "language"
MAX_LISTED = 8


class SurveyAdminState(FlowData):
    step: Literal["pick", "audience", "cluster", "language", "confirm"] = "pick"
    # (id, title in the facilitator's language) of the questionnaires offered.
    questionnaires: list[tuple[int, str]] = Field(default_factory=list)
    questionnaire_id: int | None = None
    title: str = ""
    clusters: list[str] = Field(default_factory=list)
    locales: list[str] = Field(default_factory=list)
    cluster: str | None = None
    locale: str | None = None
    count: int = 0


def _questionnaire_choices(state: SurveyAdminState) -> tuple[Choice, ...]:
    return tuple(Choice(f"q:{qid}", title) for qid, title in state.questionnaires)


def _audience_choices(who: Who, state: SurveyAdminState) -> tuple[Choice, ...]:
    choices = [Choice(WHOLE, who.t.gettext("The whole community"))]
    if state.clusters:
        choices.append(Choice(BY_CLUSTER, who.t.gettext("One group of homes")))
    if len(state.locales) > 1:
        choices.append(Choice(BY_LANGUAGE, who.t.gettext("One language")))
    return tuple(choices)


def _cluster_choices(state: SurveyAdminState) -> tuple[Choice, ...]:
    return tuple(Choice(f"c:{name}"[:64], name) for name in state.clusters)


def language_name(locale: str, reader: str) -> str:
    try:
        name = Locale.parse(locale).get_language_name(reader)
    except (ValueError, TypeError):
        name = None
    return name or locale


def _language_choices(who: Who, state: SurveyAdminState) -> tuple[Choice, ...]:
    return tuple(Choice(f"l:{loc}", language_name(loc, who.locale)) for loc in state.locales)


def _step_choices(who: Who, state: SurveyAdminState) -> tuple[str, tuple[Choice, ...]]:
    t = who.t
    if state.step == "audience":
        return t.gettext("Who should receive it?"), _audience_choices(who, state)
    if state.step == "cluster":
        return t.gettext("Which group of homes?"), _cluster_choices(state)
    if state.step == "language":
        return t.gettext("Which language?"), _language_choices(who, state)
    if state.step == "confirm":
        return t.gettext("Send this survey to {count} people?",
                         count=state.count), confirm_choices(who)
    return t.gettext("Which questionnaire?"), _questionnaire_choices(state)


class SurveyAdmin(BaseFlow[SurveyAdminState]):
    State = SurveyAdminState
    roles = FACILITATORS

    def start(self, message: IncomingMessage, who: Who, directory: Directory) -> FlowResult:
        listed = [(qid, localized(title, who.locale))
                  for qid, title in directory.survey_questionnaires()[:MAX_LISTED]]
        if not listed:
            return show_menu(who, who.t.gettext("There is no questionnaire yet."))
        return self.reprompt(who, SurveyAdminState(questionnaires=listed), directory)

    def reprompt(self, who: Who, state: SurveyAdminState, directory: Directory,
                 intro: str | None = None) -> FlowResult:
        text, choices = _step_choices(who, state)
        if intro:
            text = f"{intro}\n{text}"
        return FlowResult(replies=(say(who, text, *choices),), state=self.keep(state))

    def step(self, message: IncomingMessage, who: Who, state: SurveyAdminState,
             directory: Directory) -> FlowResult:
        choice = match_choice(message, _step_choices(who, state)[1], who.locale)
        if choice is None:
            return self.reprompt(who, state, directory,
                                 intro=who.t.gettext("Please choose one of the answers."))
        return self.chosen(who, state, choice, directory)

    def chosen(self, who: Who, state: SurveyAdminState, choice: Choice, directory: Directory
               ) -> FlowResult:
        raise NotImplementedError


class SurveyResults(SurveyAdmin):
    name = RESULTS
    entry = MenuEntry(order=40, label=lambda t: t.gettext("Survey results"))

    def chosen(self, who: Who, state: SurveyAdminState, choice: Choice, directory: Directory
               ) -> FlowResult:
        closing = menu_after(who)
        return FlowResult(replies=closing.replies, state=closing.state,
                          effects=(ShowSurveyResults(int(choice.key.removeprefix("q:"))),))


class SendSurvey(SurveyAdmin):
    name = SEND
    entry = MenuEntry(order=30, label=lambda t: t.gettext("Send a survey"))

    def chosen(self, who: Who, state: SurveyAdminState, choice: Choice, directory: Directory
               ) -> FlowResult:
        if who.community is None:
            return show_menu(who)
        community_id = who.community.id
        if state.step == "pick":
            clusters = list(directory.cluster_names(community_id))
            locales = list(directory.audience_locales(community_id, None))
            picked = state.model_copy(update={
                "step": "audience", "questionnaire_id": int(choice.key.removeprefix("q:")),
                "title": choice.label, "clusters": clusters, "locales": locales})
            if not clusters and len(locales) < 2:
                return self._confirm(who, picked, directory, None, None)
            return self.reprompt(who, picked, directory)
        if state.step == "audience":
            if choice.key == BY_CLUSTER:
                return self.reprompt(who, state.model_copy(update={"step": "cluster"}),
                                     directory)
            if choice.key == BY_LANGUAGE:
                return self.reprompt(who, state.model_copy(update={"step": "language"}),
                                     directory)
            return self._confirm(who, state, directory, None, None)
        if state.step == "cluster":
            return self._confirm(who, state, directory, choice.label, None)
        if state.step == "language":
            return self._confirm(who, state, directory, None, choice.key.removeprefix("l:"))
        if choice.key == "no" or state.questionnaire_id is None:
            return show_menu(who, who.t.gettext("Nothing was sent."))
        effect = StartCampaign(state.questionnaire_id, state.cluster, state.locale)
        done = who.t.gettext("Done: the survey goes out now (at night, during quiet hours, it "
                             "waits for the morning). Those who have not finished get one "
                             "reminder after 2 days.")
        result = show_menu(who, intro=done)
        return FlowResult(replies=result.replies, state=result.state, effects=(effect,))

    def _confirm(self, who: Who, state: SurveyAdminState, directory: Directory,
                 cluster: str | None, locale: str | None) -> FlowResult:
        assert who.community is not None
        count = directory.survey_audience_size(who.community.id, cluster, locale)
        if count == 0:
            return self.reprompt(who, state.model_copy(update={"step": "audience"}), directory,
                                 intro=who.t.gettext("Nobody can receive it in this group."))
        return self.reprompt(who, state.model_copy(update={
            "step": "confirm", "cluster": cluster, "locale": locale, "count": count}),
            directory, intro=state.title)


SEND_SURVEY = SendSurvey()
SURVEY_RESULTS = SurveyResults()
