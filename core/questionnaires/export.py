"""Two CSV exports: the counts (what results show, under the same privacy rules) and the
pseudonymous row-level table, one row per response, for research only.

The row-level table holds each resident's answers, free texts included. It is for a research
role, and only with the residents' consent: only those who agreed to a consent text that
mentions research use (``Settings.research_consent_versions``) are in it. The API enforces
the role; ``research_rows_csv`` keeps the consent rule.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime

from sqlmodel import Session

from core.clock import as_utc
from core.questionnaires.definition import (
    RESERVED_CODES,
    AnswerValue,
    Definition,
    Question,
    QuestionType,
)
from core.questionnaires.results import (
    ResponseView,
    Results,
    answer_codes,
    resident_responses,
    view_of,
)
from core.questionnaires.storage import Questionnaire, definition_of

# The cell of a question the resident chose to skip (an option may not use this code).
SKIPPED_CELL = "skipped"
assert SKIPPED_CELL in RESERVED_CODES
ALL_LANGUAGES = "all"


def counts_csv(results: Results) -> str:
    """question, language, answer, count: the counts that results show, and nothing else."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["question", "language", "answer", "count"])
    for question in results.questions:
        if question.counts is None:
            continue
        for code, count in question.counts.items():
            writer.writerow([question.question_id, ALL_LANGUAGES, code, count])
        for locale, counts in question.by_locale.items():
            for code, count in counts.items():
                writer.writerow([question.question_id, locale, code, count])
    return buffer.getvalue()


def pseudonym(salt: str, contact_id: int) -> str:
    """A respondent id that is stable within a questionnaire and reveals nothing on its own."""
    digest = hmac.new(salt.encode(), str(contact_id).encode(), hashlib.sha256).hexdigest()
    return f"r-{digest[:12]}"


def _cell(question: Question, answers: Mapping[str, AnswerValue]) -> str:
    if question.id not in answers:
        return ""
    value = answers[question.id]
    if value is None:
        return SKIPPED_CELL
    if question.type is QuestionType.TEXT:
        text = str(value)
        # A cell starting with = + - @ would run as a formula in a spreadsheet.
        return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
    return ";".join(answer_codes(question, value))


def _time_cell(moment: datetime | None) -> str:
    return as_utc(moment).isoformat(timespec="seconds") if moment else ""


def rows_csv(definition: Definition, responses: Iterable[ResponseView]) -> str:
    """One row per response; multiple choices joined with ";"; skipped = "skipped"."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["respondent", "language", "status", "context", "started_at",
                     "completed_at", *(q.id for q in definition.questions)])
    for row in responses:
        writer.writerow([row.respondent, row.locale, row.status, row.context,
                         _time_cell(row.started_at), _time_cell(row.completed_at),
                         *(_cell(q, row.answers) for q in definition.questions)])
    return buffer.getvalue()


def research_rows_csv(session: Session, questionnaire_id: int,
                      consent_versions: Collection[str], context: str | None = None
                      ) -> str | None:
    """The row-level table of the residents who consented under one of ``consent_versions``
    (texts that mention research use); None if there is no such questionnaire."""
    row = session.get(Questionnaire, questionnaire_id)
    if row is None:
        return None
    allowed = set(consent_versions)
    views = [view_of(response, pseudonym(row.export_salt, response.contact_id))
             for response, contact in resident_responses(session, questionnaire_id, context)
             if contact.consent_version in allowed]
    return rows_csv(definition_of(row), views)

