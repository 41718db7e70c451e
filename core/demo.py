"""A demo community to try the bot with no credentials: `voisins demo`."""

from __future__ import annotations

from sqlmodel import Session

from core.clock import Clock, utc_now
from core.communities import add_cluster, add_household, community_by_slug, create_community
from core.contacts import enrol_contact
from core.identities import touch_identity
from core.models import Community, Role

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
