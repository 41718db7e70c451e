"""One protocol, one registry: the menu numbers that never shift, the role each flow needs, and
a stored state that no longer fits answered politely."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.conversation.router import route
from bot.flows import menu
from bot.flows.base import FlowResult, FlowState, HouseholdView, Who
from bot.flows.registry import FLOWS, flow_named, load, menu_flows
from bot.i18n import translator
from core.config import SUPPORTED_LOCALES
from core.messages import IncomingMessage
from core.models import Role
from core.questionnaires.content import CONTENT_DIR, load_yaml
from tests.fakes.directory import DEMO, GESTURE_STATES, MemoryDirectory

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
POST_ALERT = load_yaml(CONTENT_DIR / "post_alert.yaml")

# A state each flow may be waiting in, as the database would hold it.
WAITING = [
    FlowState("language", "choose"),
    FlowState("forget_me", "confirm"),
    FlowState("consumption", "choose"),
    FlowState("alert", "intent", {"alert_id": 3}),
    FlowState("questionnaire", "answer", {
        "questionnaire_id": 1, "response_id": 5, "question": "lowered",
        "expires_at": "2026-12-04T09:00:00+00:00", "answers": {"at_home": True},
        "asked": {"id": "lowered", "type": "single_choice", "text": {"en": "Did you?"},
                  "options": [{"code": "yes", "label": {"en": "Yes"}},
                              {"code": "no", "label": {"en": "No"}}],
                  "position": 2, "total": 5}}),
    FlowState("plan_alert", "duration", {"starts_at": "2026-12-02T18:00:00+01:00"}),
    FlowState("send_survey", "pick", {"questionnaires": [[1, "Mood"]]}),
    FlowState("survey_results", "pick", {"questionnaires": [[1, "Mood"]]}),
    FlowState("my_data", "offer"),
    FlowState("link_home", "code", {"tries": 1}),
    FlowState("enrolment", "household", {"community_id": 1, "code": "SOLEIL"}),
    *GESTURE_STATES,
    FlowState("appliance_exercise", "rate", {"index": 3, "ratings": {"fridge": "useful"}}),
    FlowState("appliance_exercise", "suggest", {
        "index": 10, "ratings": {"dryer": "comfortable"},
        "suggestions": [["dry_on_rack", {"en": "Dry on a rack"}],
                        ["pause_big_appliances", {"en": "Pause the big ones"}]]}),
]
# What an older version, a bug or a hand edit may leave behind.
DAMAGED = [
    FlowState("language", "pick"),
    FlowState("alert", "intent", {"alert_id": "three"}),
    FlowState("alert", "intent", {}),
    FlowState("questionnaire", "answer", {"questionnaire_id": 1}),
    FlowState("questionnaire", "answer", {"questionnaire_id": None, "response_id": 5}),
    FlowState("plan_alert", "duration", {"starts_at": "tomorrow-ish"}),
    FlowState("send_survey", "pick", {"questionnaires": "all of them"}),
    FlowState("enrolment", "household", {"code": "SOLEIL"}),
    FlowState("survey_admin", "confirm", {"purpose": "send", "questionnaire_id": 7}),
    FlowState("a_flow_that_was_removed", "somewhere", {"x": 1}),
    FlowState("gestures", "somewhere", {}),
    FlowState("gestures", "check_in", {"check_in_id": "x", "slug": "close_doors"}),
    FlowState("appliance_exercise", "rate", {"ratings": {"fridge": "essential"}}),
    FlowState("appliance_exercise", "suggest", {"suggestions": "the dryer"}),
]
DAMAGED_MENUS = [
    FlowState("menu", "choose", {"paused": "language"}),
    FlowState("menu", "pick", {}),
]


def _message(text: str = "", choice_key: str | None = None) -> IncomingMessage:
    return IncomingMessage(channel="sms", address="+32", text=text, provider_id="p",
                           choice_key=choice_key, received_at=NOW)


def _directory() -> MemoryDirectory:
    return MemoryDirectory(questionnaires={1: POST_ALERT})


def _who(locale: str = "fr", channel: str = "sms", role: Role = Role.RESIDENT) -> Who:
    return Who(channel=channel, locale=locale, contact_id=7, community=DEMO, role=role,
               household=HouseholdView(11, "H01"))


def _numbers(result: FlowResult) -> dict[str, int]:
    return {choice.key: number
            for number, choice in enumerate(result.replies[-1].choices, start=1)}


# -- the registry --------------------------------------------------------------------------

def test_every_flow_has_a_unique_name_and_the_menu_keys_are_flow_names() -> None:
    names = [flow.name for flow in FLOWS]
    assert len(names) == len(set(names)) and all(flow_named(n) is not None for n in names)
    for role in Role:
        keys = [c.key for c in menu.menu_choices(_who(role=role))]
        assert keys == [flow.name for flow in menu_flows(_who(role=role))]
    assert [c.key for c in menu.menu_choices(_who())] == [
        "consumption", "gestures", "appliance_exercise", "workshop", "my_data", "topics",
        "language", "forget_me", "help"]
    assert [c.key for c in menu.menu_choices(_who(role=Role.FACILITATOR))] == [
        "plan_alert", "share_kit", "invite_workshop", "send_news", "send_survey",
        "survey_results", "invite_facilitator", "gestures_together",
        "consumption", "gestures", "workshop", "my_data", "topics", "language", "forget_me",
        "help"]


@pytest.mark.parametrize("state", WAITING, ids=lambda s: s.flow)
def test_a_stored_state_round_trips_through_its_typed_model(state: FlowState) -> None:
    flow = flow_named(state.flow)
    assert flow is not None
    typed = load(flow, state)
    assert typed.step == state.step
    # Stored again, it loads to the same model.
    again = FlowState(state.flow, typed.step,
                      typed.model_dump(mode="json", exclude={"step"}, exclude_none=True))
    assert load(flow, again) == typed


@pytest.mark.parametrize("locale", ["fr", "ar"])
@pytest.mark.parametrize("state", DAMAGED, ids=lambda s: f"{s.flow}-{sorted(s.data)}")
def test_a_damaged_or_stale_state_resumes_politely(state: FlowState, locale: str) -> None:
    lost = translator(locale).gettext(
        "Sorry, I lost track of our conversation, so let's start again.")
    for text in ("1", "oui", "hello"):
        result = route(_message(text), _who(locale), state, _directory())
        assert result.effects == () and result.state.flow == "menu"
        assert result.replies[0].text.startswith(lost)
    # Paused behind the menu, then continued: the same polite start.
    shown = route(_message("menu"), _who(locale), state, _directory())
    resume = len(menu.menu_choices(_who(locale))) + 1
    assert _numbers(shown)[menu.RESUME] == resume
    resumed = route(_message(str(resume)), _who(locale), shown.state, _directory())
    assert resumed.state.flow == "menu" and resumed.effects == ()
    assert resumed.replies[0].text.startswith(lost)


@pytest.mark.parametrize("state", DAMAGED_MENUS, ids=lambda s: str(s.data))
def test_a_damaged_menu_state_resumes_politely(state: FlowState) -> None:
    result = route(_message("2"), _who("ar"), state, _directory())
    assert result.effects == () and result.state.flow == "menu"
    assert result.replies[0].text.startswith(translator("ar").gettext(
        "Sorry, I lost track of our conversation, so let's start again."))


@pytest.mark.parametrize("channel", ["sms", "telegram"])
def test_a_newcomer_with_a_damaged_joining_state_starts_again(channel: str) -> None:
    newcomer = Who(channel=channel, locale="ar")
    damaged = FlowState("enrolment", "consent", {"code": "SOLEIL", "locale": "xx"})
    result = route(_message("نعم"), newcomer, damaged, _directory())
    assert result.effects == () and result.state.idle
    t = translator("ar")
    intro = t.gettext("Sorry, I lost track of our conversation, so let's start again.")
    # The introduction says how to join; on SMS it goes alone, to fit in two segments.
    assert (intro in result.replies[0].text) is (channel != "sms")
    assert route(_message("JOIN SOLEIL"), newcomer, damaged, _directory()).state.step \
        == "language"


def test_a_flow_for_facilitators_refuses_a_resident_even_mid_way() -> None:
    waiting = FlowState("plan_alert", "confirm", {
        "starts_at": "2026-12-02T18:00:00+01:00", "minutes": 60, "kind": "planned"})
    resident = route(_message("1"), _who(), waiting, _directory())
    assert resident.effects == () and resident.state.flow == "menu"
    facilitator = route(_message("1"), _who(role=Role.FACILITATOR), waiting, _directory())
    assert [type(e).__name__ for e in facilitator.effects] == ["PlanAlert"]
    # Pressing a facilitator's menu button as a resident starts nothing.
    pressed = route(_message(choice_key="plan_alert"), _who(), FlowState("menu", "choose"),
                    _directory())
    assert pressed.state.flow == "menu" and pressed.effects == ()


# -- menu numbers that never shift ---------------------------------------------------------

pending = st.one_of(
    st.sampled_from(WAITING),
    st.sampled_from(DAMAGED),
    st.sampled_from(DAMAGED_MENUS),
    st.builds(lambda s: FlowState("menu", "choose", {"paused": {
        "flow": s.flow, "step": s.step, "data": s.data}}), st.sampled_from(WAITING)),
    st.builds(lambda shown: FlowState("menu", "choose", {"shown": shown}), st.booleans()),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(state=pending, role=st.sampled_from(list(Role)), locale=st.sampled_from(SUPPORTED_LOCALES),
       channel=st.sampled_from(["sms", "telegram", "whatsapp", "console"]))
def test_each_menu_entry_keeps_its_number_whatever_is_pending(
        state: FlowState, role: Role, locale: str, channel: str) -> None:
    who = _who(locale, channel, role)
    idle = route(_message("menu"), who, FlowState(), _directory())
    shown = route(_message("menu"), who, state, _directory())
    idle_numbers, shown_numbers = _numbers(idle), _numbers(shown)
    assert {k: n for k, n in shown_numbers.items() if k != menu.RESUME} == idle_numbers
    if menu.RESUME in shown_numbers:
        assert shown_numbers[menu.RESUME] == len(idle_numbers) + 1
    # A number typed from that menu does what its entry does.
    for key, number in idle_numbers.items():
        typed = route(_message(str(number)), who, shown.state, _directory())
        pressed = route(_message(choice_key=key), who, shown.state, _directory())
        assert typed == pressed


@pytest.mark.parametrize("locale", ["fr", "ar"])
def test_a_facilitator_with_a_survey_pending_finds_survey_results_at_its_number(
        locale: str) -> None:
    facilitator = _who(locale, role=Role.FACILITATOR)
    idle = _numbers(route(_message("menu"), facilitator, FlowState(), _directory()))
    receiving = WAITING[4]  # a questionnaire question is waiting for an answer
    shown = route(_message("menu"), facilitator, receiving, _directory())
    assert _numbers(shown)["survey_results"] == idle["survey_results"] == 6
    picked = route(_message("6"), facilitator, shown.state, _directory())
    assert picked.state.flow == "survey_results"
