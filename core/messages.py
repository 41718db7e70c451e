"""Channel-agnostic message types. Channels turn provider payloads into these and back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Choice:
    """An abstract button: Telegram shows a keyboard button, SMS a numbered option."""

    key: str
    label: str


@dataclass(frozen=True)
class IncomingMessage:
    channel: str
    address: str
    text: str
    # The provider's id (Telegram update_id, Twilio MessageSid): a second delivery is ignored.
    provider_id: str
    display_name: str | None = None
    # The language the channel reports for the sender (Telegram's language_code).
    locale_hint: str | None = None
    # A button press carries the choice key itself, not a label to parse.
    choice_key: str | None = None
    # When it arrived (set by the inbox): flows read "tomorrow 18:00" against it, no clock.
    received_at: datetime | None = None


@dataclass(frozen=True)
class OutgoingMessage:
    text: str
    locale: str
    choices: tuple[Choice, ...] = ()
    # What the message is for: picks WhatsApp templates and decides who may still receive it.
    kind: str = "reply"
    image_png: bytes | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "text": self.text,
            "locale": self.locale,
            "choices": [{"key": c.key, "label": c.label} for c in self.choices],
        }
        payload.update(self.extra)
        return payload
