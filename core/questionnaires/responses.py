"""A resident's response: started when the first question goes out, answered one question at a
time, completed or expired; and the effects the chat flow asks for, applied by the inbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.clock import as_utc
from core.questionnaires.definition import AnswerValue, value_fits
from core.questionnaires.storage import Questionnaire, Response, ResponseStatus, definition_of

DEFAULT_TTL = timedelta(hours=72)
# How long the conversation of a survey is kept: past the survey's own expiry, so that a
# late answer is told the survey is closed.
SURVEY_STATE_TTL = timedelta(days=10)


def start_response(session: Session, questionnaire_id: int, contact_id: int, context: str,
                   locale: str, now: datetime, ttl: timedelta = DEFAULT_TTL) -> Response:
    """The response row for this contact and context; the same one if it exists already."""
    existing = session.exec(select(Response).where(
        Response.questionnaire_id == questionnaire_id, Response.contact_id == contact_id,
        Response.context == context)).first()
    if existing is not None:
        return existing
    row = Response(questionnaire_id=questionnaire_id, contact_id=contact_id, context=context,
                   locale=locale, status=ResponseStatus.STARTED.value, started_at=now,
                   expires_at=now + ttl, answers={})
    session.add(row)
    session.flush()
    return row


def _open_response(session: Session, response_id: int, now: datetime) -> Response | None:
    row = session.get(Response, response_id)
    if row is None or row.status != ResponseStatus.STARTED:
        return None
    if row.expires_at is not None and as_utc(row.expires_at) <= as_utc(now):
        row.status = ResponseStatus.EXPIRED.value
        session.add(row)
        return None
    return row


def record_answer(session: Session, response_id: int, question_id: str, value: AnswerValue,
                  now: datetime) -> bool:
    """Store one answer if the response is open and the value fits the question."""
    row = _open_response(session, response_id, now)
    if row is None:
        return False
    questionnaire = session.get(Questionnaire, row.questionnaire_id)
    question = definition_of(questionnaire).question(question_id) if questionnaire else None
    if question is None or not value_fits(question, value):
        return False
    # A new dict: SQLAlchemy does not see changes made inside a JSON value.
    row.answers = {**row.answers, question_id: value}
    session.add(row)
    return True


def complete_response(session: Session, response_id: int, now: datetime) -> bool:
    row = _open_response(session, response_id, now)
    if row is None:
        return False
    row.status = ResponseStatus.COMPLETED.value
    row.completed_at = now
    session.add(row)
    return True


def expire_response(session: Session, response_id: int, now: datetime) -> bool:
    row = session.get(Response, response_id)
    if row is None or row.status != ResponseStatus.STARTED:
        return False
    row.status = ResponseStatus.EXPIRED.value
    session.add(row)
    return True


def expire_responses(session: Session, now: datetime) -> int:
    """Close every started response past its expiry (a scheduler job)."""
    rows = session.exec(select(Response).where(
        Response.status == ResponseStatus.STARTED.value,
        col(Response.expires_at).is_not(None), col(Response.expires_at) <= now)).all()
    for row in rows:
        row.status = ResponseStatus.EXPIRED.value
        session.add(row)
    return len(rows)


def completed_contact_ids(session: Session, context: str) -> set[int]:
    """Who finished a questionnaire asked in ``context`` (e.g. "alert:42"), any version."""
    rows = session.exec(select(Response.contact_id).where(
        Response.context == context, Response.status == ResponseStatus.COMPLETED.value)).all()
    return set(rows)


def unfinished_contact_ids(session: Session, questionnaire_id: int, context: str,
                           now: datetime) -> list[int]:
    """Who started but has not finished and can still answer: the reminder's audience."""
    rows = session.exec(select(Response.contact_id).where(
        Response.questionnaire_id == questionnaire_id, Response.context == context,
        Response.status == ResponseStatus.STARTED.value,
        col(Response.expires_at) > now)).all()
    return sorted(rows)


def response_counts(session: Session, questionnaire_id: int, context: str | None = None
                    ) -> dict[str, int]:
    """How many responses per status (started, completed, expired)."""
    query = select(Response.status, func.count()).where(
        Response.questionnaire_id == questionnaire_id).group_by(col(Response.status))
    if context is not None:
        query = query.where(Response.context == context)
    counts = {status.value: 0 for status in ResponseStatus}
    for status, count in session.exec(query):
        counts[status] = count
    return counts


# --------------------------------------------------------------------------------------------
# Effects asked by the chat flow (applied by the inbox)
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RecordAnswer:
    response_id: int
    question_id: str
    value: AnswerValue


@dataclass(frozen=True)
class CompleteResponse:
    response_id: int


@dataclass(frozen=True)
class ExpireResponse:
    response_id: int


QuestionnaireEffect = RecordAnswer | CompleteResponse | ExpireResponse


def apply_questionnaire_effect(session: Session, contact_id: int, effect: QuestionnaireEffect,
                               now: datetime) -> bool:
    """Apply one effect to the contact's own response; anything else is ignored (False)."""
    row = session.get(Response, effect.response_id)
    if row is None or row.contact_id != contact_id:
        return False
    if isinstance(effect, RecordAnswer):
        return record_answer(session, effect.response_id, effect.question_id, effect.value, now)
    if isinstance(effect, CompleteResponse):
        return complete_response(session, effect.response_id, now)
    return expire_response(session, effect.response_id, now)
