"""Admin routes for questionnaires: create, new version, list, results and CSV export.

Privacy rule for results (decided here): the admin API is the facilitator side, so free-text
answers are included. Per-language breakdowns follow the k-anonymity rule of the design
(k = ``MIN_GROUP`` = 5): every language with fewer than 5 responses is merged into "other";
if "other" still has fewer than 5 responses it is hidden (its responses stay in the totals).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.responses import Response as HttpResponse
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from api.auth import require_admin
from api.deps import community_or_404, get_clock, get_engine
from core.campaigns import (
    Campaign,
    CampaignError,
    campaign_summary,
    cancel_campaign,
    create_campaign,
)
from core.clock import Clock
from core.db import session_scope
from core.questionnaires import (
    DefinitionError,
    Questionnaire,
    QuestionResult,
    Results,
    create_questionnaire,
    export_csv,
    latest_questionnaire,
    list_questionnaires,
    new_version,
    parse_definition,
    results_for,
)

router = APIRouter(prefix="/api/v1", tags=["questionnaires"],
                   dependencies=[Depends(require_admin)])

MIN_GROUP = 5
OTHER = "other"


def _problems(exc: DefinitionError) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, list(exc.problems))


def _summary(row: Questionnaire) -> dict[str, Any]:
    return {"id": row.id, "slug": row.slug, "version": row.version, "active": row.active}


@router.post("/questionnaires", status_code=status.HTTP_201_CREATED)
def create(definition: dict[str, Any], engine: Annotated[Engine, Depends(get_engine)],
           clock: Annotated[Clock, Depends(get_clock)]) -> dict[str, Any]:
    try:
        parsed = parse_definition(definition)
    except DefinitionError as exc:
        raise _problems(exc) from None
    with session_scope(engine) as session:
        if latest_questionnaire(session, parsed.slug, active_only=False) is not None:
            raise HTTPException(status.HTTP_409_CONFLICT,
                                f"questionnaire {parsed.slug!r} exists already: use "
                                f"PUT /api/v1/questionnaires/{parsed.slug} for a new version")
        try:
            row = create_questionnaire(session, parsed, clock())
        except DefinitionError as exc:
            raise _problems(exc) from None
        return _summary(row)


@router.put("/questionnaires/{slug}")
def update(slug: str, definition: dict[str, Any],
           engine: Annotated[Engine, Depends(get_engine)],
           clock: Annotated[Clock, Depends(get_clock)]) -> dict[str, Any]:
    """A new version; responses already given keep the version they answered."""
    try:
        parsed = parse_definition(definition)
    except DefinitionError as exc:
        raise _problems(exc) from None
    if parsed.slug != slug:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            [f"slug: the definition says {parsed.slug!r}, the URL {slug!r}"])
    with session_scope(engine) as session:
        if latest_questionnaire(session, slug, active_only=False) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                f"no questionnaire {slug!r}: create it with POST first")
        try:
            row = new_version(session, slug, parsed, clock())
        except DefinitionError as exc:
            raise _problems(exc) from None
        return _summary(row)


@router.get("/questionnaires")
def list_all(engine: Annotated[Engine, Depends(get_engine)]) -> list[dict[str, Any]]:
    """One entry per slug with its versions (id, version, active, created_at)."""
    with session_scope(engine) as session:
        grouped: dict[str, dict[str, Any]] = {}
        for row in list_questionnaires(session):
            entry = grouped.setdefault(row.slug, {"slug": row.slug, "title": row.title,
                                                  "active_id": None, "versions": []})
            entry["versions"].append({
                "id": row.id, "version": row.version, "active": row.active,
                "created_at": row.created_at.isoformat() if row.created_at else None})
            if row.active:
                entry["active_id"] = row.id
                entry["title"] = row.title
        return list(grouped.values())


def merge_small_locales(by_locale: dict[str, dict[str, int]],
                        sizes: dict[str, int]) -> dict[str, dict[str, int]]:
    """Languages under ``MIN_GROUP`` responses go to "other"; a too small "other" is hidden."""
    merged: dict[str, dict[str, int]] = {}
    other: dict[str, int] = {}
    other_size = 0
    for locale, counts in sorted(by_locale.items()):
        if sizes.get(locale, 0) >= MIN_GROUP:
            merged[locale] = dict(counts)
            continue
        other_size += sizes.get(locale, 0)
        for key, value in counts.items():
            other[key] = other.get(key, 0) + value
    if other and other_size >= MIN_GROUP:
        merged[OTHER] = other
    return merged


def _question_view(result: QuestionResult, sizes: dict[str, int]) -> dict[str, Any]:
    view: dict[str, Any] = {"id": result.question_id, "type": result.type,
                            "answered": result.answered, "skipped": result.skipped}
    if result.type == "text":
        view["texts"] = list(result.texts)
    else:
        view["counts"] = dict(result.counts)
        view["by_locale"] = merge_small_locales(result.by_locale, sizes)
    return view


def results_view(results: Results) -> dict[str, Any]:
    sizes = {locale: entry["responses"] for locale, entry in results.by_locale.items()}
    return {
        "questionnaire": results.questionnaire, "version": results.version,
        "responses": results.responses, "completed": results.completed,
        "completion_rate": results.completion_rate,
        "by_locale": merge_small_locales(results.by_locale, sizes),
        "min_group": MIN_GROUP,
        "questions": [_question_view(q, sizes) for q in results.questions],
    }


@router.get("/questionnaires/{questionnaire_id}/results")
def results(questionnaire_id: int, engine: Annotated[Engine, Depends(get_engine)],
            context: str | None = None) -> dict[str, Any]:
    with session_scope(engine) as session:
        found = results_for(session, questionnaire_id, context, include_texts=True)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                f"no questionnaire {questionnaire_id}")
        return results_view(found)


@router.get("/questionnaires/{questionnaire_id}/results.csv")
def results_csv(questionnaire_id: int, engine: Annotated[Engine, Depends(get_engine)],
                context: str | None = None) -> HttpResponse:
    with session_scope(engine) as session:
        text = export_csv(session, questionnaire_id, context)
        if text is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                f"no questionnaire {questionnaire_id}")
    return HttpResponse(text, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="questionnaire-{questionnaire_id}.csv"'})


# --------------------------------------------------------------------------------------------
# Campaigns: a questionnaire sent to an audience, with one reminder
# --------------------------------------------------------------------------------------------

class CampaignRequest(BaseModel):
    questionnaire: int | str = Field(description="an id (that version) or a slug (its active "
                                                 "version)")
    cluster: str | None = None
    locale: str | None = Field(default=None, description="only contacts reading this language")
    reminder_delay_hours: int = Field(default=48, ge=1, le=14 * 24)


@router.post("/communities/{slug}/campaigns", status_code=status.HTTP_201_CREATED,
             tags=["campaigns"])
def start_campaign(slug: str, request: CampaignRequest,
                   engine: Annotated[Engine, Depends(get_engine)],
                   clock: Annotated[Clock, Depends(get_clock)]) -> dict[str, Any]:
    """Sent by the scheduler's next tick (after quiet hours); one reminder to non-finishers."""
    with session_scope(engine) as session:
        community = community_or_404(session, slug)
        try:
            campaign = create_campaign(
                session, community, request.questionnaire, clock(), cluster=request.cluster,
                locale=request.locale,
                reminder_delay=timedelta(hours=request.reminder_delay_hours))
        except CampaignError as exc:
            code = status.HTTP_404_NOT_FOUND if exc.code == "not_found" else \
                status.HTTP_422_UNPROCESSABLE_CONTENT
            raise HTTPException(code, str(exc)) from None
        return campaign_summary(session, campaign)


@router.get("/campaigns/{campaign_id}", tags=["campaigns"])
def read_campaign(campaign_id: int, engine: Annotated[Engine, Depends(get_engine)]
                  ) -> dict[str, Any]:
    """The campaign with its progress: sent, started, completed (counts only)."""
    with session_scope(engine) as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no campaign {campaign_id}")
        return campaign_summary(session, campaign)


@router.post("/campaigns/{campaign_id}/cancel", tags=["campaigns"])
def cancel_campaign_route(campaign_id: int, engine: Annotated[Engine, Depends(get_engine)],
                          clock: Annotated[Clock, Depends(get_clock)]) -> dict[str, Any]:
    """Stop a campaign: not sent, or not reminded; messages still waiting are held back
    (``held_back``). Answers already given stay. 409 once its reminder has gone."""
    with session_scope(engine) as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no campaign {campaign_id}")
        try:
            held_back = cancel_campaign(session, campaign, clock())
        except CampaignError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        return {**campaign_summary(session, campaign), "held_back": held_back}
