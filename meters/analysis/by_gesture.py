"""An alert's households with and without an alert-time gesture, side by side.

A household is "with a gesture" when one of its residents had an active commitment to a
gesture that helps during an alert when the alert started (``core.gestures``). Each group is
summed like the community figure, and the two are shown only when both have at least
``privacy_k`` valid households: otherwise a group of two could be told apart.

This is a correlation, never a proof: households that choose a gesture may differ from the
others in many ways (who is at home, how they heat, how much they already save), and the
gesture itself is not observed, only the consumption.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from core.alerts import Alert
from core.clock import as_utc
from core.gestures import households_with_alert_gesture
from core.models import Community
from meters.analysis.impact import AlertImpact, CommunityImpact, community_impact

REASON_FEW_WITH = "few_with_gesture"
REASON_FEW_WITHOUT = "few_without_gesture"


@dataclass(frozen=True)
class GestureComparison:
    min_group: int
    # Both groups had at least ``min_group`` valid households: the figures are shown.
    compared: bool
    with_gesture: CommunityImpact | None
    without_gesture: CommunityImpact | None
    # Why not, when not compared (REASON_*).
    reason: str | None = None


def compare_by_gesture(session: Session, alert: Alert, impact: AlertImpact
                       ) -> GestureComparison:
    community = session.get(Community, alert.community_id)
    assert community is not None and community.id is not None
    k = community.privacy_k
    committed = households_with_alert_gesture(session, community.id, as_utc(alert.starts_at))
    with_gesture = community_impact([h for h in impact.households if h.household in committed],
                                    k=k)
    without = community_impact([h for h in impact.households if h.household not in committed],
                               k=k)
    if not with_gesture.shown:
        return GestureComparison(k, False, None, None, REASON_FEW_WITH)
    if not without.shown:
        return GestureComparison(k, False, None, None, REASON_FEW_WITHOUT)
    return GestureComparison(k, True, with_gesture, without)
