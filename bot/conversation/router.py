"""Picks what answers a message: global words first, then the pending flow, else the menu.

Pure: no database, no clock, no network. The inbox (``bot/conversation/inbox.py``) feeds it
and applies the effects it returns. Flows are found in the registry
(``bot/flows/registry.py``) by the name stored with the state; the state is validated before
the flow sees it, and a state that does not fit (left by an older version, or damaged) is
answered politely from the start.
"""

from __future__ import annotations

from pydantic import ValidationError

from bot.conversation.choices import match_choice
from bot.flows import alert, enrolment, gestures, link_home, menu, staff, stop, workshop
from bot.flows.base import Directory, FlowResult, FlowState, Who
from bot.flows.consumption import CONSUMPTION
from bot.flows.enrolment import ENROLMENT, EnrolmentState
from bot.flows.language import LANGUAGE
from bot.flows.menu import Paused
from bot.flows.registry import flow_named, load, may_use
from bot.i18n.keywords import (
    GlobalWord,
    fold,
    global_word,
    greeting_language,
    join_code_in,
    parse_number,
    shortcut_in,
)
from core.messages import IncomingMessage


def route(message: IncomingMessage, who: Who, state: FlowState, directory: Directory
          ) -> FlowResult:
    word = None if message.choice_key else global_word(message.text)
    join_code = None if message.choice_key else join_code_in(message.text)

    if who.enrolled and who.opted_out:
        if word is GlobalWord.START or join_code:
            return stop.start_again(who)
        return stop.still_stopped(who)
    if word is GlobalWord.STOP:
        return stop.stop(who)
    if not who.enrolled:
        return _route_newcomer(message, who, state, directory, word, join_code)
    return _route_member(message, who, state, directory, word, join_code)


def _lost_track(who: Who) -> str:
    return who.t.gettext("Sorry, I lost track of our conversation, so let's start again.")


def _a_while_ago(who: Who) -> str:
    return who.t.gettext("Our last conversation was a while ago, so let's start again.")


def _route_newcomer(message: IncomingMessage, who: Who, state: FlowState, directory: Directory,
                    word: GlobalWord | None, join_code: str | None) -> FlowResult:
    joining: EnrolmentState | None = None
    if state.flow == enrolment.FLOW:
        try:
            joining = EnrolmentState.model_validate({**state.data, "step": state.step})
        except ValidationError:
            if not join_code:
                return enrolment.introduction(who, intro=_lost_track(who))
    greeted_in = None if message.choice_key else greeting_language(message.text)
    if joining is not None and joining.locale:
        who = who.speaking(joining.locale)
    elif greeted_in is not None:
        # Nobody we know (a stranger, or someone erased or who refused consent): "hola" is
        # answered in Spanish, not in the community's language.
        who = who.speaking(greeted_in)
    if join_code:
        return enrolment.begin(join_code, who, directory)
    if state.expired:
        return enrolment.introduction(who, intro=_a_while_ago(who))
    if joining is not None and word is None:
        return ENROLMENT.step(message, who, joining, directory)
    if joining is not None and word is GlobalWord.LANGUAGE:
        return ENROLMENT.reprompt(who, joining.model_copy(update={"step": "language"}),
                                  directory)
    if joining is not None:
        # HELP, MENU or START half-way through joining: ask the pending question again
        # rather than lose what was already answered.
        return ENROLMENT.reprompt(who, joining, directory)
    if word is None:
        # On SMS people often send just the code.
        bare = fold(message.text).upper()
        if 0 < len(bare) <= 32 and " " not in bare and (
                directory.community_by_join_code(bare) or directory.staff_invite(bare)):
            return enrolment.begin(bare, who, directory)
    return enrolment.introduction(who)


def _route_member(message: IncomingMessage, who: Who, state: FlowState, directory: Directory,
                  word: GlobalWord | None, join_code: str | None) -> FlowResult:
    if state.expired:
        return menu.show_menu(who, intro=_a_while_ago(who))
    paused = menu.pause_of(state)
    if alert.is_alert_button(message):
        # A button under an alert message answers that alert; what else was pending stays
        # paused (an open "are you joining in?" is answered by the button itself).
        keep = None if paused is None or paused.flow == alert.FLOW else paused
        return alert.answer_button(message, who, keep)
    if gestures.is_check_in_button(message) and state.flow != gestures.FLOW:
        # A tap under a check-in answers it, whatever else is pending (kept paused).
        return gestures.answer_check_in_button(message, who, paused)
    if workshop.is_workshop_button(message):
        keep = None if paused is None or paused.flow == workshop.FLOW else paused
        return workshop.answer_button(message, who, keep)
    if word is GlobalWord.HELP:
        return menu.show_help(who, paused=paused)
    if word is GlobalWord.MENU or word is GlobalWord.START:
        return menu.show_menu(who, paused=paused)
    if word is GlobalWord.LANGUAGE:
        return LANGUAGE.start(message, who, directory)
    if shortcut_in(message.text) == "consumption" and not message.choice_key:
        return CONSUMPTION.start(message, who, directory)
    if shortcut_in(message.text) == gestures.FLOW and not message.choice_key:
        return gestures.MY_GESTURES.start(message, who, directory)
    if join_code:
        household = link_home.household_after_join_code(message, who, directory)
        if household is not None:
            return link_home.linked(who, household)
        invite = directory.staff_invite(join_code)
        if invite is not None:
            return staff.member_sent(invite, who)
        community = who.community.name if who.community else ""
        return menu.show_menu(
            who, intro=who.t.gettext("You are already a member of {community}.",
                                     community=community), paused=paused)
    if state.flow not in (enrolment.FLOW, link_home.FLOW):
        household = link_home.household_sent_alone(message, who, directory)
        if household is not None:
            return link_home.linked(who, household)
    if state.flow is None:
        return menu.not_understood(who)
    if state.flow == menu.FLOW:
        return _on_menu_choice(message, who, state, directory)
    return _continue(message, who, state, directory)


def _continue(message: IncomingMessage, who: Who, state: FlowState, directory: Directory
              ) -> FlowResult:
    """The pending flow answers, if it still exists, may still be used, and its state fits."""
    flow = flow_named(state.flow)
    if flow is None or not may_use(flow, who):
        return menu.show_menu(who, intro=_lost_track(who))
    try:
        typed = load(flow, state)
    except ValidationError:
        return menu.show_menu(who, intro=_lost_track(who))
    return flow.step(message, who, typed, directory)


def _resume(who: Who, paused: Paused, directory: Directory) -> FlowResult:
    flow = flow_named(paused.flow)
    if flow is None or not may_use(flow, who):
        return menu.show_menu(who, intro=_lost_track(who))
    try:
        typed = load(flow, paused.state())
    except ValidationError:
        return menu.show_menu(who, intro=_lost_track(who))
    return flow.reprompt(who, typed, directory)


def _on_menu_choice(message: IncomingMessage, who: Who, state: FlowState, directory: Directory
                    ) -> FlowResult:
    try:
        at_menu = menu.load(state)
    except ValidationError:
        return menu.show_menu(who, intro=_lost_track(who))
    paused = at_menu.paused
    if not at_menu.shown and not message.choice_key and parse_number(message.text) is not None:
        # The reader did not see the numbered menu (only the hint, a chart, a result): their
        # number may mean something else. Show the menu rather than guess.
        return menu.show_menu(who, paused=paused)
    choice = match_choice(message, menu.menu_choices(who, paused), who.locale)
    if choice is None:
        return menu.not_understood(who, paused=paused)
    if choice.key == menu.RESUME and paused is not None:
        return _resume(who, paused, directory)
    flow = flow_named(choice.key)
    if flow is None or not may_use(flow, who):
        return menu.not_understood(who, paused=paused)
    return flow.start(message, who, directory)
