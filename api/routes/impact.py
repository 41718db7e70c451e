"""``GET /api/v1/alerts/{id}/impact``: the measured effect of an alert, per household and for
the community (shown only with at least ``privacy_k`` valid households).

``household`` is the household's ref, as everywhere in the admin API. The keys are the
issue's; with ``method=like_days`` each household also carries its figures without the
additive adjustment (``reference_unadjusted_kwh``, ``delta_unadjusted_kwh``,
``percent_unadjusted``), since that baseline is reported with and without it. With
``by=gesture``, households with and without an alert-time gesture side by side (a
correlation, not a proof: ``meters/analysis/by_gesture.py``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlmodel import col, select

from api.access import by_row, read
from api.auth import admin_router
from api.deps import IdPath, SessionDep
from api.errors import error_responses
from core.alerts import Alert
from core.models import Household
from meters.analysis.by_gesture import (
    REASON_FEW_WITH,
    REASON_FEW_WITHOUT,
    GestureComparison,
    compare_by_gesture,
)
from meters.analysis.impact import AlertImpact, CommunityImpact
from meters.analysis.service import AlertNotFound, alert_impact

router = admin_router("alerts")

HOUSEHOLD_KEYS = ("valid", "alert_kwh", "reference_kwh", "delta_kwh", "percent", "after_kwh",
                  "before_kwh", "method")
LIKE_DAYS_KEYS = ("reference_unadjusted_kwh", "delta_unadjusted_kwh", "percent_unadjusted")
COMMUNITY_KEYS = ("households_valid", "shown", "alert_kwh", "reference_kwh", "delta_kwh",
                  "percent")
GROUP_KEYS = ("households_valid", "alert_kwh", "reference_kwh", "delta_kwh", "percent")


class SameSlotsHousehold(BaseModel):
    """One household's figures (kWh, percent); null where its data does not allow them."""

    household: str = Field(description="the household's ref")
    valid: bool
    alert_kwh: float | None
    reference_kwh: float | None
    delta_kwh: float | None
    percent: float | None
    after_kwh: float | None
    before_kwh: float | None
    method: Literal["same_slots"]


class LikeDaysHousehold(SameSlotsHousehold):
    """With ``like_days``, also the figures without the additive adjustment."""

    method: Literal["like_days"]  # type: ignore[assignment]
    reference_unadjusted_kwh: float | None
    delta_unadjusted_kwh: float | None
    percent_unadjusted: float | None


class CommunityFigures(BaseModel):
    """The community's total, shown only from ``privacy_k`` valid households."""

    households_valid: int
    shown: bool
    alert_kwh: float | None
    reference_kwh: float | None
    delta_kwh: float | None
    percent: float | None


class GroupFigures(BaseModel):
    households_valid: int
    alert_kwh: float | None
    reference_kwh: float | None
    delta_kwh: float | None
    percent: float | None


CORRELATION_NOTE = ("A correlation, not a proof: households that choose a gesture may differ "
                    "from the others in many ways, and the gesture itself is not observed.")


class ByGesture(BaseModel):
    """Valid households with an alert-time gesture (active when the alert started) and
    without one, each summed like the community; shown only when both groups have at least
    ``min_group`` valid households."""

    min_group: int = Field(description="k: the community's privacy_k")
    compared: bool
    reason: str | None = Field(description="why not compared: few_with_gesture or "
                                           "few_without_gesture (fewer than min_group valid "
                                           "households)")
    message: str | None = Field(description="the same in words")
    with_gesture: GroupFigures | None
    without_gesture: GroupFigures | None
    note: str = Field(description="how to read it")


class ImpactOut(BaseModel):
    alert_id: int
    drill: bool = Field(description="the alert was an exercise: these are a drill's figures")
    households: list[Annotated[SameSlotsHousehold | LikeDaysHousehold,
                               Field(discriminator="method")]]
    community: CommunityFigures
    by_gesture: ByGesture | None = Field(default=None, description="with ?by=gesture")


def _rounded(value: Any) -> Any:
    # Wh precision for energy, and hundredths of a percent: the meters say no more.
    return round(value, 4) if isinstance(value, float) else value


def impact_json(impact: AlertImpact, refs: dict[int, str], drill: bool = False
                ) -> dict[str, Any]:
    data = impact.to_dict()
    households = []
    for item in data["households"]:
        keys = HOUSEHOLD_KEYS + (LIKE_DAYS_KEYS if item["method"] == "like_days" else ())
        row = {"household": refs.get(item["household"], str(item["household"]))}
        row.update({key: _rounded(item[key]) for key in keys})
        households.append(row)
    households.sort(key=lambda row: row["household"])
    return {"alert_id": data["alert_id"], "drill": drill, "households": households,
            "community": {key: _rounded(data["community"][key]) for key in COMMUNITY_KEYS}}


def _group(figures: CommunityImpact | None) -> dict[str, Any] | None:
    if figures is None:
        return None
    return {key: _rounded(getattr(figures, key)) for key in GROUP_KEYS}


def by_gesture_json(comparison: GestureComparison) -> dict[str, Any]:
    messages = {
        REASON_FEW_WITH: f"fewer than {comparison.min_group} valid households had an "
                         "alert-time gesture: not compared",
        REASON_FEW_WITHOUT: f"fewer than {comparison.min_group} valid households had no "
                            "alert-time gesture: not compared",
    }
    return {"min_group": comparison.min_group, "compared": comparison.compared,
            "reason": comparison.reason, "message": messages.get(comparison.reason or ""),
            "with_gesture": _group(comparison.with_gesture),
            "without_gesture": _group(comparison.without_gesture), "note": CORRELATION_NOTE}


# Unset: ``by_gesture`` is left out unless asked for.
@router.get("/alerts/{alert_id}/impact", response_model=ImpactOut,
            dependencies=[read(by_row(Alert, "alert_id"))],
            response_model_exclude_unset=True, responses=error_responses(404))
def read_impact(alert_id: IdPath, session: SessionDep,
                method: Annotated[Literal["same_slots", "like_days"],
                                  Query(description="the baseline")] = "same_slots",
                by: Annotated[Literal["gesture"] | None,
                              Query(description="gesture: also compare households with and "
                                                "without an alert-time gesture")] = None
                ) -> dict[str, Any]:
    try:
        impact = alert_impact(session, alert_id, method)
    except AlertNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id}") from None
    ids = [h.household for h in impact.households]
    refs = {h.id: h.ref for h in session.exec(
        select(Household).where(col(Household.id).in_(ids))).all() if h.id is not None}
    alert = session.get(Alert, alert_id)
    assert alert is not None
    data = impact_json(impact, refs, drill=alert.drill)
    if by == "gesture":
        data["by_gesture"] = by_gesture_json(compare_by_gesture(session, alert, impact))
    return data
