"""The daily meter digest: technicians and facilitators hear which meters need a look.

Run once a day at a daytime hour (a cron job of ``scheduler.runner``); running it more often
is harmless, since the dedupe key carries the community's local date: one digest per contact
per day, taken from the first run outside quiet hours. A community whose meters are all fine
gets nothing. The text is written in each reader's language by a renderer
(``bot/flows/meter_digest.py``): the scheduler does not import ``bot``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core import outbox
from core.clock import Clock, as_utc
from core.db import session_scope
from core.models import ChannelIdentity, Community, Contact, Priority, Role
from core.quiet_hours import in_quiet_hours
from meters.health import (
    SILENT_AFTER,
    MeterDigest,
    community_meter_health,
    daily_digest,
    fill_last_seen,
)

DIGEST_KIND = "meter_digest"
DIGEST_ROLES = (Role.TECHNICIAN.value, Role.FACILITATOR.value)


class DigestRenderer(Protocol):
    """Writes the digest for one reader (implemented in ``bot/flows/meter_digest.py``)."""

    def render(self, digest: MeterDigest, community: Community, contact: Contact
               ) -> dict[str, Any]: ...


@dataclass
class DigestReport:
    sent: list[tuple[int, int]] = field(default_factory=list)  # (community, recipients)
    all_fine: list[int] = field(default_factory=list)
    postponed: list[int] = field(default_factory=list)  # quiet hours


def digest_key(community_id: int, day: date, contact_id: int) -> str:
    return f"digest:meters:{community_id}:{day.isoformat()}:{contact_id}"


def send_meter_digests(engine: Engine, clock: Clock, renderer: DigestRenderer,
                       silent_after: timedelta = SILENT_AFTER) -> DigestReport:
    report = DigestReport()
    now = clock()
    with session_scope(engine) as session:
        communities = list(session.exec(select(Community).order_by(col(Community.id))).all())
    for community in communities:
        assert community.id is not None
        if in_quiet_hours(now, community.quiet_hours, community.timezone):
            report.postponed.append(community.id)
            continue
        with session_scope(engine) as session:
            health = community_meter_health(session, community.id, now=now,
                                            timezone=community.timezone,
                                            silent_after=silent_after)
            day = as_utc(now).astimezone(ZoneInfo(community.timezone)).date()
            digest = daily_digest(community.id, health, day)
            if not digest.items:
                report.all_fine.append(community.id)
                continue
            fill_last_seen(session, digest.items)
            readers = staff_of(session, community.id)
            for contact, identity in readers:
                assert contact.id is not None
                outbox.enqueue(session, dedupe_key=digest_key(community.id, day, contact.id),
                               identity=identity, kind=DIGEST_KIND,
                               payload=renderer.render(digest, community, contact), now=now,
                               priority=Priority.BULK)
            report.sent.append((community.id, len(readers)))
    return report


def staff_of(session: Session, community_id: int) -> list[tuple[Contact, ChannelIdentity]]:
    """Technicians and facilitators who have not stopped messages, each with their most
    recently used reachable identity."""
    query = (
        select(Contact, ChannelIdentity)
        .join(ChannelIdentity, col(ChannelIdentity.contact_id) == Contact.id)
        .where(Contact.community_id == community_id, col(Contact.role).in_(DIGEST_ROLES),
               col(Contact.opted_out_at).is_(None), col(ChannelIdentity.reachable).is_(True))
        .order_by(col(Contact.id), col(ChannelIdentity.last_inbound_at).desc())
    )
    chosen: dict[int, tuple[Contact, ChannelIdentity]] = {}
    for contact, identity in session.exec(query).all():
        assert contact.id is not None
        chosen.setdefault(contact.id, (contact, identity))
    return list(chosen.values())
