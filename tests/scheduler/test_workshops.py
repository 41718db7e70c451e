"""Workshops from invitation to follow-up, with time-machine for the clock: who gets which
message when, quiet hours, cancel and move notices, the waiting list, the .ics file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import time_machine
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.conversation.inbox import handle_incoming
from bot.rendering.workshops import WorkshopMessages
from core.calendar_file import workshop_ics
from core.communities import community_by_slug
from core.db import session_scope
from core.messages import IncomingMessage
from core.models import Community, OutboxMessage, SubjectKind
from core.workshop_tables import Answer, StepStatus, Workshop, WorkshopStage
from core.workshops import (
    WorkshopError,
    attendees_csv,
    before_quiet_hours,
    cancel_workshop,
    create_workshop,
    move_workshop,
    record_answer,
    steps_of,
    workshop_summary,
)
from scheduler.workshops import run_due_workshop_steps, send_invitations, tell
from tests.fakes.community import Resident, seed_residents

BRUSSELS = ZoneInfo("Europe/Brussels")
WORDING = WorkshopMessages(public_url="https://voisins.example")
# Monday 30 November 2026, 10:00 in Brussels.
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
# Thursday 3 December, 18:00-20:00 in Brussels.
STARTS = datetime(2026, 12, 3, 18, 0, tzinfo=BRUSSELS)


@pytest.fixture
def residents(sqlite_engine: Engine) -> list[Resident]:
    return seed_residents(sqlite_engine, NOW)


def _create(engine: Engine, starts: datetime = STARTS, capacity: int | None = None,
            follow_up: bool = False) -> int:
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None
        workshop = create_workshop(
            session, community, title={"fr": "Atelier vélo", "nl": "Fietsatelier"},
            description={"fr": "On répare ensemble."}, place="Salle des fêtes",
            starts_at=starts, ends_at=starts + timedelta(hours=2), now=NOW,
            capacity=capacity, follow_up=follow_up)
        assert workshop.id is not None
        return workshop.id


def _send(engine: Engine, workshop_id: int, now: datetime = NOW) -> int:
    with session_scope(engine) as session:
        workshop = session.get(Workshop, workshop_id)
        assert workshop is not None
        return send_invitations(session, workshop, WORDING, now)


def _answer(engine: Engine, workshop_id: int, contact_id: int, answer: Answer,
            now: datetime = NOW) -> None:
    with session_scope(engine) as session:
        workshop = session.get(Workshop, workshop_id)
        assert workshop is not None
        record_answer(session, workshop, contact_id, answer, now)


def _rows(engine: Engine, workshop_id: int, stage: WorkshopStage) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).where(
            OutboxMessage.subject_kind == SubjectKind.WORKSHOP.value,
            OutboxMessage.subject_id == workshop_id, OutboxMessage.stage == stage.value)
            .order_by(col(OutboxMessage.id))).all())


def _tick_at(engine: Engine, moment: datetime) -> None:
    with time_machine.travel(moment, tick=False):
        run_due_workshop_steps(engine, WORDING)


def _steps(engine: Engine, workshop_id: int) -> dict[str, tuple[datetime, str]]:
    with Session(engine) as session:
        return {s.stage: (s.due_at.replace(tzinfo=UTC), s.status)
                for s in steps_of(session, workshop_id)}


def test_invitation_goes_to_everyone_in_their_language_with_the_frame(
        sqlite_engine: Engine, residents: list[Resident]) -> None:
    workshop_id = _create(sqlite_engine)
    assert _send(sqlite_engine, workshop_id) == len(residents)
    rows = {r.contact_id: r for r in _rows(sqlite_engine, workshop_id, WorkshopStage.INVITATION)}
    by_locale = {r.locale: rows[r.contact_id] for r in residents}
    french, dutch = by_locale["fr"].payload, by_locale["nl"].payload
    arabic = by_locale["ar"].payload
    assert "Atelier vélo" in french["text"] and "jeudi 3 décembre à 18:00" in french["text"]
    assert "On répare ensemble." in french["text"] and "Salle des fêtes" in french["text"]
    # Dutch has its own title; the description falls back to the facilitator's French.
    assert "Fietsatelier" in dutch["text"] and "donderdag 3 december" in dutch["text"]
    assert "On répare ensemble." in dutch["text"]
    # Arabic has no version: the facilitator's text, the frame in Arabic.
    assert "Atelier vélo" in arabic["text"] and "الخميس" in arabic["text"]
    assert [c["key"] for c in french["choices"]] == [
        f"workshop:{workshop_id}:yes", f"workshop:{workshop_id}:maybe",
        f"workshop:{workshop_id}:no"]
    # The calendar file comes with a Yes, not with the invitation.
    assert all("document_token" not in row.payload and ".ics" not in row.payload["text"]
               for row in rows.values())
    with session_scope(sqlite_engine) as session:
        workshop = session.get(Workshop, workshop_id)
        community = session.get(Community, workshop.community_id if workshop else 0)
        assert workshop is not None and community is not None
        moved = WORDING.message(session, WorkshopStage.MOVED, workshop, community, "fr",
                                "telegram", NOW)
        by_sms = WORDING.message(session, WorkshopStage.PROMOTED, workshop, community, "fr",
                                 "sms", NOW)
    assert moved.payload["document_token"] and "/media/" not in moved.payload["text"]
    assert "https://voisins.example/media/" in by_sms.payload["text"]
    assert by_sms.payload["text"].endswith(".ics")
    with Session(sqlite_engine) as session:
        workshop = session.get(Workshop, workshop_id)
        assert workshop is not None
        summary = workshop_summary(session, workshop)
        assert summary["status"] == "sent" and summary["recipients"] == len(residents)
        assert summary["delivery"]["sms"]["queued"] == 2
        with pytest.raises(WorkshopError, match="already sent"):
            send_invitations(session, workshop, WORDING, NOW)


def test_reminders_24h_and_2h_to_the_right_people_and_none_to_no(
        sqlite_engine: Engine, residents: list[Resident]) -> None:
    workshop_id = _create(sqlite_engine)
    _send(sqlite_engine, workshop_id)
    yes, maybe, no = residents[0].contact_id, residents[1].contact_id, residents[2].contact_id
    for contact_id, answer in ((yes, Answer.YES), (maybe, Answer.MAYBE), (no, Answer.NO)):
        _answer(sqlite_engine, workshop_id, contact_id, answer)
    steps = _steps(sqlite_engine, workshop_id)
    assert steps["reminder_24h"][0] == STARTS.astimezone(UTC) - timedelta(hours=24)
    assert steps["reminder_2h"][0] == STARTS.astimezone(UTC) - timedelta(hours=2)
    _tick_at(sqlite_engine, STARTS - timedelta(hours=24, minutes=1))
    assert _rows(sqlite_engine, workshop_id, WorkshopStage.REMINDER_24H) == []
    _tick_at(sqlite_engine, STARTS - timedelta(hours=24))
    day_before = _rows(sqlite_engine, workshop_id, WorkshopStage.REMINDER_24H)
    assert {r.contact_id for r in day_before} == {yes, maybe}
    _tick_at(sqlite_engine, STARTS - timedelta(hours=2))
    assert {r.contact_id for r in _rows(sqlite_engine, workshop_id,
                                        WorkshopStage.REMINDER_2H)} == {yes}
    _tick_at(sqlite_engine, STARTS - timedelta(hours=1))  # nothing twice
    assert len(_rows(sqlite_engine, workshop_id, WorkshopStage.REMINDER_2H)) == 1
    assert {stage: status for stage, (_, status) in _steps(sqlite_engine, workshop_id).items()} \
        == {"reminder_24h": "done", "reminder_2h": "done"}


def test_reminders_never_in_quiet_hours_but_earlier(sqlite_engine: Engine,
                                                    residents: list[Resident]) -> None:
    # 09:00 on Thursday: 2 h before is 07:00, in the quiet hours (22:00-08:00).
    early = datetime(2026, 12, 3, 9, 0, tzinfo=BRUSSELS)
    workshop_id = _create(sqlite_engine, starts=early)
    _send(sqlite_engine, workshop_id)
    _answer(sqlite_engine, workshop_id, residents[0].contact_id, Answer.YES)
    steps = _steps(sqlite_engine, workshop_id)
    # Moved to before the quiet hours of the evening before, not to after 08:00.
    assert steps["reminder_2h"][0] == datetime(2026, 12, 2, 21, 30, tzinfo=BRUSSELS)
    assert steps["reminder_24h"][0] == datetime(2026, 12, 2, 9, 0, tzinfo=BRUSSELS)
    _tick_at(sqlite_engine, datetime(2026, 12, 2, 21, 30, tzinfo=BRUSSELS))
    assert len(_rows(sqlite_engine, workshop_id, WorkshopStage.REMINDER_2H)) == 1
    # A scheduler that wakes up late, in the quiet hours, waits for the morning; when the
    # morning is after the start (a workshop at 07:30), there is no reminder at all.
    late = _create(sqlite_engine, starts=early + timedelta(days=1))
    dawn = _create(sqlite_engine, starts=datetime(2026, 12, 4, 7, 30, tzinfo=BRUSSELS))
    for workshop in (late, dawn):
        _send(sqlite_engine, workshop)
        _answer(sqlite_engine, workshop, residents[0].contact_id, Answer.YES)
    _tick_at(sqlite_engine, datetime(2026, 12, 3, 23, 0, tzinfo=BRUSSELS))
    assert _rows(sqlite_engine, late, WorkshopStage.REMINDER_2H) == []
    assert _steps(sqlite_engine, late)["reminder_2h"] == (
        datetime(2026, 12, 4, 8, 0, tzinfo=BRUSSELS), StepStatus.PENDING.value)
    assert _steps(sqlite_engine, dawn)["reminder_2h"][1] == StepStatus.MISSED.value
    _tick_at(sqlite_engine, datetime(2026, 12, 4, 8, 0, tzinfo=BRUSSELS))
    assert len(_rows(sqlite_engine, late, WorkshopStage.REMINDER_2H)) == 1
    assert _rows(sqlite_engine, dawn, WorkshopStage.REMINDER_2H) == []
    assert before_quiet_hours(datetime(2026, 12, 3, 23, 0, tzinfo=BRUSSELS), "22:00-08:00",
                              "Europe/Brussels") == datetime(2026, 12, 3, 21, 30,
                                                             tzinfo=BRUSSELS)


def test_cancel_tells_yes_maybe_and_waiting_and_stops_the_reminders(
        sqlite_engine: Engine, residents: list[Resident]) -> None:
    workshop_id = _create(sqlite_engine, capacity=1)
    _send(sqlite_engine, workshop_id)
    yes, waiting, maybe, no = (r.contact_id for r in residents[:4])
    for contact_id, answer in ((yes, Answer.YES), (waiting, Answer.YES),
                               (maybe, Answer.MAYBE), (no, Answer.NO)):
        _answer(sqlite_engine, workshop_id, contact_id, answer)
    with session_scope(sqlite_engine) as session:
        workshop = session.get(Workshop, workshop_id)
        assert workshop is not None
        to_tell = cancel_workshop(session, workshop, NOW + timedelta(hours=1))
        assert set(to_tell) == {yes, waiting, maybe}
        assert tell(session, workshop, WorkshopStage.CANCELLED, to_tell, WORDING,
                    NOW + timedelta(hours=1)) == 3
        assert cancel_workshop(session, workshop, NOW) == []  # twice is harmless
    told = _rows(sqlite_engine, workshop_id, WorkshopStage.CANCELLED)
    assert {r.contact_id for r in told} == {yes, waiting, maybe}
    assert "annulé" in next(r for r in told if r.contact_id == yes).payload["text"]
    assert {status for _, status in _steps(sqlite_engine, workshop_id).values()} == {
        StepStatus.CANCELLED.value}
    _tick_at(sqlite_engine, STARTS - timedelta(hours=2))
    assert _rows(sqlite_engine, workshop_id, WorkshopStage.REMINDER_24H) == []
    with session_scope(sqlite_engine) as session:
        workshop = session.get(Workshop, workshop_id)
        assert workshop is not None
        with pytest.raises(WorkshopError, match="cancelled"):
            record_answer(session, workshop, no, Answer.YES, NOW + timedelta(hours=2))


def test_move_tells_and_replans_the_reminders(sqlite_engine: Engine,
                                              residents: list[Resident]) -> None:
    workshop_id = _create(sqlite_engine)
    _send(sqlite_engine, workshop_id)
    yes, no = residents[0].contact_id, residents[1].contact_id
    _answer(sqlite_engine, workshop_id, yes, Answer.YES)
    _answer(sqlite_engine, workshop_id, no, Answer.NO)
    _tick_at(sqlite_engine, STARTS - timedelta(hours=24))
    later = STARTS + timedelta(days=7)
    with session_scope(sqlite_engine) as session:
        workshop = session.get(Workshop, workshop_id)
        community = session.get(Community, workshop.community_id if workshop else 0)
        assert workshop is not None and community is not None
        to_tell = move_workshop(session, workshop, community, STARTS - timedelta(hours=20),
                                starts_at=later, place="Local vélo")
        assert to_tell == [yes] and workshop.revision == 1
        assert workshop.ends_at == later.astimezone(UTC) + timedelta(hours=2)
        tell(session, workshop, WorkshopStage.MOVED, to_tell, WORDING,
             STARTS - timedelta(hours=20))
    (moved,) = _rows(sqlite_engine, workshop_id, WorkshopStage.MOVED)
    assert "jeudi 10 décembre à 18:00" in moved.payload["text"]
    assert "Local vélo" in moved.payload["text"]
    # The reminders start again for the new date, as new rows.
    assert _steps(sqlite_engine, workshop_id)["reminder_24h"] == (
        later.astimezone(UTC) - timedelta(hours=24), StepStatus.PENDING.value)
    _tick_at(sqlite_engine, STARTS - timedelta(hours=2))
    assert _rows(sqlite_engine, workshop_id, WorkshopStage.REMINDER_2H) == []
    _tick_at(sqlite_engine, later - timedelta(hours=24))
    assert [r.contact_id for r in _rows(sqlite_engine, workshop_id,
                                        WorkshopStage.REMINDER_24H)] == [yes, yes]


def test_waiting_list_and_promotion_with_a_message(sqlite_engine: Engine,
                                                   residents: list[Resident]) -> None:
    workshop_id = _create(sqlite_engine, capacity=2)
    _send(sqlite_engine, workshop_id)
    first, second, third, fourth = (r.contact_id for r in residents[:4])
    with session_scope(sqlite_engine) as session:
        workshop = session.get(Workshop, workshop_id)
        assert workshop is not None
        outcomes = [record_answer(session, workshop, contact_id, Answer.YES,
                                  NOW + timedelta(minutes=i))
                    for i, contact_id in enumerate((first, second, third, fourth))]
        assert [o.answer for o in outcomes] == [Answer.YES, Answer.YES, Answer.WAITING,
                                                Answer.WAITING]
        assert [o.waiting_rank for o in outcomes[2:]] == [1, 2]
        again = record_answer(session, workshop, fourth, Answer.YES, NOW + timedelta(hours=1))
        assert again.answer is Answer.WAITING and again.waiting_rank == 2
        freed = record_answer(session, workshop, second, Answer.NO, NOW + timedelta(hours=2))
        assert freed.promoted == third
        maybe = record_answer(session, workshop, fourth, Answer.MAYBE, NOW + timedelta(hours=3))
        assert maybe.promoted is None
        assert workshop_summary(session, workshop)["rsvps"] == {
            "yes": 2, "maybe": 1, "no": 1, "waiting": 0}
        csv_text = attendees_csv(session, workshop)
    assert csv_text.splitlines()[0] == \
        "name,language,answer,answered_at,waiting_rank,attended,useful,comment"
    assert len(csv_text.splitlines()) == 5


def test_an_answer_through_the_inbox_promotes_and_tells(sqlite_engine: Engine,
                                                        residents: list[Resident]) -> None:
    workshop_id = _create(sqlite_engine, capacity=1)
    _send(sqlite_engine, workshop_id)
    sms_fr, telegram_nl = residents[0], residents[1]

    def tap(answer: str, n: int) -> list[OutboxMessage]:
        return handle_incoming(sqlite_engine, IncomingMessage(
            "telegram", telegram_nl.address, "", f"t{n}",
            choice_key=f"workshop:{workshop_id}:{answer}"),
            clock=lambda: NOW + timedelta(minutes=n))

    assert "Tot donderdag" in tap("yes", 1)[0].payload["text"]
    (waiting,) = handle_incoming(sqlite_engine, IncomingMessage("sms", sms_fr.address, "1",
                                                                "s1"),
                                 clock=lambda: NOW + timedelta(minutes=2))
    assert "liste d'attente" in waiting.payload["text"]
    tap("no", 3)
    (promoted,) = _rows(sqlite_engine, workshop_id, WorkshopStage.PROMOTED)
    assert promoted.contact_id == sms_fr.contact_id and promoted.channel == "sms"
    # No public URL in this process: no calendar link nobody could open.
    assert "place" in promoted.payload["text"] and "/media/" not in promoted.payload["text"]
    with Session(sqlite_engine) as session:
        workshop = session.get(Workshop, workshop_id)
        assert workshop is not None
        assert workshop_summary(session, workshop)["rsvps"] == {
            "yes": 1, "maybe": 0, "no": 1, "waiting": 0}


def test_follow_up_question_to_yes_after_the_end(sqlite_engine: Engine,
                                                 residents: list[Resident]) -> None:
    workshop_id = _create(sqlite_engine, follow_up=True)
    _send(sqlite_engine, workshop_id)
    yes, no = residents[0], residents[1]
    _answer(sqlite_engine, workshop_id, yes.contact_id, Answer.YES)
    _answer(sqlite_engine, workshop_id, no.contact_id, Answer.NO)
    due, _ = _steps(sqlite_engine, workshop_id)["follow_up"]
    # 20:00 + 1 h is 21:00, before the quiet hours.
    assert due == datetime(2026, 12, 3, 21, 0, tzinfo=BRUSSELS)
    _tick_at(sqlite_engine, due)
    (question,) = _rows(sqlite_engine, workshop_id, WorkshopStage.FOLLOW_UP)
    assert question.contact_id == yes.contact_id
    assert "Atelier vélo" in question.payload["text"]
    for n, text in enumerate(("1", "1"), start=1):
        handle_incoming(sqlite_engine, IncomingMessage("sms", yes.address, text, f"f{n}"),
                        clock=lambda: due + timedelta(minutes=5))
    with Session(sqlite_engine) as session:
        workshop = session.get(Workshop, workshop_id)
        assert workshop is not None
        lines = attendees_csv(session, workshop).splitlines()
    row = next(line for line in lines[1:] if ",yes," in line)
    assert row.endswith(",yes,very,")


def test_ics_carries_the_local_time_across_a_daylight_saving_change(
        sqlite_engine: Engine, residents: list[Resident]) -> None:
    # Sent in winter (CET, +01:00) for a workshop after the change to summer time (CEST).
    march = datetime(2027, 3, 29, 18, 0, tzinfo=BRUSSELS)
    workshop_id = _create(sqlite_engine, starts=march)
    with Session(sqlite_engine) as session:
        workshop = session.get(Workshop, workshop_id)
        community = session.get(Community, workshop.community_id if workshop else 0)
        assert workshop is not None and community is not None
        data = workshop_ics(workshop, community, "nl", NOW)
    calendar = icalendar.Calendar.from_ical(data)
    (event,) = calendar.walk("VEVENT")
    start = event.decoded("dtstart")
    assert start.utcoffset() == timedelta(hours=2)  # CEST
    assert (start.hour, start.minute) == (18, 0)
    assert start.astimezone(UTC) == datetime(2027, 3, 29, 16, 0, tzinfo=UTC)
    assert event["dtstart"].params["TZID"] == "Europe/Brussels"
    (zone,) = calendar.walk("VTIMEZONE")
    assert zone["TZID"] == "Europe/Brussels"
    assert str(event["summary"]) == "Fietsatelier" and str(event["location"]) == \
        "Salle des fêtes"
    assert {c.name for c in zone.subcomponents} >= {"STANDARD", "DAYLIGHT"}
