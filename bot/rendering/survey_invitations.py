"""Start or resume a questionnaire for one contact from a scheduled job.

Shared by the post-alert questionnaire (``AlertMessages.survey``) and survey campaigns: it
opens (or finds) the contact's response for ``context`` and returns the next question as an
outgoing payload plus the conversation state that lets the resident's reply answer it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from sqlmodel import Session

from bot.conversation.directory import community_view
from bot.flows.base import Who
from bot.flows.questionnaire import known_answers
from bot.flows.questionnaire import start as start_survey
from bot.i18n import Translator, choose_locale, translator
from bot.rendering.scheduled import opening
from core.campaigns import Campaign, context_of
from core.messages import RenderedMessage
from core.models import Community, Contact
from core.questionnaires.definition import AnswerValue, localized
from core.questionnaires.responses import SURVEY_STATE_TTL, record_answer, start_response
from core.questionnaires.storage import Questionnaire, ResponseStatus, SqlQuestionnaires


def survey_message(session: Session, questionnaire_id: int, community: Community,
                   contact: Contact, context: str, kind: str,
                   intro: Callable[[Translator], str], now: datetime,
                   known: Mapping[str, AnswerValue] | None = None) -> RenderedMessage | None:
    """The next unanswered question (with ``intro``) for ``contact``; None when the response
    is finished or closed, or there is nothing left to ask. ``known``: answers the person
    already gave another way (recorded, not asked)."""
    assert contact.id is not None
    locale = choose_locale(contact.locale, None, community.default_locale)
    t = translator(locale)
    response = start_response(session, questionnaire_id, contact.id, context, locale, now)
    if response.status != ResponseStatus.STARTED.value or response.id is None \
            or response.expires_at is None:
        return None  # finished or closed: nothing to ask
    lookup = SqlQuestionnaires(session)
    given = known_answers(lookup.questionnaire(questionnaire_id), known or {})
    answers = dict(response.answers or {})
    for question_id, value in given.items():
        if question_id not in answers:
            record_answer(session, response.id, question_id, value, now)
            answers[question_id] = value
    who = Who(channel="scheduled", locale=locale, contact_id=contact.id,
              community=community_view(community))
    result = start_survey(who, questionnaire_id, response.id, lookup, response.expires_at,
                          answers=answers, given=tuple(given), intro=intro(t))
    if not result.replies:
        return None
    first = result.replies[0]
    # The question cannot be answered once the response closes: it goes before, or never.
    return RenderedMessage(kind=kind, payload=first.to_payload(),
                           opens=opening(result.state.flow or "", result.state.step or "",
                                         result.state.data, SURVEY_STATE_TTL),
                           expires_at=response.expires_at)


def campaign_intro(t: Translator, title: str, reminder: bool) -> str:
    """The line before a campaign's first question (or, in the reminder, the next one)."""
    if reminder:
        return t.gettext("Voisins: the survey \u201c{title}\u201d is still waiting for "
                         "your answers. Thank you!", title=title)
    return t.gettext("Voisins: your energy community asks a few questions: "
                     "\u201c{title}\u201d.", title=title)


def campaign_message(session: Session, campaign: Campaign, community: Community,
                     contact: Contact, reminder: bool, now: datetime
                     ) -> RenderedMessage | None:
    """A campaign's first question, or in the reminder the next unanswered one."""
    assert campaign.id is not None
    row = session.get(Questionnaire, campaign.questionnaire_id)
    if row is None:
        return None

    def intro(t: Translator) -> str:
        return campaign_intro(t, localized(row.title, t.locale) if row.title else "", reminder)

    kind = "campaign_reminder" if reminder else "campaign_start"
    return survey_message(session, campaign.questionnaire_id, community, contact,
                          context_of(campaign.id), kind, intro, now)
