"""Arbitrary text at any point of any conversation: never an exception, always a reply in the
reader's language, and the state stays one the router knows how to continue."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.conversation.router import route
from bot.flows.base import FlowState, Who
from bot.flows.registry import FLOWS
from bot.i18n.keywords import greeting_language
from core.config import SUPPORTED_LOCALES
from core.messages import IncomingMessage
from tests.fakes.directory import DEMO, GESTURE_STATES, MemoryDirectory

KNOWN_FLOWS = {None, "menu", *(flow.name for flow in FLOWS)}

texts = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=4000, max_size=5000),
    st.sampled_from(["", " ", "\x00\x1b[2J", "\u202e\u2066مرحبا\u2069", "🙂" * 50, "1", "0",
                     "-1", "99999999999", "STOP", "/start", "/start ", "JOIN", "oui", "٣",
                     "\r\n", "MENU", "help", "JOIN SOLEIL", "skip", "maison01"]),
)

enrolled_states = st.sampled_from([
    FlowState(),
    FlowState(expired=True),
    FlowState("menu", "choose"),
    FlowState("menu", "choose", {"paused": {"flow": "language", "step": "choose", "data": {}}}),
    FlowState("language", "choose"),
    FlowState("forget_me", "confirm"),
    FlowState("enrolment", "household", {"community_id": 1, "code": "SOLEIL", "tries": 0,
                                         "locale": "fr"}),
    *GESTURE_STATES,
])
newcomer_states = st.sampled_from([
    FlowState(),
    FlowState(expired=True),
    FlowState("enrolment", "language", {"community_id": 1, "code": "SOLEIL"}),
    FlowState("enrolment", "consent", {"community_id": 1, "code": "SOLEIL", "locale": "ar"}),
])


def _check(who: Who, state: FlowState, text: str, expected_locale: str | None = None) -> None:
    message = IncomingMessage(channel="sms", address="+3247", text=text, provider_id="p")
    result = route(message, who, state, MemoryDirectory())
    assert result.replies, "every message gets an answer"
    for reply in result.replies:
        assert reply.text.strip()
        assert len(reply.text) < 2000
    locales = {reply.locale for reply in result.replies}
    if expected_locale:
        assert locales <= set(SUPPORTED_LOCALES)
    assert result.state.flow in KNOWN_FLOWS
    if result.state.flow == "enrolment":
        assert "community_id" in result.state.data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts, state=enrolled_states, locale=st.sampled_from(SUPPORTED_LOCALES),
       opted_out=st.booleans(), channel=st.sampled_from(["sms", "telegram", "whatsapp"]))
def test_members_always_get_an_answer_in_their_language(
        text: str, state: FlowState, locale: str, opted_out: bool, channel: str) -> None:
    who = Who(channel=channel, locale=locale, contact_id=7, community=DEMO, opted_out=opted_out)
    message = IncomingMessage(channel=channel, address="+3247", text=text, provider_id="p")
    result = route(message, who, state, MemoryDirectory())
    assert result.replies
    changed_language = [e for e in result.effects if type(e).__name__ == "SetLocale"]
    for reply in result.replies:
        assert reply.text.strip()
        if not changed_language:
            assert reply.locale == locale
    assert result.state.flow in KNOWN_FLOWS


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts, state=newcomer_states, hint=st.sampled_from(SUPPORTED_LOCALES))
def test_newcomers_always_get_an_answer(text: str, state: FlowState, hint: str) -> None:
    who = Who(channel="sms", locale=hint)
    _check(who, state, text, expected_locale=hint)
    message = IncomingMessage(channel="sms", address="+3247", text=text, provider_id="p")
    result = route(message, who, state, MemoryDirectory())
    expected = str(state.data.get("locale", hint)) if state.flow == "enrolment" \
        and not state.expired else hint
    if "locale" not in state.data and greeting_language(text):
        expected = str(greeting_language(text))  # "hola" from a stranger: answered in Spanish
    if result.state.flow == "enrolment" and "locale" in result.state.data:
        expected = str(result.state.data["locale"])
    if not result.effects:
        assert all(r.locale in (expected, hint) for r in result.replies)
