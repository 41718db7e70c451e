"""``voisins demo`` tells the whole story of a past alert: last week's alert with its measured
impact, the collective result the community was sent, and a dozen answers to its
questionnaire; a newcomer sees their own figure and the group's under "The last alert", and
the facilitator the survey results."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.channels.console import ConsoleChat
from core.db import session_scope
from core.demo import DEMO_HOUSEHOLDS, seed_demo
from core.models import Contact, Role
from core.questionnaires.content import load_content
from core.questionnaires.results import results_for
from core.questionnaires.storage import latest_questionnaire
from core.results import AlertResult
from meters.demo import seed_demo_energy, seed_demo_story

NOW = datetime(2026, 12, 1, 19, 10, tzinfo=UTC)  # Tuesday, 20:10 in Brussels


def _seed(engine: Engine) -> tuple[float, int | None]:
    with session_scope(engine) as session:
        community = seed_demo(session, clock=lambda: NOW)
        assert community.id is not None
        demo = seed_demo_energy(session, community.id, NOW)
        load_content(session, NOW)
        story = seed_demo_story(session, community.id, NOW)
        assert story.alert_id == demo.alert_id
        return demo.community_percent, story.alert_id


def test_the_past_alert_has_its_result_and_a_dozen_answers(engine: Engine) -> None:
    injected, alert_id = _seed(engine)
    with session_scope(engine) as session:
        result = session.exec(select(AlertResult)).one()
        assert result.alert_id == alert_id and result.status == "sent" and result.shown
        assert result.households_valid == DEMO_HOUSEHOLDS
        assert result.percent == pytest.approx(injected, abs=2.0)
        residents = session.exec(select(Contact).where(
            Contact.role == Role.RESIDENT.value)).all()
        assert len(residents) == DEMO_HOUSEHOLDS
        assert {c.locale for c in residents} == {"fr", "nl", "ar", "es", "en"}
        assert all(c.household_id is not None for c in residents)
        questionnaire = latest_questionnaire(session, "post_alert")
        assert questionnaire is not None and questionnaire.id is not None
        results = results_for(session, questionnaire.id, context=f"alert:{alert_id}")
        assert results is not None
        assert results.responses == results.completed == 12 and not results.withheld
        comments = next(q for q in results.questions if q.question_id == "comment")
        assert comments.texts is not None and len(comments.texts) >= 5  # from k writers
    # Last week, and seeding again adds nothing.
    with session_scope(engine) as session:
        from core.alerts import Alert

        alert = session.get(Alert, alert_id)
        assert alert is not None
        assert NOW - timedelta(days=7) < alert.starts_at.replace(tzinfo=UTC) < \
            NOW - timedelta(days=5)
        community_id = alert.community_id
        again = seed_demo_story(session, community_id, NOW)
        assert again.answers == 12 and again.result is not None
        assert len(session.exec(select(AlertResult)).all()) == 1
        assert len(session.exec(select(Contact)).all()) == DEMO_HOUSEHOLDS + 2


def test_a_newcomer_sees_their_figure_and_the_groups(sqlite_engine: Engine) -> None:
    _seed(sqlite_engine)
    screen: list[str] = []
    chat = ConsoleChat(sqlite_engine, "newcomer", write=screen.append, clock=lambda: NOW)
    for line in ["JOIN VOISINS", "3", "yes", "MAISON05", "my consumption", "3"]:
        chat.say(line)
    answer = "".join(screen[-3:])
    assert "During the alert on Wednesday 25 November at 18:00, your home used" in answer
    assert "Voisins: together, 12 households used" in answer and "less than usual" in answer
    assert "[image: /media/" in answer


def test_the_facilitator_sees_the_survey_results(sqlite_engine: Engine) -> None:
    _seed(sqlite_engine)
    screen: list[str] = []
    chat = ConsoleChat(sqlite_engine, "demo-facilitator", write=screen.append,
                       clock=lambda: NOW)
    chat.say("MENU")
    chat.say("6")  # Survey results (after alert, share kit, workshop, news, survey)
    chat.say("2")  # After the alert
    shown = "\n".join(screen)
    assert "12 sur 12 ont terminé (100 %)" in shown
    assert "Avec un bébé, 18 h c'est l'heure du bain." in shown
