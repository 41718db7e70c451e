"""What the chat flows read about gestures, and what they ask to change (effects).

The flows are pure: they read the catalogue and a resident's commitments as views through
their ``Directory`` and return the effects below, which the inbox applies with
``apply_gesture_effect`` in the message's transaction. Commitments are named by gesture slug
(a resident has at most one active commitment per gesture), so a flow needs no row ids
except a check-in's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from core.gesture_content import Helps
from core.gestures import (
    CheckIn,
    CheckInAnswer,
    CheckInCadence,
    CheckInStatus,
    ChooseOutcome,
    Commitment,
    Gesture,
    GestureOffer,
    OfferAnswer,
    active_commitments,
    answer_gesture_offer,
    catalogue,
    choose_gesture,
    drop_commitment,
    may_offer_gesture,
    my_gestures,
    record_check_in,
    record_gesture_offer,
    schedule_check_in,
    set_cadence,
)
from core.questionnaires.storage import Response

# "Every 2 weeks": the first check-in two weeks after the choice, then every two weeks.
BIWEEKLY = timedelta(days=14)
# The post-alert questionnaire is asked in this context; the offer follows it.
ALERT_CONTEXT = "alert:"


@dataclass(frozen=True)
class GestureView:
    """A catalogue gesture as the chat shows it."""

    slug: str
    category: str
    text: Mapping[str, str]
    effort: int = 1
    during_alert: bool = False


@dataclass(frozen=True)
class CommitmentView:
    """One of the resident's active commitments, in the version they chose."""

    slug: str
    category: str
    text: Mapping[str, str]
    cadence: str = CheckInCadence.AFTER_ALERT.value
    effort: int = 1


def gesture_view(row: Gesture) -> GestureView:
    return GestureView(slug=row.slug, category=row.category, text=dict(row.text),
                       effort=row.effort, during_alert=Helps(row.helps).during_alert)


def catalogue_views(session: Session) -> tuple[GestureView, ...]:
    return tuple(gesture_view(row) for row in catalogue(session))


def commitment_views(session: Session, contact_id: int) -> tuple[CommitmentView, ...]:
    return tuple(CommitmentView(slug=c.gesture_slug, category=g.category, text=dict(g.text),
                                cadence=c.cadence, effort=g.effort)
                 for c, g in my_gestures(session, contact_id))


def offer_alert_after(session: Session, contact_id: int, response_id: int) -> int | None:
    """The alert whose questionnaire ``response_id`` answered, when the gesture offer may
    follow it (see ``core.gestures.may_offer_gesture``); None otherwise."""
    response = session.get(Response, response_id)
    if response is None or response.contact_id != contact_id \
            or not response.context.startswith(ALERT_CONTEXT):
        return None
    alert_id = response.context[len(ALERT_CONTEXT):]
    if not alert_id.isdigit():
        return None
    return int(alert_id) if may_offer_gesture(session, contact_id, int(alert_id)) else None


# --------------------------------------------------------------------------------------------
# Effects
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChooseGesture:
    slug: str
    # Where it was chosen: "menu", "offer", "check_in" (an easier one instead).
    context: str = "menu"


@dataclass(frozen=True)
class DropGesture:
    slug: str


@dataclass(frozen=True)
class SetCheckInCadence:
    cadence: str
    # One commitment, or all the resident's active ones (None).
    slug: str | None = None


@dataclass(frozen=True)
class AnswerCheckIn:
    check_in_id: int
    answer: str


@dataclass(frozen=True)
class SwapGesture:
    """"Not this time": an easier gesture instead of the one that did not work out."""

    dropped: str
    chosen: str


@dataclass(frozen=True)
class OfferGesture:
    """The offer after the post-alert questionnaire was made (once per alert)."""

    alert_id: int


@dataclass(frozen=True)
class AnswerGestureOffer:
    alert_id: int
    accepted: bool


GestureEffect = (ChooseGesture | DropGesture | SetCheckInCadence | AnswerCheckIn | SwapGesture
                 | OfferGesture | AnswerGestureOffer)
GESTURE_EFFECTS = (ChooseGesture, DropGesture, SetCheckInCadence, AnswerCheckIn, SwapGesture,
                   OfferGesture, AnswerGestureOffer)


def _active(session: Session, contact_id: int, slug: str) -> Commitment | None:
    return next((c for c in active_commitments(session, contact_id) if c.gesture_slug == slug),
                None)


def plan_check_ins(session: Session, commitment: Commitment, now: datetime) -> None:
    """Every two weeks: the next check-in two weeks from now, unless one is waiting already.
    After the next alert: no calendar check-in (the alert's end writes one); a waiting
    fortnightly one is cancelled."""
    waiting = list(session.exec(select(CheckIn).where(
        CheckIn.commitment_id == commitment.id, CheckIn.status == CheckInStatus.SCHEDULED.value,
        CheckIn.alert_id == None)))  # noqa: E711 (SQL NULL)
    if commitment.cadence == CheckInCadence.BIWEEKLY.value:
        if not waiting and commitment.id is not None:
            schedule_check_in(session, commitment.id, now + BIWEEKLY)
        return
    for check_in in waiting:
        check_in.status = CheckInStatus.CANCELLED.value
        session.add(check_in)


def apply_gesture_effect(session: Session, contact_id: int, effect: GestureEffect,
                         now: datetime) -> None:
    """Apply one effect for the resident ``contact_id``; a stale one (a gesture gone, a
    commitment already dropped, a limit reached meanwhile) changes nothing."""
    if isinstance(effect, ChooseGesture):
        chosen = choose_gesture(session, contact_id, effect.slug, now, context=effect.context)
        if chosen.commitment is not None and chosen.outcome is ChooseOutcome.CHOSEN:
            plan_check_ins(session, chosen.commitment, now)
    elif isinstance(effect, DropGesture):
        commitment = _active(session, contact_id, effect.slug)
        if commitment is not None and commitment.id is not None:
            drop_commitment(session, contact_id, commitment.id, now)
    elif isinstance(effect, SetCheckInCadence):
        for commitment in active_commitments(session, contact_id):
            if effect.slug is not None and commitment.gesture_slug != effect.slug:
                continue
            assert commitment.id is not None
            updated = set_cadence(session, contact_id, commitment.id, effect.cadence)
            if updated is not None:
                plan_check_ins(session, updated, now)
    elif isinstance(effect, AnswerCheckIn):
        if effect.answer in {a.value for a in CheckInAnswer}:
            record_check_in(session, contact_id, effect.check_in_id, effect.answer, now)
    elif isinstance(effect, SwapGesture):
        old = _active(session, contact_id, effect.dropped)
        cadence = old.cadence if old is not None else CheckInCadence.AFTER_ALERT.value
        if old is not None and old.id is not None:
            drop_commitment(session, contact_id, old.id, now)
        swapped = choose_gesture(session, contact_id, effect.chosen, now, cadence=cadence,
                                 context="check_in")
        if swapped.commitment is not None and swapped.outcome is ChooseOutcome.CHOSEN:
            plan_check_ins(session, swapped.commitment, now)
    elif isinstance(effect, OfferGesture):
        record_gesture_offer(session, contact_id, effect.alert_id, now)
    elif isinstance(effect, AnswerGestureOffer):
        offer = session.exec(select(GestureOffer).where(
            GestureOffer.contact_id == contact_id,
            GestureOffer.alert_id == effect.alert_id)).first()
        if offer is not None and offer.id is not None:
            answer = OfferAnswer.ACCEPTED if effect.accepted else OfferAnswer.DECLINED
            answer_gesture_offer(session, contact_id, offer.id, answer, now)
    session.flush()
