"""Admin routes for questionnaires: create, new version, list, results, the two CSV exports,
and campaigns (a questionnaire sent to an audience, with one reminder).

Results follow the privacy rules of ``core.questionnaires.results``: k is the community's
``privacy_k``; nothing about answers below k respondents, a question's counts from k answers,
free texts from k writers in random order. ``results.csv`` is those same counts. The
row-level ``responses.csv`` is for unscoped admin tokens only, and holds only residents whose
consent text mentions research use (``VOISINS_RESEARCH_CONSENT_VERSIONS``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import HTTPException, Query, status
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from api.access import any_token, by_query, by_row, by_slug, read, unscoped_admin, write
from api.auth import admin_router
from api.deps import ClockDep, IdPath, SessionDep, SettingsDep, community_or_404
from api.errors import error_responses
from core.campaigns import (
    Campaign,
    CampaignError,
    campaign_summary,
    cancel_campaign,
    create_campaign,
)
from core.questionnaires.definition import Definition, DefinitionError, QuestionType
from core.questionnaires.export import counts_csv, research_rows_csv
from core.questionnaires.results import Results, results_for
from core.questionnaires.storage import (
    Questionnaire,
    create_questionnaire,
    latest_questionnaire,
    list_questionnaires,
    new_version,
)

router = admin_router("questionnaires")
# Results span every community unless ?community= names one: a community's token names its own.
BY_COMMUNITY_QUERY = by_query("community")
BY_CAMPAIGN = by_row(Campaign, "campaign_id")


class ErrorMessage(BaseModel):
    detail: str


class CsvResponse(PlainTextResponse):
    media_type = "text/csv"


def _csv_doc(description: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"description": description,
                  "content": {"text/csv": {"schema": {"type": "string"}}}},
            **error_responses(404)}


ContextQuery = Annotated[str | None, Query(
    description='one survey round only, e.g. "alert:42" or "campaign:3"')]
CommunityQuery = Annotated[str | None, Query(
    description="one community only (its slug); otherwise every community, with the "
                "strictest privacy_k among them")]


# --------------------------------------------------------------------------------------------
# Definitions and versions
# --------------------------------------------------------------------------------------------

class QuestionnaireSummary(BaseModel):
    id: int
    slug: str
    version: int
    active: bool


class QuestionnaireVersion(BaseModel):
    id: int
    version: int
    active: bool
    created_at: str | None = Field(description="ISO-8601")


class QuestionnaireListing(BaseModel):
    slug: str
    title: dict[str, str] = Field(description="of the active version (else the latest)")
    active_id: int | None
    versions: list[QuestionnaireVersion]


def _summary(row: Questionnaire) -> QuestionnaireSummary:
    assert row.id is not None
    return QuestionnaireSummary(id=row.id, slug=row.slug, version=row.version,
                                active=row.active)


def _unprocessable(field: str, message: str, given: object) -> HTTPException:
    # The same shape as FastAPI's own validation errors, so clients read one kind of 422.
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [
        {"type": "questionnaire", "loc": ["body", field], "msg": message, "input": given}])


def _refused(exc: DefinitionError) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [
        {"type": "questionnaire", "loc": ["body"], "msg": problem} for problem in exc.problems])


@router.post("/questionnaires", status_code=status.HTTP_201_CREATED,
             dependencies=[unscoped_admin()],
             response_model=QuestionnaireSummary)
def create(definition: Definition, session: SessionDep, clock: ClockDep
           ) -> QuestionnaireSummary:
    """A new questionnaire (version 1). A bad definition gets every problem at once (422)."""
    if latest_questionnaire(session, definition.slug, active_only=False) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"questionnaire {definition.slug!r} exists already: use "
                            f"PUT /api/v1/questionnaires/{definition.slug} for a new version")
    try:
        return _summary(create_questionnaire(session, definition, clock()))
    except DefinitionError as exc:
        raise _refused(exc) from None


@router.put("/questionnaires/{slug}", response_model=QuestionnaireSummary,
            dependencies=[unscoped_admin()])
def update(slug: str, definition: Definition, session: SessionDep, clock: ClockDep
           ) -> QuestionnaireSummary:
    """A new version; responses already given keep the version they answered."""
    if definition.slug != slug:
        raise _unprocessable("slug", f"the definition says {definition.slug!r}, the URL "
                                     f"{slug!r}", definition.slug)
    if latest_questionnaire(session, slug, active_only=False) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"no questionnaire {slug!r}: create it with POST first")
    try:
        return _summary(new_version(session, slug, definition, clock()))
    except DefinitionError as exc:
        raise _refused(exc) from None


# Definitions are content, the same for every community: any token reads them.
@router.get("/questionnaires", response_model=list[QuestionnaireListing],
            dependencies=[any_token()])
def list_all(session: SessionDep) -> list[QuestionnaireListing]:
    """One entry per slug with its versions (id, version, active, created_at)."""
    grouped: dict[str, QuestionnaireListing] = {}
    for row in list_questionnaires(session):
        assert row.id is not None
        entry = grouped.setdefault(row.slug, QuestionnaireListing(
            slug=row.slug, title=row.title, active_id=None, versions=[]))
        entry.versions.append(QuestionnaireVersion(
            id=row.id, version=row.version, active=row.active,
            created_at=row.created_at.isoformat() if row.created_at else None))
        if row.active:
            entry.active_id = row.id
            entry.title = row.title
    return list(grouped.values())


# --------------------------------------------------------------------------------------------
# Results and exports
# --------------------------------------------------------------------------------------------

class QuestionResultView(BaseModel):
    id: str
    type: QuestionType
    withheld: bool = Field(description="fewer than min_group people answered this question: "
                                       "no counts, no texts")
    answered: int | None = Field(description="people who answered (null below min_group "
                                             "respondents)")
    skipped: int | None
    counts: dict[str, int] | None = Field(
        default=None, description="answer code → people; a multiple choice counts in every "
                                  "option picked; null when withheld or for free text")
    by_locale: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="languages with at least min_group answers; the "
                                          "smaller ones together as \"other\"")
    texts: list[str] | None = Field(
        default=None, description="free texts, in random order, without who wrote them; null "
                                  "when fewer than min_group people wrote one")


class ResultsView(BaseModel):
    questionnaire: str
    version: int
    min_group: int = Field(description="k: the community's privacy_k")
    responses: int = Field(description="residents who started (staff without a household "
                                       "are not counted)")
    completed: int
    completion_rate: float
    withheld: bool = Field(description="fewer than min_group people responded: no answers "
                                       "are shown")
    by_locale: dict[str, dict[str, int]] = Field(
        description="responses and completed per language, as for questions")
    questions: list[QuestionResultView]


def results_view(results: Results) -> ResultsView:
    return ResultsView(
        questionnaire=results.questionnaire, version=results.version,
        min_group=results.min_group, responses=results.responses,
        completed=results.completed, completion_rate=results.completion_rate,
        withheld=results.withheld, by_locale=results.by_locale,
        questions=[QuestionResultView(
            id=q.question_id, type=QuestionType(q.type), withheld=q.withheld,
            answered=q.answered, skipped=q.skipped, counts=q.counts, by_locale=q.by_locale,
            texts=q.texts) for q in results.questions])


def _results(session: Session, questionnaire_id: int, context: str | None,
             community: str | None) -> Results:
    community_id = community_or_404(session, community).id if community else None
    found = results_for(session, questionnaire_id, context, community_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no questionnaire {questionnaire_id}")
    return found


@router.get("/questionnaires/{questionnaire_id}/results", response_model=ResultsView,
            dependencies=[read(BY_COMMUNITY_QUERY)])
def results(questionnaire_id: IdPath, session: SessionDep, context: ContextQuery = None,
            community: CommunityQuery = None) -> ResultsView:
    """Counts per answer and language, and free texts, under the privacy rules."""
    return results_view(_results(session, questionnaire_id, context, community))


# response_class=Response: errors are then documented as JSON, the 200 as text/csv.
@router.get("/questionnaires/{questionnaire_id}/results.csv", response_class=Response,
            dependencies=[read(BY_COMMUNITY_QUERY)],
            responses=_csv_doc("question, language (\"all\" for every language), answer, "
                               "count: the counts that /results shows, nothing more"))
def results_csv(questionnaire_id: IdPath, session: SessionDep, context: ContextQuery = None,
                community: CommunityQuery = None) -> CsvResponse:
    text = counts_csv(_results(session, questionnaire_id, context, community))
    return CsvResponse(text, headers={
        "Content-Disposition": f'attachment; filename="questionnaire-{questionnaire_id}.csv"'})


@router.get("/questionnaires/{questionnaire_id}/responses.csv", response_class=Response,
            dependencies=[unscoped_admin()],
            responses={**_csv_doc("one row per response (pseudonymous respondent, option "
                                  "codes, free texts) of the residents who consented to "
                                  "research use"),
                       403: {"model": ErrorMessage,
                             "description": "no consent version is marked as mentioning "
                                            "research use"}})
def responses_csv(questionnaire_id: IdPath, session: SessionDep, settings: SettingsDep,
                  context: ContextQuery = None) -> CsvResponse:
    """Row-level answers, for research only: an admin token of no particular community."""
    if not settings.research_consent_versions:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "row-level answers are exported only for residents whose consent "
                            "text mentions research use, and no consent version is marked so: "
                            "list them in VOISINS_RESEARCH_CONSENT_VERSIONS")
    text = research_rows_csv(session, questionnaire_id, settings.research_consent_versions,
                             context)
    if text is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no questionnaire {questionnaire_id}")
    return CsvResponse(text, headers={"Content-Disposition": f'attachment; filename='
                                      f'"questionnaire-{questionnaire_id}-responses.csv"'})


# --------------------------------------------------------------------------------------------
# Campaigns: a questionnaire sent to an audience, with one reminder
# --------------------------------------------------------------------------------------------

class CampaignRequest(BaseModel):
    questionnaire: int | str = Field(description="an id (that version) or a slug (its active "
                                                 "version)")
    cluster: str | None = None
    locale: str | None = Field(default=None, description="only contacts reading this language")
    reminder_delay_hours: int = Field(default=48, ge=1, le=14 * 24)


class CampaignProgress(BaseModel):
    """Counts only, never who."""

    model_config = ConfigDict(extra="allow")
    sent: int = Field(description="first questions queued (not held back)")
    started: int = Field(description="answered at least one question, or finished")
    completed: int
    expired: int = Field(description="first questions or reminders not sent because their "
                                     "moment had passed")


class CampaignView(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    questionnaire_id: int
    questionnaire: str | None = Field(description="its slug")
    version: int | None
    community_id: int
    cluster_id: int | None
    locale: str | None
    status: str = Field(description="scheduled, sent, done or cancelled")
    created_at: str | None = Field(description="ISO-8601, as are the other times")
    due_at: str | None
    sent_at: str | None
    reminder_due_at: str | None
    reminder_sent_at: str | None
    cancelled_at: str | None
    attempts: int = Field(description="tries at sending it; retried with backoff on errors")
    last_error: str | None = Field(description="why the last try failed, if it did")
    progress: CampaignProgress


class CancelledCampaign(CampaignView):
    held_back: int = Field(description="messages still waiting that will not be sent")


@router.post("/communities/{slug}/campaigns", status_code=status.HTTP_201_CREATED,
             dependencies=[write(by_slug)],
             tags=["campaigns"], response_model=CampaignView)
def start_campaign(slug: str, request: CampaignRequest, session: SessionDep, clock: ClockDep
                   ) -> CampaignView:
    """Sent by the scheduler's next tick (after quiet hours); one reminder to non-finishers."""
    community = community_or_404(session, slug)
    try:
        campaign = create_campaign(
            session, community, request.questionnaire, clock(), cluster=request.cluster,
            locale=request.locale, reminder_delay=timedelta(hours=request.reminder_delay_hours))
    except CampaignError as exc:
        code = status.HTTP_404_NOT_FOUND if exc.code == "not_found" else \
            status.HTTP_422_UNPROCESSABLE_CONTENT
        raise HTTPException(code, str(exc)) from None
    return CampaignView.model_validate(campaign_summary(session, campaign))


def _campaign_or_404(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no campaign {campaign_id}")
    return campaign


@router.get("/campaigns/{campaign_id}", tags=["campaigns"], response_model=CampaignView,
            dependencies=[read(BY_CAMPAIGN)])
def read_campaign(campaign_id: IdPath, session: SessionDep) -> CampaignView:
    """The campaign with its progress: sent, started, completed (counts only)."""
    campaign = _campaign_or_404(session, campaign_id)
    return CampaignView.model_validate(campaign_summary(session, campaign))


@router.post("/campaigns/{campaign_id}/cancel", tags=["campaigns"],
             dependencies=[write(BY_CAMPAIGN)],
             response_model=CancelledCampaign)
def cancel_campaign_route(campaign_id: IdPath, session: SessionDep, clock: ClockDep
                          ) -> CancelledCampaign:
    """Stop a campaign: not sent, or not reminded; messages still waiting are held back
    (``held_back``). Answers already given stay. 409 once its reminder has gone."""
    campaign = _campaign_or_404(session, campaign_id)
    try:
        held_back = cancel_campaign(session, campaign, clock())
    except CampaignError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return CancelledCampaign.model_validate({**campaign_summary(session, campaign),
                                             "held_back": held_back})
