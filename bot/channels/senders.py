"""The senders ``voisins serve`` drains the outbox with: one per channel with credentials."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from bot.channels.telegram import TelegramSender
from bot.channels.twilio_common import twilio_client
from bot.channels.twilio_sms import TwilioSmsSender
from bot.channels.twilio_whatsapp import TwilioWhatsAppSender
from bot.outbound.dispatch import ChannelLimits, Sender, default_limits
from core.clock import Clock, utc_now
from core.config import Settings
from core.models import ChannelKind


def build_senders(engine: Engine, settings: Settings, clock: Clock = utc_now
                  ) -> dict[str, Sender]:
    """A channel without credentials is simply off: its rows wait in the outbox."""
    senders: dict[str, Sender] = {}
    if settings.telegram_token:
        senders[ChannelKind.TELEGRAM.value] = TelegramSender(
            settings.telegram_token, settings.telegram_api_url, engine=engine, clock=clock)
    if settings.twilio_account_sid and settings.twilio_auth_token:
        client = twilio_client(settings)
        if settings.sms_senders() or settings.twilio_messaging_service_sid:
            senders[ChannelKind.SMS.value] = TwilioSmsSender(client, settings)
        if settings.twilio_whatsapp_from:
            senders[ChannelKind.WHATSAPP.value] = TwilioWhatsAppSender(client, settings,
                                                                       clock=clock)
    return senders


def channel_limits(settings: Settings) -> dict[str, ChannelLimits]:
    """The providers' limits, with SMS paced per sender number (``sms_per_second_per_sender``
    each; a pool of ten sends ten times as fast as one number)."""
    limits = default_limits()
    limits[ChannelKind.TELEGRAM.value].per_second = settings.telegram_per_second
    limits[ChannelKind.SMS.value] = ChannelLimits(
        per_sender_per_second=settings.sms_per_second_per_sender)
    return limits
