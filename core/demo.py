"""A demo community to try the bot with no credentials: `voisins demo`."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from core.alerts import Alert
from core.clock import Clock, as_utc, utc_now
from core.communities import add_cluster, add_household, community_by_slug, create_community
from core.contacts import enrol_contact, link_household
from core.gestures import (
    CheckInAnswer,
    Commitment,
    choose_gesture,
    mark_check_in_asked,
    record_check_in,
    schedule_check_in,
)
from core.identities import touch_identity
from core.models import ChannelIdentity, Community, Contact, Household, Role
from core.questionnaires.definition import AnswerValue
from core.questionnaires.responses import completed_contact_ids, start_response
from core.questionnaires.storage import ResponseStatus, latest_questionnaire

DEMO_SLUG = "demo"
DEMO_NAME = "Voisins d'Énergie (démo)"
DEMO_JOIN_CODE = "VOISINS"
DEMO_HOUSEHOLDS = 12
# The questionnaire every alert is followed by (core/content/questionnaires/post_alert.yaml).
POST_ALERT_SLUG = "post_alert"


def seed_demo(session: Session, clock: Clock = utc_now) -> Community:
    """Create the demo community once (a dozen households, a facilitator, a technician)."""
    existing = community_by_slug(session, DEMO_SLUG)
    if existing is not None:
        return existing
    now = clock()
    community = create_community(session, DEMO_SLUG, DEMO_NAME,
                                 join_code=DEMO_JOIN_CODE, clock=clock)
    cabins = [add_cluster(session, community, f"Cabine {letter}", kind="lv_cabin")
              for letter in "AB"]
    for number in range(1, DEMO_HOUSEHOLDS + 1):
        add_household(session, community, ref=f"H{number:02d}", cluster=cabins[number % 2],
                      code=f"MAISON{number:02d}", clock=clock)
    assert community.id is not None
    for address, name, role in (
        ("demo-facilitator", "Awa (animatrice)", Role.FACILITATOR),
        ("demo-technician", "Marc (technicien)", Role.TECHNICIAN),
    ):
        identity = touch_identity(session, "console", address, now, display_name=name)
        enrol_contact(session, identity, community.id, "fr", "demo", now, name=name, role=role)
    return community


# The demo's neighbours: one resident per home, in the languages of a mixed neighbourhood,
# so that group figures and survey results have the k households they need.
DEMO_NEIGHBOURS: tuple[tuple[str, str], ...] = (
    ("Nadia", "fr"), ("Pieter", "nl"), ("Samira", "ar"), ("Lucía", "es"),
    ("Jean", "fr"), ("Anke", "nl"), ("Youssef", "ar"), ("Maria", "es"),
    ("Claire", "fr"), ("Tom", "en"), ("Fatima", "ar"), ("Luc", "fr"),
)
NEIGHBOUR_ADDRESS = "demo-neighbour-{number:02d}"


def seed_demo_neighbours(session: Session, community: Community, now: datetime
                         ) -> list[Contact]:
    """A resident in each demo home (console identities nobody types as), once."""
    assert community.id is not None
    households = session.exec(select(Household).where(
        Household.community_id == community.id).order_by(col(Household.ref))).all()
    neighbours = []
    for number, (household, (name, locale)) in enumerate(
            zip(households, DEMO_NEIGHBOURS, strict=False), start=1):
        identity = touch_identity(session, "console", NEIGHBOUR_ADDRESS.format(number=number),
                                  now, display_name=name)
        contact = session.get(Contact, identity.contact_id) if identity.contact_id else None
        if contact is None:
            contact = enrol_contact(session, identity, community.id, locale, "demo", now,
                                    name=name)
            assert household.id is not None
            link_household(session, contact, household.id)
        neighbours.append(contact)
    session.flush()
    return neighbours


# Twelve answers to the post-alert questionnaire, as neighbours might give them: most were
# home and managed a little, the washing waited, an hour longer is often possible.
DEMO_ANSWERS: tuple[dict[str, AnswerValue], ...] = (
    {"at_home": True, "lowered": "yes", "actions": ["postponed_washing", "cooked_differently"],
     "difficulty": 2, "longer_possible": "yes",
     "comment": "On a mangé froid, les enfants ont trouvé ça drôle."},
    {"at_home": True, "lowered": "a_little", "actions": ["switched_off"], "difficulty": 3,
     "longer_possible": "maybe", "comment": "De wasmachine kon wachten, de oven niet."},
    {"at_home": True, "lowered": "yes", "actions": ["postponed_washing", "lowered_heating"],
     "difficulty": 2, "longer_possible": "yes",
     "comment": "أجلت الغسيل إلى الصباح، لم يكن صعبا."},
    {"at_home": False, "lowered": "yes", "actions": ["went_out"], "difficulty": 1,
     "longer_possible": "yes"},
    {"at_home": True, "lowered": "no", "difficulty": 4, "longer_possible": "no",
     "comment": "Avec un bébé, 18 h c'est l'heure du bain."},
    {"at_home": True, "lowered": "a_little", "actions": ["switched_off", "cooked_differently"],
     "difficulty": 3, "longer_possible": "maybe"},
    {"at_home": True, "lowered": "yes", "actions": ["postponed_washing"], "difficulty": 2,
     "longer_possible": "yes", "comment": "Cociné antes, fue fácil."},
    {"at_home": False, "lowered": "a_little", "actions": ["switched_off"], "difficulty": 1,
     "longer_possible": "yes"},
    {"at_home": True, "lowered": "yes", "actions": ["lowered_heating", "switched_off"],
     "difficulty": 3, "longer_possible": "maybe"},
    {"at_home": True, "lowered": "a_little", "actions": ["cooked_differently"], "difficulty": 2,
     "longer_possible": "no", "comment": "Fine, but tell us a day ahead please."},
    {"at_home": True, "lowered": "yes", "actions": ["postponed_washing"], "difficulty": 2,
     "longer_possible": "yes"},
    {"at_home": False, "lowered": "no", "difficulty": 1, "longer_possible": "maybe"},
)


def seed_demo_answers(session: Session, neighbours: list[Contact], alert_id: int,
                      answered_at: datetime) -> int:
    """The neighbours' finished answers to the alert's questionnaire (``load_content`` first);
    how many there are. Seeding again adds nothing."""
    row = latest_questionnaire(session, POST_ALERT_SLUG)
    if row is None or row.id is None:
        return 0
    for minutes, (contact, answers) in enumerate(zip(neighbours, DEMO_ANSWERS, strict=False)):
        assert contact.id is not None
        response = start_response(session, row.id, contact.id, f"alert:{alert_id}",
                                  contact.locale, answered_at)
        if response.status == ResponseStatus.COMPLETED:
            continue
        response.answers = dict(answers)
        response.status = ResponseStatus.COMPLETED.value
        response.completed_at = answered_at + timedelta(minutes=7 * minutes)
        session.add(response)
    session.flush()
    return len(completed_contact_ids(session, f"alert:{alert_id}"))


# Homes whose resident chose gestures, so that "My gestures", the group tally and the
# facilitator's figures show something on the first run: (household, locale if nobody lives
# there yet, gestures); each answered a check-in after the demo's past alert.
DEMO_COMMITMENTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("H01", "fr", ("dishwasher_after_alert", "curtains_at_night")),
    ("H02", "ar", ("dishwasher_after_alert", "warm_layer")),
    ("H03", "nl", ("dishwasher_after_alert",)),
    ("H04", "fr", ("dishwasher_after_alert", "washer_after_alert")),
    ("H05", "es", ("dishwasher_after_alert", "curtains_at_night")),
    ("H06", "fr", ("curtains_at_night", "lid_on_pan")),
    ("H07", "en", ("washer_after_alert",)),
)
# The answers to the check-in after the past alert, per household (for its first gesture).
DEMO_CHECK_INS = {"H01": "yes", "H02": "sometimes", "H03": "yes", "H04": "not_this_time",
                  "H05": "yes", "H06": "sometimes", "H07": "yes"}
DEMO_FACILITATOR_GESTURE = "close_doors"
DEMO_CONTEXT = "demo"


def seed_demo_gestures(session: Session, community: Community, now: datetime) -> int:
    """Some neighbours' commitments and their answers to the check-in after the demo's last
    past alert, and one gesture for the demo's facilitator; once. Returns the commitments made.

    A home's first resident makes its promises (``seed_demo_neighbours`` puts one in each);
    a home nobody lives in yet gets one with no reachable address, never written to. Run
    after the catalogue is loaded (``core.gestures.load_gestures``).
    """
    assert community.id is not None
    if session.exec(select(Commitment.id).where(Commitment.context == DEMO_CONTEXT)
                    ).first() is not None:
        return 0
    households = {h.ref: h for h in session.exec(select(Household).where(
        Household.community_id == community.id))}
    past_alert = session.exec(select(Alert).where(Alert.community_id == community.id,
                                                  col(Alert.ends_at) <= now)
                              .order_by(col(Alert.ends_at).desc())).first()
    chosen_at = now - timedelta(days=21)
    made = 0
    for ref, locale, slugs in DEMO_COMMITMENTS:
        household = households.get(ref)
        if household is None or household.id is None:
            continue
        contact = _resident_of(session, household.id, community.id, ref, locale, chosen_at)
        assert contact.id is not None
        for index, slug in enumerate(slugs):
            result = choose_gesture(session, contact.id, slug, chosen_at, context=DEMO_CONTEXT)
            if result.commitment is None or result.commitment.id is None:
                continue
            made += 1
            if index or past_alert is None or past_alert.id is None:
                continue
            asked_at = as_utc(past_alert.ends_at) + timedelta(hours=2)
            check_in = schedule_check_in(session, result.commitment.id, asked_at,
                                         alert_id=past_alert.id)
            if check_in is not None and check_in.id is not None:
                mark_check_in_asked(session, check_in.id, asked_at)
                record_check_in(session, contact.id, check_in.id,
                                CheckInAnswer(DEMO_CHECK_INS[ref]),
                                asked_at + timedelta(minutes=20))
    facilitator = session.exec(select(Contact).join(
        ChannelIdentity, col(ChannelIdentity.contact_id) == Contact.id).where(
        ChannelIdentity.address == "demo-facilitator")).first()
    if facilitator is not None and facilitator.id is not None and choose_gesture(
            session, facilitator.id, DEMO_FACILITATOR_GESTURE, chosen_at,
            context=DEMO_CONTEXT).commitment is not None:
        made += 1
    return made


def _resident_of(session: Session, household_id: int, community_id: int, ref: str,
                 locale: str, now: datetime) -> Contact:
    found = session.exec(select(Contact).where(Contact.household_id == household_id,
                                               Contact.role == Role.RESIDENT.value)
                         .order_by(col(Contact.id))).first()
    if found is not None:
        return found
    identity = touch_identity(session, "console", f"demo-gestures-{ref.lower()}", now)
    identity.reachable = False
    contact = enrol_contact(session, identity, community_id, locale, "demo", now,
                            name=f"Voisin {ref}")
    link_household(session, contact, household_id)
    session.flush()
    return contact


def seed_demo_staff_invite(session: Session, community: Community, now: datetime) -> str:
    """A staff invitation of the demo (a facilitator's, valid 7 days), made once: its code,
    to try being invited (``voisins chat --as someone`` then ``JOIN CODE``)."""
    from core.staff import StaffInvite, create_invite

    waiting = session.exec(select(StaffInvite).where(
        StaffInvite.community_id == community.id, col(StaffInvite.used_at).is_(None),
        col(StaffInvite.expires_at) > now)).first()
    if waiting is not None:
        return waiting.code
    return create_invite(session, community, Role.FACILITATOR, now, name="Inès",
                         created_by="demo").code
