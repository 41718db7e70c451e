"""Picks what answers a message: global words first, then the pending flow, else the menu.

Pure: no database, no clock, no network. The inbox (``bot/conversation/inbox.py``) feeds it
and applies the effects it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from bot.conversation.choices import match_choice
from bot.flows import (
    alert,
    consumption,
    enrolment,
    forget_me,
    language,
    menu,
    my_data,
    plan_alert,
    questionnaire,
    stop,
    survey_admin,
)
from bot.flows.base import Directory, FlowResult, FlowState, SendShareKit, Who
from bot.i18n.keywords import (
    GlobalWord,
    fold,
    global_word,
    greeting_language,
    join_code_in,
    shortcut_in,
)
from core.messages import IncomingMessage

StepHandler = Callable[[IncomingMessage, Who, FlowState, Directory], FlowResult]
Reprompt = Callable[[Who, FlowState], FlowResult]


def _menu_item_starts() -> dict[str, StepHandler]:
    return {
        "my_data": my_data.start,
        "language": lambda m, w, s, d: language.start(m, w, s),
        "forget_me": lambda m, w, s, d: forget_me.start(m, w, s),
        "help": lambda m, w, s, d: menu.show_help(w),
        "plan_alert": lambda m, w, s, d: plan_alert.start(m, w, s),
        "consumption": consumption.start,
        "send_survey": lambda m, w, s, d: survey_admin.start_send(w, d),
        "survey_results": lambda m, w, s, d: survey_admin.start_results(w, d),
        "share_kit": lambda m, w, s, d: FlowResult(
            replies=(), state=FlowState("menu", "choose"), effects=(SendShareKit(),)),
    }


# How to ask again the question a paused flow was waiting on.
REPROMPTS: dict[str, Reprompt] = {
    language.FLOW: language.reprompt,
    forget_me.FLOW: forget_me.reprompt,
    enrolment.FLOW: enrolment.reprompt,
    alert.FLOW: alert.reprompt,
    plan_alert.FLOW: plan_alert.reprompt,
    consumption.FLOW: consumption.reprompt,
    survey_admin.FLOW: survey_admin.reprompt,
    questionnaire.FLOW: questionnaire.reprompt,
}


def route(message: IncomingMessage, who: Who, state: FlowState, directory: Directory,
          consent_version: str) -> FlowResult:
    word = None if message.choice_key else global_word(message.text)
    join_code = None if message.choice_key else join_code_in(message.text)

    if who.enrolled and who.opted_out:
        if word is GlobalWord.START or join_code:
            return stop.start_again(who)
        return stop.still_stopped(who)
    if word is GlobalWord.STOP:
        return stop.stop(who)
    if not who.enrolled:
        return _route_newcomer(message, who, state, directory, consent_version, word, join_code)
    return _route_member(message, who, state, directory, consent_version, word, join_code)


def _route_newcomer(message: IncomingMessage, who: Who, state: FlowState, directory: Directory,
                    consent_version: str, word: GlobalWord | None, join_code: str | None
                    ) -> FlowResult:
    greeted_in = None if message.choice_key else greeting_language(message.text)
    if "locale" in state.data:
        who = who.speaking(str(state.data["locale"]))
    elif greeted_in is not None:
        # Nobody we know (a stranger, or someone erased or who refused consent): "hola" is
        # answered in Spanish, not in the community's language.
        who = who.speaking(greeted_in)
    if join_code:
        return enrolment.begin(join_code, who, directory)
    if state.expired:
        return enrolment.introduction(
            who, intro=who.t.gettext("Our last conversation was a while ago, so let's start again.")
        )
    if state.flow == enrolment.FLOW and word is None:
        return enrolment.step(message, who, state, directory, consent_version)
    if state.flow == enrolment.FLOW and word is GlobalWord.LANGUAGE:
        return enrolment.reprompt(who, state.at(enrolment.FLOW, "language"))
    if state.flow == enrolment.FLOW:
        # HELP, MENU or START half-way through joining: ask the pending question again
        # rather than lose what was already answered.
        return enrolment.reprompt(who, state)
    if word is None:
        # On SMS people often send just the code.
        bare = fold(message.text).upper()
        if 0 < len(bare) <= 32 and " " not in bare and directory.community_by_join_code(bare):
            return enrolment.begin(bare, who, directory)
    return enrolment.introduction(who)


def _route_member(message: IncomingMessage, who: Who, state: FlowState, directory: Directory,
                  consent_version: str, word: GlobalWord | None, join_code: str | None
                  ) -> FlowResult:
    if state.expired:
        return menu.show_menu(
            who, intro=who.t.gettext("Our last conversation was a while ago, so let's start again.")
        )
    if alert.is_alert_button(message):
        # A button under an alert message answers that alert, whatever was pending.
        return alert.step(message, who, state)
    paused = menu.pause_of(state)
    if word is GlobalWord.HELP:
        return menu.show_help(who, paused=paused)
    if word is GlobalWord.MENU or word is GlobalWord.START:
        return menu.show_menu(who, paused=paused)
    if word is GlobalWord.LANGUAGE:
        return language.start(message, who, state)
    if shortcut_in(message.text) == "consumption" and not message.choice_key:
        return consumption.start(message, who, state, directory)
    if join_code:
        community = who.community.name if who.community else ""
        return menu.show_menu(
            who, intro=who.t.gettext("You are already a member of {community}.",
                                     community=community), paused=paused)
    if state.flow == menu.FLOW:
        return _on_menu_choice(message, who, state, directory, paused)
    if state.flow == language.FLOW:
        return language.step(message, who, state)
    if state.flow == forget_me.FLOW:
        return forget_me.step(message, who, state)
    if state.flow == alert.FLOW:
        return alert.step(message, who, state)
    if state.flow == questionnaire.FLOW:
        now = message.received_at or datetime.now(UTC)
        return questionnaire.step(message, who, state, directory, now)
    if state.flow == survey_admin.FLOW:
        return survey_admin.step(message, who, state, directory)
    if state.flow == consumption.FLOW:
        return consumption.step(message, who, state)
    if state.flow == plan_alert.FLOW:
        return plan_alert.step(message, who, state, directory)
    if state.flow == enrolment.FLOW:
        # Consent creates the contact; the household question comes right after.
        return enrolment.step(message, who, state, directory, consent_version)
    return menu.not_understood(who)


def _on_menu_choice(message: IncomingMessage, who: Who, state: FlowState, directory: Directory,
                    paused: dict[str, object] | None) -> FlowResult:
    choice = match_choice(message, menu.menu_choices(who, paused), who.locale)
    if choice is None:
        return menu.not_understood(who, paused=paused)
    if choice.key == "resume" and paused:
        resumed = FlowState(flow=str(paused["flow"]), step=str(paused.get("step") or ""),
                            data=dict(paused.get("data") or {}))  # type: ignore[call-overload]
        reprompt = REPROMPTS.get(resumed.flow or "")
        return reprompt(who, resumed) if reprompt else menu.show_menu(who)
    return _menu_item_starts()[choice.key](message, who, state, directory)
