"""WhatsApp through Twilio, with Meta's 24-hour rule.

Free-form text may go only within 24 h of the resident's last message
(``ChannelIdentity.last_inbound_at``). Outside the window a pre-approved template is sent
(``ContentSid`` per message kind and locale, from ``VOISINS_WHATSAPP_TEMPLATES``); where none
exists, or Twilio answers 63016, the message is rerouted to SMS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from twilio.rest import Client

from bot.channels.rendering import render_numbered
from bot.channels.twilio_common import (
    OUTSIDE_WINDOW,
    WHATSAPP_PREFIX,
    create_message,
    status_callback_url,
)
from bot.channels.twilio_sms import media_urls
from bot.outbound.dispatch import RerouteSendError
from core.clock import Clock, as_utc, utc_now
from core.config import Settings
from core.models import ChannelIdentity, ChannelKind, OutboxMessage

CHANNEL = ChannelKind.WHATSAPP.value
WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class WhatsAppTemplates:
    """Approved templates: message kind → locale → ContentSid."""

    by_kind: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def from_setting(cls, value: str | None) -> WhatsAppTemplates:
        """The setting is a JSON value or the path of a JSON file."""
        if not value or not value.strip():
            return cls()
        text = value.strip()
        if not text.startswith("{"):
            text = Path(text).expanduser().read_text(encoding="utf-8")
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("VOISINS_WHATSAPP_TEMPLATES must map kind → locale → ContentSid")
        return cls({str(kind): {str(loc): str(sid) for loc, sid in locales.items()}
                    for kind, locales in data.items()})

    def content_sid(self, kind: str, locale: str) -> str | None:
        return self.by_kind.get(kind, {}).get(locale)


def whatsapp_address(address: str) -> str:
    return address if address.startswith(WHATSAPP_PREFIX) else f"{WHATSAPP_PREFIX}{address}"


def in_window(identity: ChannelIdentity, clock: Clock) -> bool:
    if identity.last_inbound_at is None:
        return False
    return clock() - as_utc(identity.last_inbound_at) < WINDOW


def template_variables(payload: dict[str, Any]) -> str:
    """Templates number their placeholders; a row may give its own, else {{1}} is the text."""
    variables = payload.get("template_variables") or {"1": str(payload.get("text") or "")}
    return json.dumps(variables, ensure_ascii=False)


class TwilioWhatsAppSender:
    def __init__(self, client: Client, settings: Settings,
                 templates: WhatsAppTemplates | None = None, clock: Clock = utc_now) -> None:
        assert settings.twilio_whatsapp_from, "VOISINS_TWILIO_WHATSAPP_FROM is required"
        self.client = client
        self.from_ = whatsapp_address(settings.twilio_whatsapp_from)
        self.public_url = settings.public_url
        self.status_callback = status_callback_url(settings)
        self.templates = templates if templates is not None else \
            WhatsAppTemplates.from_setting(settings.whatsapp_templates)
        self.clock = clock

    def send(self, row: OutboxMessage, identity: ChannelIdentity) -> str | None:
        fields: dict[str, Any] = {"to": whatsapp_address(identity.address), "from_": self.from_}
        if self.status_callback:
            fields["status_callback"] = self.status_callback
        if in_window(identity, self.clock):
            fields["body"] = render_numbered(row.payload)
            urls = media_urls(row.payload, self.public_url)
            if urls:
                fields["media_url"] = urls
        else:
            locale = str(row.payload.get("locale") or "")
            sid = self.templates.content_sid(row.kind, locale)
            if sid is None:
                raise RerouteSendError(
                    f"outside the WhatsApp 24 h window, no template for {row.kind}/{locale}",
                    channel=ChannelKind.SMS.value)
            fields["content_sid"] = sid
            fields["content_variables"] = template_variables(row.payload)
        return create_message(self.client, fields,
                              reroute={OUTSIDE_WINDOW: ChannelKind.SMS.value})
