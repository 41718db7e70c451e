"""The post-alert questionnaire listens: "Not at home" under the start message is recorded as
the answer to "Were you at home?", which is not asked again; the "2/5" mark counts only the
questions actually asked, and never changes its total on the way."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.conversation.inbox import handle_incoming
from bot.flows import questionnaire as flow
from bot.flows.alert import AlertMessages, answers_known_from, post_alert_respondents
from bot.flows.base import Who
from core.alerts import AlertIntent, AlertKind, plan_alert
from core.communities import community_by_slug
from core.config import SUPPORTED_LOCALES
from core.db import session_scope
from core.messages import IncomingMessage
from core.models import OutboxMessage
from core.questionnaires.content import CONTENT_DIR, load_yaml
from core.questionnaires.definition import localized
from core.questionnaires.storage import Response, StaticQuestionnaires
from scheduler.timeline import run_due_steps
from tests.bot.flows.test_questionnaire import ISOLATES, Survey
from tests.fakes.community import seed_residents

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
START = NOW + timedelta(hours=2)
END = START + timedelta(hours=2)
POST_ALERT = load_yaml(CONTENT_DIR / "post_alert.yaml")
MARK = re.compile(r"^(\d+)/(\d+) ", re.MULTILINE)


def _marks(texts: list[str]) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for text in texts
            for a, b in MARK.findall(text.translate(ISOLATES))]


def _says(engine: Engine, channel: str, address: str, text: str, at: datetime,
          choice_key: str | None = None) -> list[str]:
    rows = handle_incoming(engine, IncomingMessage(channel, address, text,
                                                   f"{address}-{text}-{at.isoformat()}",
                                                   choice_key=choice_key), clock=lambda: at)
    return [str(row.payload["text"]) for row in rows]


def _tick(engine: Engine, at: datetime) -> None:
    run_due_steps(engine, AlertMessages(), clock=lambda: at, respondents=post_alert_respondents)


def _questionnaire_text(engine: Engine, alert_id: int, contact_id: int) -> str:
    with Session(engine) as session:
        row = session.exec(select(OutboxMessage).where(
            OutboxMessage.dedupe_key == f"alert:{alert_id}:questionnaire:{contact_id}")).one()
    return str(row.payload["text"]).translate(ISOLATES)


def test_not_at_home_is_recorded_and_not_asked_again(engine: Engine) -> None:
    residents = seed_residents(engine, NOW)
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None
        alert = plan_alert(session, community, starts_at=START, duration_minutes=120,
                           kind=AlertKind.SURPRISE, now=NOW)
        alert_id = alert.id
    assert alert_id is not None
    for moment in (START - timedelta(minutes=30), START):
        _tick(engine, moment)
    away = next(r for r in residents if r.channel == "sms" and r.locale == "fr")
    tapped = next(r for r in residents if r.channel == "telegram" and r.locale == "nl")
    joined = next(r for r in residents if r.channel == "sms" and r.locale == "ar")
    during = START + timedelta(minutes=5)
    _says(engine, "sms", away.address, "2", during)  # Not at home, typed
    _says(engine, "telegram", tapped.address, "", during, choice_key=f"alert:{alert_id}:away")
    _says(engine, "sms", joined.address, "1", during)  # I'm in
    _tick(engine, END)

    for resident in (away, tapped):
        text = _questionnaire_text(engine, alert_id, resident.contact_id)
        # The first question asked is "Did you use less?", numbered 1 of 4.
        assert localized(POST_ALERT.questions[1].text, resident.locale) in text
        assert localized(POST_ALERT.questions[0].text, resident.locale) not in text
        assert "\n1/4 " in text
    text = _questionnaire_text(engine, alert_id, joined.contact_id)
    assert "\n1/5 " + localized(POST_ALERT.questions[0].text, "ar") in text

    later = END + timedelta(minutes=10)
    texts = []
    for reply in ("1", "1 3", "2", "2", "passer"):  # lowered yes, actions, 2, maybe, skip
        texts += _says(engine, "sms", away.address, reply, later)
        later += timedelta(seconds=1)
    # The follow-up "What did you do?" carries question 1's number: the total never moves.
    assert _marks(texts) == [(1, 4), (2, 4), (3, 4), (4, 4)]
    with Session(engine) as session:
        response = session.exec(select(Response).where(
            Response.contact_id == away.contact_id)).one()
        assert response.answers["at_home"] is False and response.status == "completed"
        recorded = {r.contact_id: r.answers.get("at_home") for r in session.exec(
            select(Response).where(Response.context == f"alert:{alert_id}")).all()}
    # Recorded from the start message for the two who said so; asked to the others.
    assert recorded[away.contact_id] is False and recorded[tapped.contact_id] is False
    assert sorted(c for c, value in recorded.items() if value is False) == sorted(
        [away.contact_id, tapped.contact_id])


def test_only_not_at_home_says_something_about_being_at_home() -> None:
    assert answers_known_from(AlertIntent.AWAY) == {"at_home": False}
    assert answers_known_from(AlertIntent.IN) == {}
    assert answers_known_from(AlertIntent.CANT) == {}
    assert answers_known_from(None) == {}


def test_a_known_answer_the_questionnaire_does_not_ask_is_ignored() -> None:
    assert flow.known_answers(POST_ALERT, {"at_home": False, "pets": 2}) == {"at_home": False}
    assert flow.known_answers(POST_ALERT, {"at_home": "maybe"}) == {}
    assert flow.known_answers(None, {"at_home": False}) == {}


LOOKUP = StaticQuestionnaires({1: POST_ALERT})


@pytest.mark.parametrize("locale", ["fr", "ar"])
def test_the_mark_counts_what_is_asked(locale: str) -> None:
    who = Who(channel="sms", locale=locale, contact_id=7)
    started = flow.start(who, 1, 50, LOOKUP, NOW + timedelta(hours=72),
                         answers={"at_home": False}, given=("at_home",))
    assert started.state.data["given"] == ["at_home"]
    assert _marks([started.replies[0].text]) == [(1, 4)]
    # Reminder for someone who answered "at home" themselves: that one counts.
    resumed = flow.start(who, 1, 50, LOOKUP, NOW + timedelta(hours=72),
                         answers={"at_home": True})
    assert _marks([resumed.replies[0].text]) == [(2, 5)]


answers = st.lists(st.one_of(
    st.sampled_from(["1", "2", "3", "4", "5", "1 3", "oui", "non", "skip", "?", "", "9"]),
    st.text(max_size=12)), min_size=1, max_size=20)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(replies=answers, locale=st.sampled_from(SUPPORTED_LOCALES), away=st.booleans(),
       questionnaire_id=st.sampled_from([1, 2, 3]))
def test_the_mark_never_jumps(replies: list[str], locale: str, away: bool,
                              questionnaire_id: int) -> None:
    survey = Survey(questionnaire_id, locale)
    if away and questionnaire_id == 1:
        started = flow.start(survey.who, 1, 50, LOOKUP, NOW + timedelta(hours=72),
                             answers={"at_home": False}, given=("at_home",))
        survey.state, survey.last = started.state, started.replies
    marks = _marks([m.text for m in survey.last])
    for reply in replies:
        if survey.state.flow != flow.FLOW:
            break
        survey.says(reply)
        marks += _marks([m.text for m in survey.last])
    totals = {total for _, total in marks}
    assert len(totals) <= 1, marks  # the total never changes
    positions = [position for position, _ in marks]
    assert positions == sorted(positions), marks  # and the position never goes back
    assert all(1 <= position <= total for position, total in marks)
