"""Eco-gestures: the catalogue as versions, commitments, check-ins, offers, and counts together.

A commitment is a private, voluntary promise a resident makes to themself: at most three at a
time, followed up kindly, never scored. Only collective figures leave a household, and only
over at least ``k`` households (the community's ``privacy_k``).

Three parts, top to bottom: the tables; the catalogue (loaded from ``core/content/gestures``,
a changed gesture becomes a new version and commitments keep theirs); the services the chat
flows, the scheduler and the API call. Content parsing lives in ``core.gesture_content``.
"""

from __future__ import annotations

import enum
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    UniqueConstraint,
    or_,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

import core.alerts  # noqa: F401  (the "alert" table the foreign keys below point to)
from core.clock import as_utc
from core.gesture_content import (
    CATEGORY_ORDER,
    CONTENT_DIR,
    Category,
    ContentError,
    GestureDefinition,
    Helps,
    Rating,
    appliance_exercise,
    gesture_to_dict,
    load_catalogue,
    localized,
    parse_gesture,
)
from core.models import Community, Contact

# Three gestures at a time is enough to remember; more becomes a list, not a promise.
MAX_ACTIVE_COMMITMENTS = 3
# Someone who said no to the offer twice is not asked again.
MAX_OFFER_DECLINES = 2
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Origin(enum.StrEnum):
    """Where a gesture version came from: the content files or an edit through the API."""

    CONTENT = "content"
    API = "api"


class CheckInCadence(enum.StrEnum):
    AFTER_ALERT = "after_alert"
    BIWEEKLY = "biweekly"


class CheckInStatus(enum.StrEnum):
    SCHEDULED = "scheduled"  # due at ``due_at``, not asked yet
    ASKED = "asked"
    ANSWERED = "answered"
    EXPIRED = "expired"  # asked, no answer in time
    CANCELLED = "cancelled"  # the commitment was dropped before it was asked


class CheckInAnswer(enum.StrEnum):
    YES = "yes"
    SOMETIMES = "sometimes"
    NOT_THIS_TIME = "not_this_time"
    STOP = "stop"  # "stop this one": the commitment is dropped


class OfferAnswer(enum.StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"


def _utc(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None,
                 sa_column=Column(DateTime(timezone=True), nullable=nullable, index=index))


def _fk(target: str, nullable: bool = False, ondelete: str = "CASCADE") -> Any:
    return Field(default=None, sa_column=Column(
        Integer, ForeignKey(target, ondelete=ondelete), nullable=nullable, index=True))


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------

class Gesture(SQLModel, table=True):
    """One version of a gesture. A new version is a new row; commitments keep theirs."""

    __table_args__ = (UniqueConstraint("slug", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(index=True)
    version: int = 1
    category: str = Field(index=True)
    helps: str
    effort: int = 1
    common: bool = False
    text: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    why: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The short form for "Your gesture: ..." in an alert message; only for alert gestures.
    alert_text: dict[str, str] | None = Field(default=None,
                                              sa_column=Column(JSON, nullable=True))
    sources: list[dict[str, str]] = Field(default_factory=list,
                                          sa_column=Column(JSON, nullable=False))
    # The order within its category (the file's order; API-made gestures come last).
    position: int = 1000
    # Only the latest version of a gesture in the catalogue is active; retired: none is.
    active: bool = True
    origin: str = Origin.CONTENT.value
    created_at: datetime | None = _utc()


class Commitment(SQLModel, table=True):
    """A resident's promise to themself to do one gesture, with the version they chose."""

    __table_args__ = (
        # The same gesture cannot be active twice for one resident (a second tap is a no-op).
        Index("uq_commitment_active_gesture", "contact_id", "gesture_slug", unique=True,
              sqlite_where=text("dropped_at IS NULL"),
              postgresql_where=text("dropped_at IS NULL")),
    )
    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = _fk("contact.id")
    gesture_id: int = _fk("gesture.id", ondelete="RESTRICT")
    gesture_slug: str = Field(index=True)
    gesture_version: int
    cadence: str = CheckInCadence.AFTER_ALERT.value
    # Where it was chosen: "menu", "offer", "exercise", ...
    context: str = ""
    chosen_at: datetime | None = _utc(nullable=False)
    dropped_at: datetime | None = _utc()


class CheckIn(SQLModel, table=True):
    """One "did you manage to ...?" for a commitment: scheduled, asked, answered.

    The database is the calendar: a check-in is written with its due time (after an alert, or
    every two weeks) and the scheduler asks it when due.
    """

    __table_args__ = (UniqueConstraint("commitment_id", "alert_id"),
                      UniqueConstraint("commitment_id", "due_at"))
    id: int | None = Field(default=None, primary_key=True)
    commitment_id: int = _fk("commitment.id")
    # The alert it follows, for the "after_alert" cadence.
    alert_id: int | None = _fk("alert.id", nullable=True, ondelete="SET NULL")
    status: str = Field(default=CheckInStatus.SCHEDULED.value, index=True)
    due_at: datetime | None = _utc(nullable=False, index=True)
    asked_at: datetime | None = _utc()
    answer: str | None = None
    answered_at: datetime | None = _utc()


class GestureOffer(SQLModel, table=True):
    """"Would you like to choose a gesture for next time?", at most once per alert."""

    __table_args__ = (UniqueConstraint("contact_id", "alert_id"),)
    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = _fk("contact.id")
    # Kept (as NULL) if the alert goes: the "said no twice" rule still counts the answer.
    alert_id: int | None = _fk("alert.id", nullable=True, ondelete="SET NULL")
    offered_at: datetime | None = _utc(nullable=False)
    answer: str | None = None
    answered_at: datetime | None = _utc()


class ApplianceRating(SQLModel, table=True):
    """The exercise: what one appliance is to a household during an alert (its latest say)."""

    __table_args__ = (UniqueConstraint("contact_id", "appliance"),)
    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = _fk("contact.id")
    appliance: str
    rating: str
    answered_at: datetime | None = _utc(nullable=False)


# --------------------------------------------------------------------------------------------
# The catalogue
# --------------------------------------------------------------------------------------------

def definition_of(row: Gesture) -> GestureDefinition:
    return parse_gesture(_row_data(row))


def _row_data(row: Gesture) -> dict[str, Any]:
    data: dict[str, Any] = {
        "slug": row.slug, "category": row.category, "helps": row.helps, "effort": row.effort,
        "common": row.common, "text": dict(row.text), "why": dict(row.why),
        "sources": [dict(s) for s in row.sources],
    }
    if row.alert_text:
        data["alert"] = dict(row.alert_text)
    return data


def _as_definition(definition: GestureDefinition | Mapping[str, Any]) -> GestureDefinition:
    if isinstance(definition, GestureDefinition):
        return definition
    return parse_gesture(definition)


def _versions(session: Session, slug: str) -> list[Gesture]:
    return list(session.exec(select(Gesture).where(Gesture.slug == slug)
                             .order_by(col(Gesture.version).desc())))


def latest_gesture(session: Session, slug: str, active_only: bool = True) -> Gesture | None:
    """The current version of a gesture (None when unknown, or retired with ``active_only``)."""
    row = session.exec(select(Gesture).where(Gesture.slug == slug)
                       .order_by(col(Gesture.version).desc())).first()
    return row if row is not None and (row.active or not active_only) else None


def gesture_version(session: Session, slug: str, version: int) -> Gesture | None:
    return session.exec(select(Gesture).where(Gesture.slug == slug,
                                              Gesture.version == version)).first()


def _insert(session: Session, definition: GestureDefinition, version: int, now: datetime,
            origin: Origin, position: int) -> Gesture:
    data = gesture_to_dict(definition)
    row = Gesture(slug=definition.slug, version=version, category=definition.category.value,
                  helps=definition.helps.value, effort=definition.effort,
                  common=definition.common, text=data["text"], why=data["why"],
                  alert_text=data.get("alert"), sources=data["sources"], position=position,
                  active=True, origin=origin.value, created_at=now)
    session.add(row)
    session.flush()
    return row


def create_gesture(session: Session, definition: GestureDefinition | Mapping[str, Any],
                   now: datetime, origin: Origin = Origin.API, position: int = 1000
                   ) -> Gesture:
    """A new gesture; ``ContentError`` for a bad one or a slug that exists already."""
    parsed = _as_definition(definition)
    if _versions(session, parsed.slug):
        raise ContentError([f"slug: {parsed.slug} exists already, make a new version"])
    return _insert(session, parsed, 1, now, origin, position)


def new_gesture_version(session: Session, slug: str,
                        definition: GestureDefinition | Mapping[str, Any], now: datetime,
                        origin: Origin = Origin.API, position: int | None = None) -> Gesture:
    """The next version of ``slug``; earlier ones stay (commitments point at them), inactive."""
    parsed = _as_definition(definition)
    if parsed.slug != slug:
        raise ContentError([f"slug: expected {slug}"])
    versions = _versions(session, slug)
    if not versions:
        return create_gesture(session, parsed, now, origin, position or 1000)
    for row in versions:
        row.active = False
        session.add(row)
    place = versions[0].position if position is None else position
    return _insert(session, parsed, versions[0].version + 1, now, origin, place)


def retire_gesture(session: Session, slug: str) -> bool:
    """Take a gesture out of the catalogue; commitments to it stay as they are."""
    versions = _versions(session, slug)
    for row in versions:
        row.active = False
        session.add(row)
    session.flush()
    return bool(versions)


def load_gestures(session: Session, now: datetime, directory: Path = CONTENT_DIR
                  ) -> list[Gesture]:
    """Load the catalogue files: new slugs are created, changed ones get a new version.

    Idempotent. A file compares with the last version that came from the files, so an edit
    made through the API is not undone at the next start unless the file itself changed.
    """
    loaded = []
    for content in load_catalogue(directory):
        for position, definition in enumerate(content.gestures):
            versions = _versions(session, definition.slug)
            if not versions:
                loaded.append(_insert(session, definition, 1, now, Origin.CONTENT, position))
                continue
            wanted = gesture_to_dict(definition)
            from_files = next((v for v in versions if v.origin == Origin.CONTENT.value), None)
            if from_files is not None and _row_data(from_files) == wanted:
                loaded.append(versions[0])
                continue
            if _row_data(versions[0]) == wanted:
                loaded.append(versions[0])
                continue
            loaded.append(new_gesture_version(session, definition.slug, definition, now,
                                              Origin.CONTENT, position))
    return loaded


def catalogue(session: Session, category: Category | str | None = None,
              during_alert: bool | None = None) -> list[Gesture]:
    """The active gestures, in category order then the files' order; optionally one category,
    or only those that help (or do not help) during an alert."""
    query = select(Gesture).where(col(Gesture.active).is_(True))
    if category is not None:
        query = query.where(Gesture.category == Category(category).value)
    if during_alert is not None:
        alert_kinds = [Helps.ALERT.value, Helps.BOTH.value]
        query = query.where(col(Gesture.helps).in_(alert_kinds) if during_alert
                            else Gesture.helps == Helps.EVERYDAY.value)
    rows = list(session.exec(query))
    return sorted(rows, key=lambda r: (CATEGORY_ORDER.get(r.category, len(CATEGORY_ORDER)),
                                       r.position, r.slug))


def categories_in_use(session: Session) -> list[Category]:
    """The categories that have at least one active gesture, in order."""
    return sorted({Category(r.category) for r in catalogue(session)},
                  key=lambda c: CATEGORY_ORDER[c.value])


def easier_gestures(session: Session, slug: str) -> list[Gesture]:
    """Active gestures of the same category that take less effort (for "not this time")."""
    current = latest_gesture(session, slug, active_only=False)
    if current is None:
        return []
    return [r for r in catalogue(session, current.category)
            if r.effort < current.effort and r.slug != slug]


def gesture_text(row: Gesture, locale: str, fallback: str | None = None) -> str:
    return localized(row.text, locale, fallback)


def gesture_why(row: Gesture, locale: str, fallback: str | None = None) -> str:
    return localized(row.why, locale, fallback)


def gesture_alert_text(row: Gesture, locale: str, fallback: str | None = None) -> str | None:
    """The short alert-time form ("start the dishwasher after the alert"), if it has one."""
    return localized(row.alert_text, locale, fallback) if row.alert_text else None


# --------------------------------------------------------------------------------------------
# Commitments
# --------------------------------------------------------------------------------------------

class ChooseOutcome(enum.StrEnum):
    CHOSEN = "chosen"
    ALREADY_CHOSEN = "already_chosen"
    LIMIT_REACHED = "limit_reached"
    UNKNOWN_GESTURE = "unknown_gesture"


@dataclass(frozen=True)
class ChooseResult:
    outcome: ChooseOutcome
    # The new commitment, or the existing one for ALREADY_CHOSEN.
    commitment: Commitment | None
    # The resident's active commitments after the call (for "you have chosen: ...").
    active: tuple[Commitment, ...]


def _is_active(at: datetime | None) -> Any:
    if at is None:
        return col(Commitment.dropped_at).is_(None)
    return (col(Commitment.chosen_at) <= at) & or_(col(Commitment.dropped_at).is_(None),
                                                   col(Commitment.dropped_at) > at)


def active_commitments(session: Session, contact_id: int, at: datetime | None = None
                       ) -> list[Commitment]:
    """The resident's commitments active now (or at ``at``), oldest first."""
    return list(session.exec(select(Commitment).where(
        Commitment.contact_id == contact_id, _is_active(at))
        .order_by(col(Commitment.chosen_at), col(Commitment.id))))


def my_gestures(session: Session, contact_id: int) -> list[tuple[Commitment, Gesture]]:
    """The resident's active commitments, each with the gesture version they chose."""
    rows = session.exec(select(Commitment, Gesture)
                        .join(Gesture, col(Gesture.id) == col(Commitment.gesture_id))
                        .where(Commitment.contact_id == contact_id, _is_active(None))
                        .order_by(col(Commitment.chosen_at), col(Commitment.id)))
    return [(commitment, gesture) for commitment, gesture in rows]


def _lock_contact(session: Session, contact_id: int) -> None:
    # Two messages from the same resident (two channels) must not both pass the cap: on
    # PostgreSQL the contact row is locked; SQLite's BEGIN IMMEDIATE already serialises writers.
    session.exec(select(Contact.id).where(Contact.id == contact_id).with_for_update()).first()


def choose_gesture(session: Session, contact_id: int, slug: str, now: datetime,
                   cadence: CheckInCadence | str = CheckInCadence.AFTER_ALERT,
                   context: str = "") -> ChooseResult:
    """Commit a resident to the current version of ``slug``, at most three at a time."""
    _lock_contact(session, contact_id)
    active = active_commitments(session, contact_id)
    existing = next((c for c in active if c.gesture_slug == slug), None)
    if existing is not None:
        return ChooseResult(ChooseOutcome.ALREADY_CHOSEN, existing, tuple(active))
    gesture = latest_gesture(session, slug)
    if gesture is None or gesture.id is None:
        return ChooseResult(ChooseOutcome.UNKNOWN_GESTURE, None, tuple(active))
    if len(active) >= MAX_ACTIVE_COMMITMENTS:
        return ChooseResult(ChooseOutcome.LIMIT_REACHED, None, tuple(active))
    commitment = Commitment(contact_id=contact_id, gesture_id=gesture.id, gesture_slug=slug,
                            gesture_version=gesture.version,
                            cadence=CheckInCadence(cadence).value, context=context,
                            chosen_at=now)
    session.add(commitment)
    session.flush()
    return ChooseResult(ChooseOutcome.CHOSEN, commitment, (*active, commitment))


def _own_commitment(session: Session, contact_id: int, commitment_id: int) -> Commitment | None:
    commitment = session.get(Commitment, commitment_id)
    if commitment is None or commitment.contact_id != contact_id:
        return None
    return commitment


def drop_commitment(session: Session, contact_id: int, commitment_id: int, now: datetime
                    ) -> Commitment | None:
    """Drop one of the resident's own commitments; check-ins not asked yet are cancelled.

    None when it is not theirs; dropping twice keeps the first time.
    """
    commitment = _own_commitment(session, contact_id, commitment_id)
    if commitment is None:
        return None
    if commitment.dropped_at is None:
        commitment.dropped_at = now
        session.add(commitment)
        for check_in in session.exec(select(CheckIn).where(
                CheckIn.commitment_id == commitment_id,
                CheckIn.status == CheckInStatus.SCHEDULED.value)):
            check_in.status = CheckInStatus.CANCELLED.value
            session.add(check_in)
        session.flush()
    return commitment


def set_cadence(session: Session, contact_id: int, commitment_id: int,
                cadence: CheckInCadence | str) -> Commitment | None:
    """The resident chooses when to be asked: after the next alert, or every two weeks."""
    commitment = _own_commitment(session, contact_id, commitment_id)
    if commitment is None or commitment.dropped_at is not None:
        return None
    commitment.cadence = CheckInCadence(cadence).value
    session.add(commitment)
    session.flush()
    return commitment


def alert_time_gesture(session: Session, contact_id: int, at: datetime | None = None
                       ) -> Gesture | None:
    """The gesture to recall in the resident's alert messages: their oldest active commitment
    that helps during an alert, in the version they chose."""
    for _commitment, gesture in _active_with_gestures(session, [contact_id], at):
        if Helps(gesture.helps).during_alert and gesture.alert_text:
            return gesture
    return None


def alert_time_gestures(session: Session, community_id: int, at: datetime | None = None
                        ) -> dict[int, Gesture]:
    """``alert_time_gesture`` for every resident of a community at once (one query, for an
    alert's fan-out): contact id -> the gesture to recall; residents without one are left out."""
    rows = session.exec(select(Commitment, Gesture)
                        .join(Gesture, col(Gesture.id) == col(Commitment.gesture_id))
                        .join(Contact, col(Contact.id) == col(Commitment.contact_id))
                        .where(Contact.community_id == community_id, _is_active(at))
                        .order_by(col(Commitment.chosen_at), col(Commitment.id)))
    found: dict[int, Gesture] = {}
    for commitment, gesture in rows:
        if Helps(gesture.helps).during_alert and gesture.alert_text:
            found.setdefault(commitment.contact_id, gesture)
    return found


def commitments_after_alert(session: Session, community_id: int, starts_at: datetime
                            ) -> list[Commitment]:
    """The community's commitments checked in "after the next alert" that were active when
    an alert started at ``starts_at`` (one query, for an alert's end)."""
    return list(session.exec(select(Commitment)
                             .join(Contact, col(Contact.id) == col(Commitment.contact_id))
                             .where(Contact.community_id == community_id,
                                    Commitment.cadence == CheckInCadence.AFTER_ALERT.value,
                                    _is_active(starts_at))
                             .order_by(col(Commitment.id))))


def _active_with_gestures(session: Session, contact_ids: Iterable[int], at: datetime | None
                          ) -> list[tuple[Commitment, Gesture]]:
    rows = session.exec(select(Commitment, Gesture)
                        .join(Gesture, col(Gesture.id) == col(Commitment.gesture_id))
                        .where(col(Commitment.contact_id).in_(list(contact_ids)), _is_active(at))
                        .order_by(col(Commitment.chosen_at), col(Commitment.id)))
    return [(commitment, gesture) for commitment, gesture in rows]


# --------------------------------------------------------------------------------------------
# Check-ins
# --------------------------------------------------------------------------------------------

def schedule_check_in(session: Session, commitment_id: int, due_at: datetime,
                      alert_id: int | None = None) -> CheckIn | None:
    """Write a check-in due at ``due_at`` (once per alert, once per due time).

    The existing one when it was written already; None for a dropped commitment.
    """
    commitment = session.get(Commitment, commitment_id)
    if commitment is None or commitment.dropped_at is not None:
        return None
    same = (CheckIn.alert_id == alert_id) if alert_id is not None else (CheckIn.due_at == due_at)
    existing = session.exec(select(CheckIn).where(CheckIn.commitment_id == commitment_id,
                                                  same)).first()
    if existing is not None:
        return existing
    check_in = CheckIn(commitment_id=commitment_id, alert_id=alert_id, due_at=due_at,
                       status=CheckInStatus.SCHEDULED.value)
    try:
        with session.begin_nested():
            session.add(check_in)
    except IntegrityError:  # written by another worker meanwhile
        return session.exec(select(CheckIn).where(CheckIn.commitment_id == commitment_id,
                                                  same)).first()
    return check_in


def mark_check_in_asked(session: Session, check_in_id: int, now: datetime) -> bool:
    """The question went out; False when it was not waiting (cancelled, asked already)."""
    check_in = session.get(CheckIn, check_in_id)
    if check_in is None or check_in.status != CheckInStatus.SCHEDULED.value:
        return False
    check_in.status = CheckInStatus.ASKED.value
    check_in.asked_at = now
    session.add(check_in)
    session.flush()
    return True


def record_check_in(session: Session, contact_id: int, check_in_id: int,
                    answer: CheckInAnswer | str, now: datetime) -> CheckIn | None:
    """Record the resident's answer to their own check-in (a later answer replaces an earlier
    one). "Stop this one" drops the commitment. None when the check-in is not theirs or was
    never asked."""
    check_in = session.get(CheckIn, check_in_id)
    if check_in is None:
        return None
    commitment = _own_commitment(session, contact_id, check_in.commitment_id)
    waiting = check_in.status in (CheckInStatus.ASKED.value, CheckInStatus.ANSWERED.value,
                                  CheckInStatus.EXPIRED.value)
    if commitment is None or not waiting:
        return None
    given = CheckInAnswer(answer)
    check_in.answer = given.value
    check_in.answered_at = now
    check_in.status = CheckInStatus.ANSWERED.value
    session.add(check_in)
    if given is CheckInAnswer.STOP and commitment.id is not None:
        drop_commitment(session, contact_id, commitment.id, now)
    session.flush()
    return check_in


# --------------------------------------------------------------------------------------------
# The offer after the post-alert questionnaire
# --------------------------------------------------------------------------------------------

def may_offer_gesture(session: Session, contact_id: int, alert_id: int | None) -> bool:
    """Offer a gesture to someone who has none, never twice for one alert, never again after
    two noes."""
    if active_commitments(session, contact_id):
        return False
    offers = list(session.exec(select(GestureOffer).where(GestureOffer.contact_id == contact_id)))
    declines = sum(1 for o in offers if o.answer == OfferAnswer.DECLINED.value)
    if declines >= MAX_OFFER_DECLINES:
        return False
    return alert_id is None or all(o.alert_id != alert_id for o in offers)


def record_gesture_offer(session: Session, contact_id: int, alert_id: int | None,
                         now: datetime) -> GestureOffer | None:
    """Note that the offer is made; None when it may not be (see ``may_offer_gesture``)."""
    if not may_offer_gesture(session, contact_id, alert_id):
        return None
    offer = GestureOffer(contact_id=contact_id, alert_id=alert_id, offered_at=now)
    try:
        with session.begin_nested():
            session.add(offer)
    except IntegrityError:  # another worker made the same offer meanwhile
        return None
    return offer


def answer_gesture_offer(session: Session, contact_id: int, offer_id: int,
                         answer: OfferAnswer | str, now: datetime) -> GestureOffer | None:
    offer = session.get(GestureOffer, offer_id)
    if offer is None or offer.contact_id != contact_id:
        return None
    offer.answer = OfferAnswer(answer).value
    offer.answered_at = now
    session.add(offer)
    session.flush()
    return offer


# --------------------------------------------------------------------------------------------
# The appliance exercise
# --------------------------------------------------------------------------------------------

def record_appliance_rating(session: Session, contact_id: int, appliance: str,
                            rating: Rating | str, now: datetime) -> ApplianceRating:
    """The household's say about one appliance; a new say replaces the old one.

    ``ValueError`` for an appliance the exercise does not list or an unknown rating.
    """
    if appliance_exercise().appliance(appliance) is None:
        raise ValueError(f"unknown appliance {appliance!r}")
    given = Rating(rating)
    row = session.exec(select(ApplianceRating).where(ApplianceRating.contact_id == contact_id,
                                                     ApplianceRating.appliance == appliance)
                       ).first()
    if row is None:
        row = ApplianceRating(contact_id=contact_id, appliance=appliance, rating=given.value)
    row.rating = given.value
    row.answered_at = now
    session.add(row)
    session.flush()
    return row


def appliance_ratings(session: Session, contact_id: int) -> dict[str, Rating]:
    rows = session.exec(select(ApplianceRating).where(ApplianceRating.contact_id == contact_id))
    return {row.appliance: Rating(row.rating) for row in rows}


def exercise_suggestions(session: Session, contact_id: int, slugs: Iterable[str]
                         ) -> tuple[tuple[str, dict[str, str]], ...]:
    """Of ``slugs`` (the exercise's suggestions), the catalogue gestures the resident could
    still choose, in that order, with their text per language; none when they have three."""
    active = active_commitments(session, contact_id)
    if len(active) >= MAX_ACTIVE_COMMITMENTS:
        return ()
    chosen = {c.gesture_slug for c in active}
    found = []
    for slug in slugs:
        gesture = latest_gesture(session, slug)
        if gesture is not None and slug not in chosen:
            found.append((slug, dict(gesture.text)))
    return tuple(found)


def exercise_households(session: Session, community_id: int) -> int:
    """How many households took part in the appliance exercise (for its group summary)."""
    contacts = _community_contacts(session, community_id)
    rows = session.exec(select(ApplianceRating.contact_id).where(
        col(ApplianceRating.contact_id).in_(list(contacts)))).all()
    return len({household_key(contacts[contact_id]) for contact_id in rows})


# --------------------------------------------------------------------------------------------
# Counts together, never individually
# --------------------------------------------------------------------------------------------

# A household counts once; a resident not linked to a household counts as one.
HouseholdKey = tuple[str, int]


def household_key(contact: Contact) -> HouseholdKey:
    """What counts as one household: its home, or the resident alone when not linked."""
    if contact.household_id is not None:
        return ("household", contact.household_id)
    assert contact.id is not None
    return ("contact", contact.id)


_household = household_key


def _privacy_k(session: Session, community_id: int, k: int | None) -> int:
    if k is not None:
        return k
    community = session.get(Community, community_id)
    return community.privacy_k if community is not None else 5


def _community_contacts(session: Session, community_id: int) -> dict[int, Contact]:
    contacts = session.exec(select(Contact).where(Contact.community_id == community_id))
    return {c.id: c for c in contacts if c.id is not None}


@dataclass(frozen=True)
class GestureStats:
    slug: str
    # Households that have ever chosen it, and those for whom it is active now.
    households: int
    active_households: int
    # Check-in answers (yes, sometimes, not_this_time, stop), only when at least k
    # households answered; None otherwise.
    check_ins: dict[str, int] | None


def commitment_stats(session: Session, community_id: int, now: datetime,
                     k: int | None = None) -> dict[str, GestureStats | None]:
    """Per gesture: how many households chose it (active at ``now`` or not), and their
    check-in answers.

    Every catalogue gesture is listed; a gesture chosen by fewer than ``k`` households (the
    community's ``privacy_k`` by default) is None, so nothing can point at a household.
    """
    k = _privacy_k(session, community_id, k)
    contacts = _community_contacts(session, community_id)
    chosen: dict[str, set[HouseholdKey]] = defaultdict(set)
    active: dict[str, set[HouseholdKey]] = defaultdict(set)
    commitments = list(session.exec(select(Commitment).where(
        col(Commitment.contact_id).in_(list(contacts)))))
    slug_of: dict[int, str] = {}
    for commitment in commitments:
        assert commitment.id is not None
        household = _household(contacts[commitment.contact_id])
        slug_of[commitment.id] = commitment.gesture_slug
        chosen[commitment.gesture_slug].add(household)
        if commitment.dropped_at is None or as_utc(commitment.dropped_at) > as_utc(now):
            active[commitment.gesture_slug].add(household)
    answers: dict[str, Counter[str]] = defaultdict(Counter)
    answering: dict[str, set[HouseholdKey]] = defaultdict(set)
    if slug_of:
        answered = session.exec(select(CheckIn, Commitment.contact_id)
                                .join(Commitment, col(Commitment.id) == col(CheckIn.commitment_id))
                                .where(col(CheckIn.commitment_id).in_(list(slug_of)),
                                       col(CheckIn.answer).is_not(None)))
        for check_in, contact_id in answered:
            slug = slug_of[check_in.commitment_id]
            answers[slug][str(check_in.answer)] += 1
            answering[slug].add(_household(contacts[contact_id]))
    result: dict[str, GestureStats | None] = {}
    slugs = [g.slug for g in catalogue(session)]
    slugs += sorted(set(chosen) - set(slugs))
    for slug in slugs:
        if len(chosen[slug]) < k:
            result[slug] = None
            continue
        counts = None
        if len(answering[slug]) >= k:
            counts = {a.value: answers[slug][a.value] for a in CheckInAnswer}
        result[slug] = GestureStats(slug=slug, households=len(chosen[slug]),
                                    active_households=len(active[slug]), check_ins=counts)
    return result


@dataclass(frozen=True)
class CommitmentTally:
    """"N households have chosen a gesture; the most chosen: ..." (only when N >= k)."""

    households: int
    # The most chosen gestures among those with at least k households; may be empty.
    most_chosen: tuple[str, ...]
    # Their texts per language (of their current version), for the result message.
    texts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def most_chosen_text(self, locale: str, fallback: str | None = None) -> str | None:
        """The first most chosen gesture in the reader's language, if any is shown."""
        for slug in self.most_chosen:
            if self.texts.get(slug):
                return localized(self.texts[slug], locale, fallback)
        return None


def commitment_tally(session: Session, community_id: int, now: datetime,
                     k: int | None = None) -> CommitmentTally | None:
    """How many households have an active gesture now, and the most chosen ones.

    None when fewer than ``k`` households have one.
    """
    k = _privacy_k(session, community_id, k)
    contacts = _community_contacts(session, community_id)
    per_gesture: dict[str, set[HouseholdKey]] = defaultdict(set)
    households: set[HouseholdKey] = set()
    for commitment, _gesture in _active_with_gestures(session, contacts, now):
        household = _household(contacts[commitment.contact_id])
        households.add(household)
        per_gesture[commitment.gesture_slug].add(household)
    if len(households) < k:
        return None
    shown = {slug: len(h) for slug, h in per_gesture.items() if len(h) >= k}
    top = max(shown.values(), default=0)
    most_chosen = tuple(sorted(s for s, n in shown.items() if n == top))
    texts = {}
    for slug in most_chosen:
        current = latest_gesture(session, slug, active_only=False)
        if current is not None:
            texts[slug] = dict(current.text)
    return CommitmentTally(households=len(households), most_chosen=most_chosen, texts=texts)


def households_with_alert_gesture(session: Session, community_id: int, at: datetime
                                  ) -> set[int]:
    """Households (ids) where someone had an active alert-time gesture at ``at``: for
    comparing impact with and without one (a correlation, never a proof)."""
    contacts = _community_contacts(session, community_id)
    found: set[int] = set()
    for commitment, gesture in _active_with_gestures(session, contacts, at):
        household_id = contacts[commitment.contact_id].household_id
        if household_id is not None and Helps(gesture.helps).during_alert:
            found.add(household_id)
    return found


def appliance_summary(session: Session, community_id: int, k: int | None = None
                      ) -> dict[str, dict[str, int]] | None:
    """For the facilitator's workshop: per appliance, how many households rated it
    indispensable, useful or comfortable. None when fewer than ``k`` households took part."""
    k = _privacy_k(session, community_id, k)
    contacts = _community_contacts(session, community_id)
    rows = list(session.exec(select(ApplianceRating).where(
        col(ApplianceRating.contact_id).in_(list(contacts)))))
    # One say per household and appliance: the latest, when two residents of a home answered.
    latest: dict[tuple[HouseholdKey, str], ApplianceRating] = {}
    for row in sorted(rows, key=lambda r: (as_utc(r.answered_at or EPOCH), r.id or 0)):
        latest[(_household(contacts[row.contact_id]), row.appliance)] = row
    if len({household for household, _ in latest}) < k:
        return None
    summary = {a.slug: {r.value: 0 for r in Rating} for a in appliance_exercise().appliances}
    for (_household_key, appliance), row in latest.items():
        summary.setdefault(appliance, {r.value: 0 for r in Rating})[row.rating] += 1
    return summary
