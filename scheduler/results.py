"""The collective result of each alert, sent once its data has come in.

An alert that went out (not cancelled, not merely recorded) gets its result when every metered
household of its audience that reported in the 8 weeks before has a 15-minute slot, valid or
not, at the end of the rebound window (3 hours after the end): then the same_slots community
figure is final. A meter that stays silent cannot hold the result back for ever: at the
deadline (48 h after the end by default) it goes with what there is, which may honestly be
"not enough data this time". Results wait for the end of quiet hours. One row in
``alertresult`` per alert, written in the same transaction as the outbox rows (dedupe
``alert:{id}:result:{contact}``, subject the alert, stage "result"): a second scheduler, or
a replay, sends nothing twice.

Only the community aggregate reaches the renderer: never a neighbour's figures. With it, from
``privacy_k`` households with an active gesture, how many have one and the most chosen
(``core.gestures.commitment_tally``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core import outbox
from core.alerts import Alert, AlertStatus, audience, dedupe_key, subject
from core.clock import Clock, as_utc, utc_now
from core.db import session_scope
from core.gestures import CommitmentTally, commitment_tally
from core.models import Community, Contact, Priority
from core.outbox import Subject
from core.quiet_hours import in_quiet_hours
from core.results import (
    RESULT_DEADLINE,
    RESULT_TOO_LATE,
    AlertResult,
    ResultReason,
    ResultStatus,
)
from meters.analysis.impact import REBOUND_AFTER, CommunityImpact
from meters.analysis.service import consumption_households, impact_of, rebound_data_arrived

RESULT_STAGE = "result"
# A collective kind: it may also go to the community's Telegram groups (core/groups.py).
RESULT_KIND = "collective_result"


class ResultRenderer(Protocol):
    """Writes the result for one reader (implemented in ``bot/flows/results.py``)."""

    def render(self, alert: Alert, community: Community, contact: Contact,
               impact: CommunityImpact, tally: CommitmentTally | None = None,
               channel: str | None = None) -> dict[str, Any]: ...

    def render_for_group(self, alert: Alert, community: Community, impact: CommunityImpact,
                         tally: CommitmentTally | None = None) -> dict[str, Any]: ...


class GroupPoster(Protocol):
    """Posts a collective message to a community's groups (``core.groups.post_to_groups``)."""

    def __call__(self, session: Session, community_id: int, *, dedupe_key: str, kind: str,
                 payload: dict[str, Any], now: datetime, subject: Subject | None = None,
                 priority: Priority = Priority.CHAT, expires_at: datetime | None = None
                 ) -> Any: ...


@dataclass
class ResultsReport:
    sent: list[tuple[int, int]] = field(default_factory=list)  # (alert, recipients)
    waiting: list[int] = field(default_factory=list)  # data not in yet
    postponed: list[int] = field(default_factory=list)  # quiet hours
    skipped: list[tuple[int, str]] = field(default_factory=list)


def send_due_results(engine: Engine, renderer: ResultRenderer, clock: Clock = utc_now,
                     deadline: timedelta = RESULT_DEADLINE,
                     post_to_groups: GroupPoster | None = None) -> ResultsReport:
    """Enqueue the result of every alert whose data is in (or whose deadline passed).

    With ``post_to_groups``, a whole-community alert's result also goes to the community's
    Telegram groups, in the community's language (a cluster's result stays with the cluster).
    """
    report = ResultsReport()
    now = clock()
    with session_scope(engine) as session:
        candidates = _candidates(session, now)
    for alert_id in candidates:
        try:
            with session_scope(engine) as session:
                _decide(session, alert_id, renderer, now, deadline, report, post_to_groups)
        except IntegrityError:
            # Another scheduler recorded this alert's result first (SQLite has no SKIP
            # LOCKED): our transaction, outbox rows included, is rolled back.
            report.sent = [entry for entry in report.sent if entry[0] != alert_id]
    return report


def _candidates(session: Session, now: datetime) -> list[int]:
    """Alerts that went out, whose rebound window is over and that have no result yet."""
    decided = select(AlertResult.alert_id)
    query = (select(Alert.id)
             .where(Alert.status == AlertStatus.SCHEDULED.value,
                    col(Alert.record_only).is_(False),
                    col(Alert.ends_at) <= now - REBOUND_AFTER,
                    col(Alert.id).not_in(decided))
             .order_by(col(Alert.ends_at)))
    return [int(alert_id) for alert_id in session.exec(query).all() if alert_id is not None]


def _decide(session: Session, alert_id: int, renderer: ResultRenderer, now: datetime,
            deadline: timedelta, report: ResultsReport, post_to_groups: GroupPoster | None
            ) -> None:
    query = select(Alert).where(Alert.id == alert_id)
    if session.get_bind().dialect.name == "postgresql":
        # Another scheduler deciding this alert holds it; we leave it to them.
        query = query.with_for_update(skip_locked=True)
    alert = session.exec(query).first()
    if alert is None or session.exec(
            select(AlertResult).where(AlertResult.alert_id == alert_id)).first() is not None:
        return
    community = session.get(Community, alert.community_id)
    assert community is not None
    ended = as_utc(alert.ends_at)
    if now > ended + deadline + RESULT_TOO_LATE:
        _record(session, alert_id, ResultStatus.SKIPPED, ResultReason.TOO_LATE, now)
        report.skipped.append((alert_id, ResultReason.TOO_LATE.value))
        return
    if not consumption_households(session, alert):
        _record(session, alert_id, ResultStatus.SKIPPED, ResultReason.NO_METERS, now)
        report.skipped.append((alert_id, ResultReason.NO_METERS.value))
        return
    if rebound_data_arrived(session, alert):
        reason = ResultReason.DATA_COMPLETE
    elif now >= ended + deadline:
        reason = ResultReason.DEADLINE
    else:
        report.waiting.append(alert_id)
        return
    if in_quiet_hours(now, community.quiet_hours, community.timezone):
        report.postponed.append(alert_id)
        return
    impact = impact_of(session, alert, "same_slots").community
    # "N households have chosen a gesture": the community's, and only from k households.
    tally = commitment_tally(session, community.id, now) if community.id is not None else None
    recipients = audience(session, alert)
    for contact, identity in recipients:
        assert contact.id is not None
        payload = renderer.render(alert, community, contact, impact, tally=tally,
                                  channel=identity.channel)
        outbox.enqueue(session, dedupe_key=dedupe_key(alert_id, RESULT_STAGE, contact.id),
                       identity=identity, kind=RESULT_KIND, payload=payload, now=now,
                       subject=subject(alert_id, RESULT_STAGE), priority=Priority.BULK)
    if post_to_groups is not None and alert.cluster_id is None and community.id is not None:
        post_to_groups(session, community.id, dedupe_key=f"alert:{alert_id}:{RESULT_STAGE}",
                       kind=RESULT_KIND, payload=renderer.render_for_group(alert, community,
                                                                           impact, tally),
                       now=now,
                       subject=subject(alert_id, RESULT_STAGE), priority=Priority.BULK)
    _record(session, alert_id, ResultStatus.SENT, reason, now, impact, len(recipients))
    report.sent.append((alert_id, len(recipients)))


def _record(session: Session, alert_id: int, status: ResultStatus, reason: ResultReason,
            now: datetime, impact: CommunityImpact | None = None, recipients: int = 0) -> None:
    session.add(AlertResult(
        alert_id=alert_id, status=status.value, reason=reason.value, decided_at=now,
        households_valid=impact.households_valid if impact else 0,
        shown=impact.shown if impact else False,
        delta_kwh=impact.delta_kwh if impact else None,
        percent=impact.percent if impact else None, recipients=recipients))
    session.flush()
