"""Survey results as staff see them: counts over at least k people, never one person's answers.

k is the community's ``privacy_k`` (the strictest of the communities concerned when a result
covers several). The rules, for the chat, the API, the CSV and the charts alike:

- how many took part (responses, finished, per language) is always shown;
- nothing about the answers is shown while fewer than k people responded;
- a question's counts are shown only when at least k people answered it, and per language
  only for languages with at least k answers (smaller ones together as "other");
- free texts are shown only when at least k people wrote one, in random order, without who
  wrote them;
- only residents count: staff without a household of their own are left out (core/residents.py).

Asked for one survey round (``context``, e.g. "alert:42"), the same rules hold within it.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.models import Community, Contact
from core.questionnaires.definition import (
    CHOICE_TYPES,
    AnswerValue,
    Definition,
    Question,
    QuestionType,
    value_fits,
)
from core.questionnaires.storage import Questionnaire, Response, ResponseStatus, definition_of
from core.residents import counts_as_resident

# The k of a database with no community yet: a new community's own default.
DEFAULT_PRIVACY_K: int = Community.model_fields["privacy_k"].default
# Languages too small to show on their own, together.
OTHER = "other"
# Texts in random order: the order of answers must not tell who wrote which.
_SHUFFLER = random.SystemRandom()


@dataclass(frozen=True)
class ResponseView:
    """One response as results see it: no contact, only a pseudonym."""

    respondent: str
    locale: str
    status: str
    answers: Mapping[str, AnswerValue]
    context: str = ""
    started_at: datetime | None = None
    completed_at: datetime | None = None


@dataclass
class QuestionResult:
    question_id: str
    type: str
    # True when fewer than k people answered: counts and texts are not shown.
    withheld: bool
    answered: int | None = None
    skipped: int | None = None
    counts: dict[str, int] | None = None
    by_locale: dict[str, dict[str, int]] = field(default_factory=dict)
    texts: list[str] | None = None


@dataclass
class Results:
    questionnaire: str
    version: int
    # k: the smallest group whose answers are shown.
    min_group: int
    responses: int
    completed: int
    completion_rate: float
    # True when fewer than k people responded: no answer of any question is shown.
    withheld: bool
    by_locale: dict[str, dict[str, int]]
    questions: list[QuestionResult]


def answer_codes(question: Question, value: AnswerValue) -> list[str]:
    """An answer in the questionnaire's own codes (yes/no, option codes, numbers as text)."""
    if value is None:
        return []
    if isinstance(value, bool):
        return ["yes" if value else "no"]
    if isinstance(value, list):
        return [str(v) for v in value]
    if question.type is QuestionType.TEXT:
        return []
    return [str(value)]


def _empty_counts(question: Question) -> dict[str, int]:
    if question.type in CHOICE_TYPES:
        return {code: 0 for code in question.codes}
    if question.type is QuestionType.YES_NO:
        return {"yes": 0, "no": 0}
    if question.type is QuestionType.SCALE:
        low, high = question.bounds
        return {str(n): 0 for n in range(low, high + 1)}
    return {}


@dataclass
class _Tally:
    """Everything about one question, before the privacy rules decide what may be shown."""

    answered: int = 0
    skipped: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    by_locale: dict[str, dict[str, int]] = field(default_factory=dict)
    answered_by_locale: dict[str, int] = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)


def _tally(question: Question, rows: Iterable[ResponseView]) -> _Tally:
    tally = _Tally(counts=_empty_counts(question))
    for row in rows:
        if question.id not in row.answers:
            continue
        value = row.answers[question.id]
        if value is None:
            tally.skipped += 1
            continue
        if not value_fits(question, value):
            continue  # never count something the definition cannot hold
        tally.answered += 1
        tally.answered_by_locale[row.locale] = tally.answered_by_locale.get(row.locale, 0) + 1
        if question.type is QuestionType.TEXT:
            tally.texts.append(str(value))
            continue
        per_locale = tally.by_locale.setdefault(row.locale, _empty_counts(question))
        for code in answer_codes(question, value):
            tally.counts[code] = tally.counts.get(code, 0) + 1
            per_locale[code] = per_locale.get(code, 0) + 1
    return tally


def merge_small_groups(groups: Mapping[str, Mapping[str, int]], sizes: Mapping[str, int],
                       k: int) -> dict[str, dict[str, int]]:
    """Groups of at least k people, the smaller ones together as "other" when that reaches k.

    A left-over of 1 to k-1 people could be read by subtracting the groups shown from the
    totals, so the smallest groups shown join it until it is large enough; and a single
    group left would only repeat the totals, so then nothing is broken down.
    """
    shown = sorted(g for g in groups if sizes.get(g, 0) >= k)
    rest = sum(sizes.get(g, 0) for g in groups if g not in shown)
    while 0 < rest < k and shown:
        smallest = min(shown, key=lambda g: (sizes.get(g, 0), g))
        shown.remove(smallest)
        rest += sizes.get(smallest, 0)
    if not shown:
        return {}
    merged = {g: dict(groups[g]) for g in shown}
    if rest:
        other: dict[str, int] = {}
        for group, counts in groups.items():
            if group in shown:
                continue
            for key, value in counts.items():
                other[key] = other.get(key, 0) + value
        merged[OTHER] = other
    return merged


def _question_result(question: Question, rows: list[ResponseView], k: int,
                     shuffler: random.Random) -> QuestionResult:
    tally = _tally(question, rows)
    result = QuestionResult(question.id, question.type.value, withheld=tally.answered < k,
                            answered=tally.answered, skipped=tally.skipped)
    if result.withheld:
        return result
    if question.type is QuestionType.TEXT:
        texts = list(tally.texts)
        shuffler.shuffle(texts)
        result.texts = texts
    else:
        result.counts = dict(tally.counts)
        result.by_locale = merge_small_groups(tally.by_locale, tally.answered_by_locale, k)
    return result


def aggregate(definition: Definition, responses: Iterable[ResponseView], k: int,
              shuffler: random.Random = _SHUFFLER) -> Results:
    """Results under the privacy rules above, with groups of at least ``k`` people."""
    k = max(1, k)
    rows = list(responses)
    participation: dict[str, dict[str, int]] = {}
    for row in rows:
        entry = participation.setdefault(row.locale, {"responses": 0, "completed": 0})
        entry["responses"] += 1
        entry["completed"] += row.status == ResponseStatus.COMPLETED
    completed = sum(1 for r in rows if r.status == ResponseStatus.COMPLETED)
    withheld = len(rows) < k
    questions = [QuestionResult(q.id, q.type.value, withheld=True) if withheld
                 else _question_result(q, rows, k, shuffler) for q in definition.questions]
    sizes = {locale: entry["responses"] for locale, entry in participation.items()}
    return Results(questionnaire=definition.slug, version=definition.version, min_group=k,
                   responses=len(rows), completed=completed,
                   completion_rate=round(completed / len(rows), 4) if rows else 0.0,
                   withheld=withheld, by_locale=merge_small_groups(participation, sizes, k),
                   questions=questions)


# --------------------------------------------------------------------------------------------
# From the database
# --------------------------------------------------------------------------------------------

def privacy_k(session: Session, community_ids: Collection[int]) -> int:
    """The strictest ``privacy_k`` of these communities (of every community when none)."""
    query = select(func.max(Community.privacy_k))
    if community_ids:
        query = query.where(col(Community.id).in_(list(community_ids)))
    value = session.exec(query).one()
    return int(value) if value else DEFAULT_PRIVACY_K


def resident_responses(session: Session, questionnaire_id: int, context: str | None = None,
                       community_id: int | None = None) -> list[tuple[Response, Contact]]:
    """Residents' responses (staff without a household left out), oldest first."""
    query = (select(Response, Contact)
             .join(Contact, col(Contact.id) == Response.contact_id)
             .where(Response.questionnaire_id == questionnaire_id, counts_as_resident())
             .order_by(col(Response.id)))
    if context is not None:
        query = query.where(Response.context == context)
    if community_id is not None:
        query = query.where(Contact.community_id == community_id)
    return [(response, contact) for response, contact in session.exec(query).all()]


def view_of(response: Response, respondent: str) -> ResponseView:
    return ResponseView(respondent=respondent, locale=response.locale, status=response.status,
                        answers=dict(response.answers), context=response.context,
                        started_at=response.started_at, completed_at=response.completed_at)


def results_for(session: Session, questionnaire_id: int, context: str | None = None,
                community_id: int | None = None, shuffler: random.Random = _SHUFFLER
                ) -> Results | None:
    """Results of one questionnaire version (one round with ``context``, one community with
    ``community_id``); None if there is no such questionnaire."""
    row = session.get(Questionnaire, questionnaire_id)
    if row is None:
        return None
    found = resident_responses(session, questionnaire_id, context, community_id)
    communities = {community_id} if community_id is not None else {
        contact.community_id for _, contact in found}
    # Results never carry a respondent: the pseudonym is for the research export only.
    views = [view_of(response, "") for response, _ in found]
    return aggregate(definition_of(row), views, privacy_k(session, communities), shuffler)
