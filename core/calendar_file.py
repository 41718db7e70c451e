"""A workshop as an ``.ics`` calendar file, in the community's timezone (with its VTIMEZONE,
so that a phone shows the right local time on both sides of a daylight-saving change)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from sqlmodel import Session

from core.clock import as_utc
from core.media import store_file
from core.models import Community
from core.workshop_tables import Workshop
from core.workshops import text_for

CONTENT_TYPE = "text/calendar"
PRODUCT_ID = "-//Voisins//Workshops//EN"
# The file stays reachable until a day after the workshop.
KEPT_AFTER_END = timedelta(days=1)


def workshop_ics(workshop: Workshop, community: Community, locale: str, now: datetime
                 ) -> bytes:
    """One event with the title and description in ``locale`` (else the facilitator's)."""
    zone = ZoneInfo(community.timezone)
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    event = Event()
    # Stable across moves (SEQUENCE says which version): a calendar updates the event.
    event.add("uid", f"workshop-{workshop.id}-{community.slug}@voisins")
    event.add("sequence", workshop.revision)
    event.add("dtstamp", as_utc(now))
    event.add("dtstart", as_utc(workshop.starts_at).astimezone(zone))
    event.add("dtend", as_utc(workshop.ends_at).astimezone(zone))
    event.add("summary", text_for(workshop.title, workshop, locale)[0])
    description = text_for(workshop.description, workshop, locale)[0]
    if description:
        event.add("description", description)
    event.add("location", workshop.place)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


def store_workshop_ics(session: Session, workshop: Workshop, community: Community,
                       locale: str, now: datetime) -> str:
    """Keep the file behind an unguessable token (``/media/{token}.ics``); returns it."""
    ttl = as_utc(workshop.ends_at) + KEPT_AFTER_END - as_utc(now)
    return store_file(session, workshop_ics(workshop, community, locale, now), CONTENT_TYPE,
                      now, ttl=max(ttl, timedelta(hours=1)))
