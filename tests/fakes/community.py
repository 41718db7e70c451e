"""Residents on several channels and languages, enrolled directly through the core services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from core.communities import add_cluster, add_household, create_community
from core.config import get_settings
from core.contacts import enrol_contact
from core.db import session_scope
from core.identities import touch_identity

CONSENT = get_settings().consent_version  # today's text: nobody is asked again


@dataclass(frozen=True)
class Resident:
    contact_id: int
    channel: str
    address: str
    locale: str
    cluster: str


RESIDENTS = (
    ("sms", "+32470000001", "fr", "A"),
    ("telegram", "100000002", "nl", "A"),
    ("whatsapp", "+32470000003", "ar", "B"),
    ("sms", "+32470000004", "ar", "B"),
    ("telegram", "100000005", "fr", "A"),
    ("whatsapp", "+32470000006", "nl", "B"),
)


def seed_residents(engine: Engine, now: datetime, quiet_hours: str = "22:00-08:00",
                   privacy_k: int = 5) -> list[Resident]:
    residents = []
    with session_scope(engine) as session:
        community = create_community(session, "echappee", "L'Échappée", join_code="ECH",
                                     quiet_hours=quiet_hours, privacy_k=privacy_k)
        assert community.id is not None
        clusters = {name: add_cluster(session, community, name) for name in "AB"}
        for index, (channel, address, locale, cluster) in enumerate(RESIDENTS, start=1):
            household = add_household(session, community, f"H{index}", clusters[cluster])
            identity = touch_identity(session, channel, address, now)
            contact = enrol_contact(session, identity, community.id, locale, CONSENT, now)
            contact.household_id = household.id
            assert contact.id is not None
            residents.append(Resident(contact.id, channel, identity.address, locale, cluster))
    return residents
