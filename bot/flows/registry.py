"""Every flow, in one list: the router finds a paused conversation's flow here by its stored
name, and the menu lists the entries of those a reader's role may use, by ``entry.order``.

Adding a flow: one module in ``bot/flows/`` implementing ``bot.flows.base.Flow`` (usually a
``BaseFlow`` subclass with a typed state), and one line below.
"""

from __future__ import annotations

from typing import Any

from bot.flows import (
    alert,
    appliance_exercise,
    consumption,
    enrolment,
    forget_me,
    gestures,
    gestures_together,
    help,
    invite_workshop,
    language,
    link_home,
    my_data,
    plan_alert,
    questionnaire,
    reconsent,
    send_news,
    share_kit,
    staff,
    survey_admin,
    topics,
    workshop,
)
from bot.flows.base import Flow, FlowData, FlowState, Who

FLOWS: tuple[Flow[Any], ...] = (
    plan_alert.PLAN_ALERT,
    share_kit.SHARE_KIT,
    invite_workshop.INVITE_TO_WORKSHOP,
    send_news.SEND_NEWS,
    survey_admin.SEND_SURVEY,
    survey_admin.SURVEY_RESULTS,
    gestures_together.GESTURES_TOGETHER,
    appliance_exercise.APPLIANCE_EXERCISE,
    staff.INVITE_FACILITATOR,
    consumption.CONSUMPTION,
    gestures.MY_GESTURES,
    workshop.WORKSHOP,
    my_data.MY_DATA,
    topics.TOPICS,
    language.LANGUAGE,
    forget_me.FORGET_ME,
    help.HELP,
    link_home.LINK_HOME,
    enrolment.ENROLMENT,
    alert.ALERT,
    questionnaire.QUESTIONNAIRE,
    reconsent.RECONSENT,
    staff.STAFF_INVITE,
)

_BY_NAME: dict[str, Flow[Any]] = {flow.name: flow for flow in FLOWS}
if len(_BY_NAME) != len(FLOWS):
    raise RuntimeError("two flows share a name")


def flow_named(name: str | None) -> Flow[Any] | None:
    return _BY_NAME.get(name or "")


def may_use(flow: Flow[Any], who: Who) -> bool:
    return who.role in flow.roles


def menu_flows(who: Who) -> tuple[Flow[Any], ...]:
    """The flows in ``who``'s menu, in menu order. The order depends on nothing else, so an
    entry's number is the same whatever is pending."""
    listed = [flow for flow in FLOWS if flow.entry is not None and may_use(flow, who)]
    return tuple(sorted(listed, key=lambda flow: flow.entry.order if flow.entry else 0))


def load(flow: Flow[Any], stored: FlowState) -> FlowData:
    """The flow's typed state from what was stored; raises ``pydantic.ValidationError`` when
    it does not fit (an older version's state, or a damaged one)."""
    state: FlowData = flow.State.model_validate({**stored.data, "step": stored.step})
    return state
