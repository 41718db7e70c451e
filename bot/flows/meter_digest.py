"""The daily meter digest as a technician reads it: "3 meters need a look: H03 silent since
14:20; ...". At most five meters are listed, then "and N more" (the admin API has them all),
so the message stays short enough for an SMS where it can.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from babel.dates import format_date

from bot.i18n import Translator, choose_locale, translator
from bot.i18n.formatting import format_items, format_local_time, local
from core.clock import as_utc
from core.models import Community, Contact
from meters.health import Flag, MeterDigest, MeterHealth

MAX_LISTED = 5
# A Flukso sensor id is 32 hex digits: the first few are enough to find it on the box.
SENSOR_SHOWN = 8


def meter_label(item: MeterHealth) -> str:
    """"H03", with the clamp when the sensor says more than the household: "ECHASC PV_Gris"."""
    ref = item.household_ref or "?"
    sensor = item.sensor
    if sensor.startswith(f"{ref}_"):
        return f"{ref} {sensor.removeprefix(f'{ref}_')}"
    if sensor == ref:
        return ref
    # No ellipsis: one character outside GSM-7 would more than halve an SMS segment.
    return f"{ref} {sensor[:SENSOR_SHOWN]}"


def _since(t: Translator, last_seen: datetime, day: date, timezone: str) -> str:
    """The time when it was the digest's day, else the date."""
    seen = local(as_utc(last_seen), timezone)
    if seen.date() == day:
        return format_local_time(last_seen, timezone, t.locale)
    return format_date(seen.date(), "d MMM", locale=t.locale)


def item_text(t: Translator, item: MeterHealth, day: date, timezone: str) -> str:
    meter = meter_label(item)
    phrases = []
    for flag in item.flags:
        if flag == Flag.SILENT.value and item.last_seen is None:
            phrases.append(t.gettext("{meter} never sent data", meter=meter))
        elif flag == Flag.SILENT.value and item.last_seen is not None:
            phrases.append(t.gettext("{meter} silent since {since}", meter=meter,
                                     since=_since(t, item.last_seen, day, timezone)))
        elif flag == Flag.PRODUCTION_AT_NIGHT.value:
            phrases.append(t.gettext("{meter} produces at night (clamp reversed?)",
                                     meter=meter))
        elif flag == Flag.ALL_ZERO_DAY.value:
            phrases.append(t.gettext("{meter} all zeros for a day", meter=meter))
    return format_items(phrases, t.locale, long_items=True)


def digest_text(t: Translator, digest: MeterDigest, timezone: str) -> str:
    listed = [item_text(t, item, digest.day, timezone) for item in digest.items[:MAX_LISTED]]
    rest = len(digest.items) - MAX_LISTED
    if rest > 0:
        listed.append(t.ngettext("and {count} more", "and {count} more", rest))
    items = format_items(listed, t.locale, long_items=True)
    return t.ngettext("Voisins: {count} meter needs a look: {items}.",
                      "Voisins: {count} meters need a look: {items}.", len(digest.items),
                      items=items)


class MeterDigestMessages:
    """The scheduler's digest renderer, in the reader's language."""

    def render(self, digest: MeterDigest, community: Community, contact: Contact
               ) -> dict[str, Any]:
        locale = choose_locale(contact.locale, None, community.default_locale)
        text = digest_text(translator(locale), digest, community.timezone)
        return {"text": text, "locale": locale, "choices": []}
