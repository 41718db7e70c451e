"""Facilitator chat: send a survey to an audience, or read a survey's results.

"Send a survey": choose a questionnaire → audience (whole community, a cluster, a language)
→ confirm → effect ``StartCampaign`` (applied by
``bot.rendering.survey_results.apply_campaign_effect``).
"Survey results": choose a questionnaire → effect ``ShowSurveyResults`` (answered by
``bot.rendering.survey_results.survey_results_replies``: a summary and one chart per choice
question).

Pure: lookups go through ``SurveyAdminDirectory`` (implemented in
``bot/rendering/survey_results.py``).
Residents never reach this flow: it sends them back to the menu.
"""

from __future__ import annotations

from typing import Protocol

from babel import Locale

from bot.conversation.choices import match_choice
from bot.flows.base import FlowResult, FlowState, ShowSurveyResults, StartCampaign, Who, say
from bot.flows.menu import menu_message
from core.messages import Choice, IncomingMessage
from core.questionnaires.definition import localized

FLOW = "survey_admin"
SEND = "send"
RESULTS = "results"
WHOLE = "*"
BY_CLUSTER = "cluster"
BY_LANGUAGE = "language"
MAX_LISTED = 8


class SurveyAdminDirectory(Protocol):
    def survey_questionnaires(self) -> tuple[tuple[int, dict[str, str]], ...]:
        """Active questionnaires: (id, title per language)."""
        ...

    def cluster_names(self, community_id: int) -> tuple[str, ...]: ...

    def audience_locales(self, community_id: int, cluster: str | None) -> tuple[str, ...]: ...

    def survey_audience_size(self, community_id: int, cluster: str | None,
                             locale: str | None) -> int: ...


def _menu(who: Who, intro: str | None = None) -> FlowResult:
    return FlowResult(replies=(menu_message(who, intro=intro),),
                      state=FlowState("menu", "choose"))


def _allowed(who: Who) -> bool:
    return who.community is not None and who.role == "facilitator"


def start_send(who: Who, directory: SurveyAdminDirectory) -> FlowResult:
    return _start(who, directory, SEND)


def start_results(who: Who, directory: SurveyAdminDirectory) -> FlowResult:
    return _start(who, directory, RESULTS)


def _start(who: Who, directory: SurveyAdminDirectory, purpose: str) -> FlowResult:
    if not _allowed(who):
        return _menu(who)
    listed = [[qid, localized(title, who.locale)]
              for qid, title in directory.survey_questionnaires()[:MAX_LISTED]]
    if not listed:
        return _menu(who, who.t.gettext("There is no questionnaire yet."))
    return reprompt(who, FlowState(FLOW, "pick", {"purpose": purpose,
                                                  "questionnaires": listed}))


def _questionnaire_choices(state: FlowState) -> tuple[Choice, ...]:
    return tuple(Choice(f"q:{qid}", str(title))
                 for qid, title in state.data.get("questionnaires", []))


def _audience_choices(who: Who, state: FlowState) -> tuple[Choice, ...]:
    choices = [Choice(WHOLE, who.t.gettext("The whole community"))]
    if state.data.get("clusters"):
        choices.append(Choice(BY_CLUSTER, who.t.gettext("One group of homes")))
    if len(state.data.get("locales", [])) > 1:
        choices.append(Choice(BY_LANGUAGE, who.t.gettext("One language")))
    return tuple(choices)


def _cluster_choices(state: FlowState) -> tuple[Choice, ...]:
    return tuple(Choice(f"c:{name}"[:64], str(name)) for name in state.data.get("clusters", []))


def language_name(locale: str, reader: str) -> str:
    try:
        name = Locale.parse(locale).get_language_name(reader)
    except (ValueError, TypeError):
        name = None
    return name or locale


def _language_choices(who: Who, state: FlowState) -> tuple[Choice, ...]:
    return tuple(Choice(f"l:{loc}", language_name(str(loc), who.locale))
                 for loc in state.data.get("locales", []))


def _confirm_choices(who: Who) -> tuple[Choice, ...]:
    return (Choice("yes", who.t.gettext("Yes, send")), Choice("no", who.t.gettext("No, cancel")))


def _step_choices(who: Who, state: FlowState) -> tuple[str, tuple[Choice, ...]]:
    t = who.t
    if state.step == "audience":
        return t.gettext("Who should receive it?"), _audience_choices(who, state)
    if state.step == "cluster":
        return t.gettext("Which group of homes?"), _cluster_choices(state)
    if state.step == "language":
        return t.gettext("Which language?"), _language_choices(who, state)
    if state.step == "confirm":
        return t.gettext("Send this survey to {count} people?",
                         count=int(state.data.get("count", 0))), _confirm_choices(who)
    return t.gettext("Which questionnaire?"), _questionnaire_choices(state)


def reprompt(who: Who, state: FlowState, intro: str | None = None) -> FlowResult:
    text, choices = _step_choices(who, state)
    if intro:
        text = f"{intro}\n{text}"
    return FlowResult(replies=(say(who, text, *choices),), state=state)


def step(message: IncomingMessage, who: Who, state: FlowState,
         directory: SurveyAdminDirectory) -> FlowResult:
    if not _allowed(who):
        return _menu(who)
    assert who.community is not None
    community_id = who.community.id
    t = who.t
    choices = _step_choices(who, state)[1]
    choice = match_choice(message, choices, who.locale)
    if choice is None:
        return reprompt(who, state, intro=t.gettext("Please choose one of the answers."))
    if state.step == "pick":
        qid = int(choice.key.removeprefix("q:"))
        if state.data.get("purpose") == RESULTS:
            return FlowResult(replies=(), state=FlowState("menu", "choose"),
                              effects=(ShowSurveyResults(qid),))
        clusters = list(directory.cluster_names(community_id))
        locales = list(directory.audience_locales(community_id, None))
        next_state = state.at(FLOW, "audience", questionnaire_id=qid, title=choice.label,
                              clusters=clusters, locales=locales)
        if not clusters and len(locales) < 2:
            return _confirm(who, next_state, directory, None, None)
        return reprompt(who, next_state)
    if state.step == "audience":
        if choice.key == BY_CLUSTER:
            return reprompt(who, state.at(FLOW, "cluster"))
        if choice.key == BY_LANGUAGE:
            return reprompt(who, state.at(FLOW, "language"))
        return _confirm(who, state, directory, None, None)
    if state.step == "cluster":
        return _confirm(who, state, directory, choice.label, None)
    if state.step == "language":
        return _confirm(who, state, directory, None, choice.key.removeprefix("l:"))
    if state.step == "confirm":
        if choice.key == "no":
            return _menu(who, t.gettext("Nothing was sent."))
        effect = StartCampaign(int(state.data["questionnaire_id"]), state.data.get("cluster"),
                               state.data.get("locale"))
        done = t.gettext("Done: the survey goes out now (at night, during quiet hours, it "
                         "waits for the morning). Those who have not finished get one "
                         "reminder after 2 days.")
        return FlowResult(replies=(menu_message(who, intro=done),),
                          state=FlowState("menu", "choose"),
                          effects=(effect,))
    return _menu(who)


def _confirm(who: Who, state: FlowState, directory: SurveyAdminDirectory,
             cluster: str | None, locale: str | None) -> FlowResult:
    assert who.community is not None
    count = directory.survey_audience_size(who.community.id, cluster, locale)
    if count == 0:
        return reprompt(who, state.at(FLOW, "audience"),
                        intro=who.t.gettext("Nobody can receive it in this group."))
    return reprompt(who, state.at(FLOW, "confirm", cluster=cluster, locale=locale,
                                  count=count),
                    intro=str(state.data.get("title", "")))
