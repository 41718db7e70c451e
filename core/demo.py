"""A demo community to try the bot with no credentials: `voisins demo`."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from core.clock import Clock, utc_now
from core.communities import add_cluster, add_household, community_by_slug, create_community
from core.contacts import enrol_contact, link_household
from core.identities import touch_identity
from core.models import Community, Contact, Household, Role
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
