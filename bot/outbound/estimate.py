"""How long a fan-out takes to send under the providers' limits, for the facilitator's
preview: "312 people: 240 on Telegram in about 10 s, 72 by SMS in about 2 min".

The rates are the dispatcher's, which paces one outbox row per slot (``default_limits``,
with the configured Telegram rate and SMS numbers): Telegram's overall rate, each SMS
number's rate times the numbers (a Messaging Service counts as one number: Twilio does not
say how many it holds), WhatsApp's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.outbound.dispatch import default_limits
from core.config import Settings
from core.models import ChannelKind


@dataclass(frozen=True)
class ChannelEstimate:
    channel: str
    people: int
    seconds: float


def send_rates(settings: Settings) -> dict[str, float]:
    """Messages per second each channel can take, all workers together."""
    rates = {channel: limit.per_second or 1.0 for channel, limit in default_limits().items()}
    rates[ChannelKind.TELEGRAM.value] = settings.telegram_per_second
    rates[ChannelKind.SMS.value] = settings.sms_per_second_per_sender * max(
        1, len(settings.sms_senders()))
    return rates


def estimate(people: Mapping[str, int], rates: Mapping[str, float]
             ) -> tuple[ChannelEstimate, ...]:
    """``people`` per channel: per channel, how many and in how many seconds (largest
    audience first)."""
    found = [ChannelEstimate(channel, count, count / rates.get(channel, 1.0))
             for channel, count in people.items() if count]
    return tuple(sorted(found, key=lambda item: (-item.people, item.channel)))
