"""``GET /api/v1/alerts/{id}/impact``: the measured effect of an alert, per household and for
the community (shown only with at least ``privacy_k`` valid households).

``household`` is the household's ref, as everywhere in the admin API. The keys are the
issue's; with ``method=like_days`` each household also carries its figures without the
additive adjustment (``reference_unadjusted_kwh``, ``delta_unadjusted_kwh``,
``percent_unadjusted``), since that baseline is reported with and without it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from api.auth import require_admin
from api.deps import get_engine
from core.db import session_scope
from core.models import Household
from meters.analysis.impact import AlertImpact
from meters.analysis.service import AlertNotFound, alert_impact

router = APIRouter(prefix="/api/v1", tags=["alerts"], dependencies=[Depends(require_admin)])

HOUSEHOLD_KEYS = ("valid", "alert_kwh", "reference_kwh", "delta_kwh", "percent", "after_kwh",
                  "before_kwh", "method")
LIKE_DAYS_KEYS = ("reference_unadjusted_kwh", "delta_unadjusted_kwh", "percent_unadjusted")
COMMUNITY_KEYS = ("households_valid", "shown", "alert_kwh", "reference_kwh", "delta_kwh",
                  "percent")


def _rounded(value: Any) -> Any:
    # Wh precision for energy, and hundredths of a percent: the meters say no more.
    return round(value, 4) if isinstance(value, float) else value


def impact_json(impact: AlertImpact, refs: dict[int, str]) -> dict[str, Any]:
    data = impact.to_dict()
    households = []
    for item in data["households"]:
        keys = HOUSEHOLD_KEYS + (LIKE_DAYS_KEYS if item["method"] == "like_days" else ())
        row = {"household": refs.get(item["household"], str(item["household"]))}
        row.update({key: _rounded(item[key]) for key in keys})
        households.append(row)
    households.sort(key=lambda row: row["household"])
    return {"alert_id": data["alert_id"], "households": households,
            "community": {key: _rounded(data["community"][key]) for key in COMMUNITY_KEYS}}


@router.get("/alerts/{alert_id}/impact")
def read_impact(alert_id: int, engine: Annotated[Engine, Depends(get_engine)],
                method: Annotated[Literal["same_slots", "like_days"],
                                  Query(description="the baseline")] = "same_slots"
                ) -> dict[str, Any]:
    with session_scope(engine) as session:
        try:
            impact = alert_impact(session, alert_id, method)
        except AlertNotFound:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id}") from None
        ids = [h.household for h in impact.households]
        refs = {h.id: h.ref for h in session.exec(
            select(Household).where(col(Household.id).in_(ids))).all() if h.id is not None}
    return impact_json(impact, refs)
