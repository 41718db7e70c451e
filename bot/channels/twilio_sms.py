"""SMS through Twilio: numbered options out, images as MMS (inbound: ``twilio_common``).

One number sends about one SMS per second. For more, a pool of numbers (each one a lane the
dispatcher paces on its own) or a Messaging Service (``MessagingServiceSid`` instead of
``From``: Twilio picks the number).
"""

from __future__ import annotations

from typing import Any

from twilio.rest import Client

from bot.channels.rendering import render_sms
from bot.channels.twilio_common import create_message, status_callback_url
from bot.outbound.dispatch import usual_lane
from core.config import Settings
from core.media import media_path
from core.models import ChannelIdentity, ChannelKind, OutboxMessage

CHANNEL = ChannelKind.SMS.value
# The one lane of a Messaging Service given without its numbers.
SERVICE_LANE = "messaging-service"


def media_urls(payload: dict[str, Any], public_url: str | None) -> list[str]:
    """Providers fetch images themselves, from our public ``/media/{token}.png``."""
    token = payload.get("image_token")
    if not token or not public_url:
        return []
    return [public_url.rstrip("/") + media_path(str(token))]


class TwilioSmsSender:
    """A ``PooledSender``: its lanes are the sender numbers (or the Messaging Service)."""

    def __init__(self, client: Client, settings: Settings) -> None:
        numbers = settings.sms_senders()
        self.service_sid = settings.twilio_messaging_service_sid
        assert numbers or self.service_sid, \
            "VOISINS_TWILIO_SMS_FROM, _SMS_POOL or _MESSAGING_SERVICE_SID is required for SMS"
        self.client = client
        self.lanes: tuple[str, ...] = numbers or (SERVICE_LANE,)
        self.public_url = settings.public_url
        self.status_callback = status_callback_url(settings)

    def send(self, row: OutboxMessage, identity: ChannelIdentity) -> str | None:
        return self.send_via(row, identity, usual_lane(identity.address, self.lanes))

    def _origin(self, lane: str) -> dict[str, str]:
        if self.service_sid:
            return {"messaging_service_sid": self.service_sid}
        return {"from_": lane}

    def send_via(self, row: OutboxMessage, identity: ChannelIdentity, lane: str
                 ) -> str | None:
        # A text over two segments goes as several SMS (each within two), from the same
        # number; the image, the delivery callback and the id we keep go with the last.
        origin = self._origin(lane)
        *first_parts, last_part = render_sms(row.payload)
        for part in first_parts:
            create_message(self.client, {"to": identity.address, **origin, "body": part})
        fields: dict[str, Any] = {"to": identity.address, **origin, "body": last_part}
        urls = media_urls(row.payload, self.public_url)
        if urls:
            fields["media_url"] = urls
        if self.status_callback:
            fields["status_callback"] = self.status_callback
        return create_message(self.client, fields)
