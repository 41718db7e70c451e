"""SMS through Twilio: numbered options out, images as MMS (inbound: ``twilio_common``)."""

from __future__ import annotations

from typing import Any

from twilio.rest import Client

from bot.channels.rendering import render_sms
from bot.channels.twilio_common import create_message, status_callback_url
from core.config import Settings
from core.media import media_path
from core.models import ChannelIdentity, ChannelKind, OutboxMessage

CHANNEL = ChannelKind.SMS.value


def media_urls(payload: dict[str, Any], public_url: str | None) -> list[str]:
    """Providers fetch images themselves, from our public ``/media/{token}.png``."""
    token = payload.get("image_token")
    if not token or not public_url:
        return []
    return [public_url.rstrip("/") + media_path(str(token))]


class TwilioSmsSender:
    def __init__(self, client: Client, settings: Settings) -> None:
        assert settings.twilio_sms_from, "VOISINS_TWILIO_SMS_FROM is required for SMS"
        self.client = client
        self.from_ = settings.twilio_sms_from
        self.public_url = settings.public_url
        self.status_callback = status_callback_url(settings)

    def send(self, row: OutboxMessage, identity: ChannelIdentity) -> str | None:
        # A text over two segments goes as several SMS (each within two); the image, the
        # delivery callback and the id we keep go with the last.
        *first_parts, last_part = render_sms(row.payload)
        for part in first_parts:
            create_message(self.client, {"to": identity.address, "from_": self.from_,
                                         "body": part})
        fields: dict[str, Any] = {"to": identity.address, "from_": self.from_,
                                  "body": last_part}
        urls = media_urls(row.payload, self.public_url)
        if urls:
            fields["media_url"] = urls
        if self.status_callback:
            fields["status_callback"] = self.status_callback
        return create_message(self.client, fields)
