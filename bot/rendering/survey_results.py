"""The database side of the facilitator survey flow: lookups, the StartCampaign effect, and
the results summary with one chart per choice question.

Results go to facilitators only, for their own community and under the privacy rules of
``core.questionnaires.results``; residents get nothing here.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.flows.base import StartCampaign, Who
from bot.i18n import translator
from bot.rendering.survey_charts import charts_for, option_label
from core.campaigns import Campaign, CampaignError, create_campaign
from core.media import store_png
from core.messages import OutgoingMessage
from core.models import Community, Contact, Role
from core.questionnaires.definition import localized
from core.questionnaires.results import results_for
from core.questionnaires.storage import Questionnaire, definition_of

MAX_TEXTS = 10
MAX_TEXT_LENGTH = 300


def apply_campaign_effect(session: Session, contact: Contact, effect: StartCampaign,
                          now: datetime) -> Campaign | None:
    """Create the campaign a facilitator confirmed (sent by the scheduler's next tick)."""
    if contact.role != Role.FACILITATOR or contact.id is None:
        return None
    community = session.get(Community, contact.community_id)
    if community is None:
        return None
    try:
        return create_campaign(session, community, effect.questionnaire_id, now,
                               cluster=effect.cluster, locale=effect.locale,
                               created_by=contact.id)
    except CampaignError:
        return None


def survey_results_replies(session: Session, who: Who, questionnaire_id: int, now: datetime
                           ) -> list[OutgoingMessage]:
    """A summary text, then one chart per choice question; facilitators only.

    Only the facilitator's own community, under the privacy rules of
    ``core.questionnaires.results``: no answer below ``privacy_k`` respondents, a question from
    ``privacy_k`` answers, free texts from ``privacy_k`` writers, in random order.
    """
    if who.role != Role.FACILITATOR or who.community is None:
        return []
    t = translator(who.locale)
    row = session.get(Questionnaire, questionnaire_id)
    results = results_for(session, questionnaire_id, community_id=who.community.id)
    if row is None or results is None:
        return [OutgoingMessage(text=t.gettext("I could not find this questionnaire."),
                                locale=who.locale)]
    definition = definition_of(row)
    title = localized(definition.title, who.locale)
    lines = [t.gettext("Results of \u201c{title}\u201d (version {version}):", title=title,
                       version=row.version)]
    if results.responses == 0:
        lines.append(t.gettext("No answers yet."))
        return [OutgoingMessage(text="\n".join(lines), locale=who.locale)]
    lines.append(t.gettext("{completed} of {responses} finished ({rate} %).",
                           completed=results.completed, responses=results.responses,
                           rate=round(results.completion_rate * 100)))
    if results.withheld:
        lines.append(t.gettext("Answers are shown once {k} people have answered, so that "
                               "nobody can be recognised.", k=results.min_group))
        return [OutgoingMessage(text="\n".join(lines), locale=who.locale,
                                kind="survey_results")]
    for result in results.questions:
        question = definition.question(result.question_id)
        if question is None or not result.texts:
            continue
        lines.append(f"\u2022 {localized(question.text, who.locale)}")
        for text in result.texts[:MAX_TEXTS]:
            lines.append(f"  \u2013 {text[:MAX_TEXT_LENGTH]}")
    if any(result.withheld and result.answered for result in results.questions):
        lines.append(t.gettext("Questions answered by fewer than {k} people are not shown.",
                               k=results.min_group))
    replies = [OutgoingMessage(text="\n".join(lines), locale=who.locale, kind="survey_results")]
    for question, result, png in charts_for(definition, results.questions, who.locale,
                                            t.gettext):
        counts = result.counts or {}
        top = max(counts, key=lambda code: counts[code])
        caption = t.gettext("{question} ({answered} answers; most often: {top})",
                            question=localized(question.text, who.locale),
                            answered=result.answered,
                            top=option_label(question, top, who.locale, t.gettext))
        token = store_png(session, png, now)
        replies.append(OutgoingMessage(text=caption, locale=who.locale, kind="chart",
                                       extra={"image_token": token}))
    return replies
