"""What a facilitator reads before news or an invitation goes: how many people, per channel,
and about how long sending takes under the rate limits ("312 people: 240 on Telegram in
about 10 s, 72 by SMS in about 2 min")."""

from __future__ import annotations

import math

from bot.flows.base import AudienceView, ChannelReach
from bot.i18n import Translator
from bot.i18n.formatting import format_items


def about(t: Translator, seconds: float) -> str:
    """A rounded-up duration: "10 s", "2 min", "3 h"."""
    if seconds < 90:
        return t.gettext("{count} s", count=max(1, math.ceil(seconds)))
    if seconds < 90 * 60:
        return t.gettext("{count} min", count=math.ceil(seconds / 60))
    return t.gettext("{count} h", count=math.ceil(seconds / 3600))


def _channel_part(t: Translator, item: ChannelReach) -> str:
    duration = about(t, item.seconds)
    if item.channel == "telegram":
        return t.gettext("{count} on Telegram in about {duration}", count=item.people,
                         duration=duration)
    if item.channel == "sms":
        return t.gettext("{count} by SMS in about {duration}", count=item.people,
                         duration=duration)
    if item.channel == "whatsapp":
        return t.gettext("{count} on WhatsApp in about {duration}", count=item.people,
                         duration=duration)
    return t.gettext("{count} in the terminal", count=item.people)


def reach_line(t: Translator, audience: AudienceView) -> str:
    people = t.ngettext("{count} person", "{count} people", audience.people)
    if not audience.reach:
        return people + "."
    return t.gettext("{people}: {channels}.", people=people, channels=format_items(
        (_channel_part(t, item) for item in audience.reach), t.locale))
