"""A complete post-alert cycle: the alert ends → questionnaire → partial answers → a reminder
only to those who have not finished → results and CSV match the answers given."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.conversation.inbox import handle_incoming
from bot.flows.alert import AlertMessages, post_alert_respondents
from core.alerts import AlertKind, plan_alert
from core.communities import community_by_slug
from core.db import session_scope
from core.messages import IncomingMessage
from core.models import OutboxMessage
from core.questionnaires.export import research_rows_csv
from core.questionnaires.results import results_for
from core.questionnaires.storage import latest_questionnaire
from scheduler.timeline import run_due_steps
from tests.fakes.community import CONSENT, seed_residents

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
START = NOW + timedelta(hours=2)  # 13:00 local, ends 15:00: no quiet hours involved


def _tick(engine: Engine, at: datetime) -> None:
    run_due_steps(engine, AlertMessages(), clock=lambda: at, respondents=post_alert_respondents)


def _answer(engine: Engine, channel: str, address: str, replies: list[str], at: datetime
            ) -> list[str]:
    texts = []
    for index, text in enumerate(replies):
        rows = handle_incoming(engine, IncomingMessage(channel, address, text,
                                                       f"{address}-{at.isoformat()}-{index}"),
                               clock=lambda: at)
        texts += [row.payload["text"] for row in rows]
    return texts


def _kinds_for(engine: Engine, alert_id: int, stage: str) -> set[int]:
    with Session(engine) as session:
        keys = session.exec(select(OutboxMessage.dedupe_key).where(
            col(OutboxMessage.dedupe_key).startswith(f"alert:{alert_id}:{stage}:"))).all()
    return {int(key.rsplit(":", 1)[1]) for key in keys}


def test_post_alert_cycle(engine: Engine) -> None:
    # k = 3, so that the three who answered show their counts (the k rules: tests/core).
    residents = seed_residents(engine, NOW, privacy_k=3)
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None
        alert = plan_alert(session, community, starts_at=START, duration_minutes=120,
                           kind=AlertKind.SURPRISE, now=NOW)
        alert_id = alert.id
    assert alert_id is not None
    end = START + timedelta(hours=2)
    for moment in (START - timedelta(minutes=30), START, end):
        _tick(engine, moment)
    everyone = {r.contact_id for r in residents}
    assert _kinds_for(engine, alert_id, "questionnaire") == everyone

    with Session(engine) as session:
        first = session.exec(select(OutboxMessage).where(
            OutboxMessage.dedupe_key == f"alert:{alert_id}:questionnaire:"
                                        f"{residents[0].contact_id}")).one()
    assert "1/" in first.payload["text"]  # the progress mark of the first question
    assert len(first.payload["choices"]) == 2  # yes / no: at home during the alert?

    later = end + timedelta(hours=1)
    # Resident 0 (fr, SMS) answers everything: at home, lowered "yes", actions 1 and 3,
    # difficulty 2, longer possible "maybe", and skips the comment.
    full = _answer(engine, "sms", residents[0].address,
                   ["oui", "1", "1 3", "2", "2", "passer"], later)
    # Resident 3 (ar, SMS) answers everything too, with Arabic-Indic digits and a comment.
    _answer(engine, "sms", residents[3].address, ["لا", "٣", "٥", "٣", "شكرا"], later)
    # Resident 1 (nl, Telegram) stops after two answers.
    _answer(engine, "telegram", residents[1].address, ["ja", "2"], later)
    assert full[-1]  # a closing thanks

    reminder_time = end + timedelta(hours=24)
    _tick(engine, reminder_time)
    reminded = _kinds_for(engine, alert_id, "reminder")
    assert reminded == everyone - {residents[0].contact_id, residents[3].contact_id}
    with Session(engine) as session:
        reminder = session.exec(select(OutboxMessage).where(
            OutboxMessage.dedupe_key == f"alert:{alert_id}:reminder:"
                                        f"{residents[1].contact_id}")).one()
    # Resumes at the first unanswered question: "What did you do?", which follows up
    # question 2 and carries its number.
    assert "2/5" in reminder.payload["text"]

    with Session(engine) as session:
        questionnaire = latest_questionnaire(session, "post_alert")
        assert questionnaire is not None and questionnaire.id is not None
        results = results_for(session, questionnaire.id, f"alert:{alert_id}")
        table = research_rows_csv(session, questionnaire.id, {CONSENT}, f"alert:{alert_id}")
    assert results is not None and table is not None
    assert results.responses == len(residents) and results.completed == 2
    counts = {q.question_id: q.counts or {} for q in results.questions}
    assert counts["at_home"] == {"yes": 2, "no": 1}
    assert counts["lowered"]["yes"] == 1 and counts["lowered"]["a_little"] == 1
    assert counts["lowered"]["no"] == 1
    # What they did: one answer, fewer than k = 3, so not shown (the research rows have it).
    assert counts["actions"] == {} and results.questions[2].withheld
    rows = list(csv.DictReader(io.StringIO(table)))
    assert len(rows) == len(residents)
    finished = [r for r in rows if r.get("status") == "completed"]
    assert len(finished) == 2
    # Pseudonymous respondents: never the contact id.
    assert {row["respondent"] for row in rows}.isdisjoint({str(r.contact_id) for r in residents})
    answered = next(row for row in finished if row["at_home"] == "yes")
    assert answered["lowered"] == "yes" and answered["difficulty"] == "2"
    assert answered["actions"] == "postponed_washing;cooked_differently"
