"""A demo community to try the bot with no credentials: `voisins demo`."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from core.alerts import Alert
from core.clock import Clock, as_utc, utc_now
from core.communities import add_cluster, add_household, community_by_slug, create_community
from core.contacts import enrol_contact
from core.gestures import (
    CheckInAnswer,
    choose_gesture,
    mark_check_in_asked,
    record_check_in,
    schedule_check_in,
)
from core.identities import touch_identity
from core.models import ChannelIdentity, Community, Contact, Household, Role

DEMO_SLUG = "demo"
DEMO_NAME = "Voisins d'Énergie (démo)"
DEMO_JOIN_CODE = "VOISINS"
DEMO_HOUSEHOLDS = 12


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


# Neighbours who chose gestures, so that "My gestures", the group tally and the facilitator's
# figures show something on the first run: (household, locale, gestures); each answered a
# check-in after the demo's past alert (see ``DEMO_CHECK_INS``).
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


def seed_demo_gestures(session: Session, community: Community, now: datetime) -> int:
    """A few neighbours' commitments and check-in answers, and one gesture for the demo's
    facilitator; once (nothing is added when neighbours exist). Returns the commitments made.

    The neighbours have no reachable address: no message is ever sent to them. Run after the
    catalogue is loaded (``core.gestures.load_gestures``) and the demo's past alert recorded.
    """
    assert community.id is not None
    if session.exec(select(ChannelIdentity).where(
            col(ChannelIdentity.address).startswith("demo-neighbour-"))).first() is not None:
        return 0
    households = {h.ref: h for h in session.exec(select(Household).where(
        Household.community_id == community.id))}
    past_alert = session.exec(select(Alert).where(Alert.community_id == community.id)
                              .order_by(col(Alert.starts_at))).first()
    chosen_at = now - timedelta(days=21)
    made = 0
    for ref, locale, slugs in DEMO_COMMITMENTS:
        household = households.get(ref)
        if household is None:
            continue
        identity = touch_identity(session, "console", f"demo-neighbour-{ref.lower()}",
                                  chosen_at)
        identity.reachable = False
        contact = enrol_contact(session, identity, community.id, locale, "demo", chosen_at,
                                name=f"Voisin {ref}")
        contact.household_id = household.id
        session.add(contact)
        session.flush()
        assert contact.id is not None
        for index, slug in enumerate(slugs):
            result = choose_gesture(session, contact.id, slug, chosen_at, context="demo")
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
            context="demo").commitment is not None:
        made += 1
    return made
