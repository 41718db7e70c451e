"""A dialogue driver for the pure router: "resident says X, bot answers Y" with no I/O."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import datetime

from bot.conversation.router import route
from bot.flows.base import (
    Effect,
    Enrol,
    Erase,
    FlowResult,
    FlowState,
    LinkHousehold,
    OptIn,
    OptOut,
    SetLocale,
    Who,
)
from core.messages import IncomingMessage, OutgoingMessage
from tests.fakes.directory import DEMO, MemoryDirectory

_ids = itertools.count(1)


@dataclass
class Conversation:
    who: Who = field(default_factory=lambda: Who(channel="sms", locale="fr"))
    state: FlowState = field(default_factory=FlowState)
    directory: MemoryDirectory = field(default_factory=MemoryDirectory)
    effects: list[Effect] = field(default_factory=list)
    last: tuple[OutgoingMessage, ...] = ()

    def says(self, text: str, choice_key: str | None = None, at: datetime | None = None
             ) -> tuple[OutgoingMessage, ...]:
        message = IncomingMessage(channel=self.who.channel, address="+32470000000", text=text,
                                  provider_id=str(next(_ids)), choice_key=choice_key,
                                  received_at=at)
        result: FlowResult = route(message, self.who, self.state, self.directory, "v1")
        self.state = result.state
        for effect in result.effects:
            self._apply(effect)
        self.last = result.replies
        return result.replies

    def _apply(self, effect: Effect) -> None:
        self.effects.append(effect)
        if isinstance(effect, Enrol):
            self.who = replace(self.who, contact_id=7, community=DEMO, locale=effect.locale)
        elif isinstance(effect, SetLocale):
            self.who = replace(self.who, locale=effect.locale)
        elif isinstance(effect, OptOut):
            self.who = replace(self.who, opted_out=True)
        elif isinstance(effect, OptIn):
            self.who = replace(self.who, opted_out=False)
        elif isinstance(effect, Erase):
            self.who = Who(channel=self.who.channel, locale=self.who.locale)
        elif isinstance(effect, LinkHousehold):
            pass

    @property
    def text(self) -> str:
        return "\n".join(m.text for m in self.last)

    @property
    def choice_keys(self) -> list[str]:
        return [c.key for m in self.last for c in m.choices]


def member(locale: str, channel: str = "sms") -> Conversation:
    return Conversation(who=Who(channel=channel, locale=locale, contact_id=7, community=DEMO))
