"""Channel-agnostic message types. Channels turn provider payloads into these and back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
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


@dataclass(frozen=True)
class ConversationOpening:
    """The conversation a scheduled message opens, so that a typed reply ("1") reaches the
    right flow. Decided by whoever words the message (the bot), written by the scheduler.
    """

    flow: str
    step: str
    data: dict[str, Any]
    ttl: timedelta
    # The conversations this one may take over (None: no conversation). A resident in the
    # middle of something they started themselves is not interrupted.
    replaces: frozenset[str | None]


@dataclass(frozen=True)
class RenderedMessage:
    """A scheduled message worded for one reader: what goes in the outbox row."""

    kind: str
    payload: dict[str, Any]
    # The conversation to open for the reply (e.g. the start message's "I'm in" choices).
    opens: ConversationOpening | None = None
    # When the message stops being true, if the wording side knows better than the
    # message's kind (e.g. the questionnaire it asks closes then).
    expires_at: datetime | None = None
