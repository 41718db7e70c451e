"""The terminal channel: `voisins chat` talks to the bot as a resident would."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine

from bot.conversation.inbox import handle_incoming
from bot.outbound.dispatch import dispatch_due
from core.clock import Clock, utc_now
from core.messages import IncomingMessage
from core.models import ChannelIdentity, ChannelKind, OutboxMessage

CHANNEL = ChannelKind.CONSOLE.value


def render_text(payload: dict[str, Any]) -> str:
    """Choices become numbered options, as on SMS."""
    lines = [str(payload.get("text", ""))]
    for number, choice in enumerate(payload.get("choices") or [], start=1):
        lines.append(f"  {number}. {choice['label']}")
    return "\n".join(lines)


class ConsoleSender:
    """Prints what the bot sends to the terminal's own identity."""

    def __init__(self, write: Callable[[str], None] = print) -> None:
        self.write = write

    def send(self, row: OutboxMessage, identity: ChannelIdentity) -> str | None:
        self.write(f"\nVoisins › {render_text(row.payload)}")
        if row.payload.get("image_token"):
            self.write(f"  [image: /media/{row.payload['image_token']}.png]")
        return f"console-{row.id}"


class ConsoleChat:
    """One resident at the terminal: every line typed is an incoming message."""

    def __init__(self, engine: Engine, address: str, locale_hint: str | None = None,
                 write: Callable[[str], None] = print, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.address = address
        self.locale_hint = locale_hint
        self.clock = clock
        self.sender = ConsoleSender(write)

    def say(self, text: str, choice_key: str | None = None) -> None:
        message = IncomingMessage(channel=CHANNEL, address=self.address, text=text,
                                  provider_id=uuid.uuid4().hex, locale_hint=self.locale_hint,
                                  choice_key=choice_key)
        handle_incoming(self.engine, message, clock=self.clock)
        dispatch_due(self.engine, {CHANNEL: self.sender}, clock=self.clock, channel=CHANNEL)

    def run(self, read: Callable[[str], str] = input) -> None:
        while True:
            try:
                line = read("\nYou › ")
            except (EOFError, KeyboardInterrupt):
                return
            if line.strip() in {"/quit", "/exit"}:
                return
            self.say(line)
