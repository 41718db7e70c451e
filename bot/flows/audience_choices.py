"""The two questions every facilitator fan-out asks (an alert, a workshop invitation, news):
who is it for (the whole community or one cluster), and send it or not."""

from __future__ import annotations

from collections.abc import Sequence

from bot.flows.base import Who
from core.messages import Choice

WHOLE_COMMUNITY = "*"


def audience_choices(who: Who, clusters: Sequence[str]) -> tuple[Choice, ...]:
    return (Choice(WHOLE_COMMUNITY, who.t.gettext("The whole community")),
            *(Choice(f"cluster:{name}"[:64], name) for name in clusters))


def confirm_choices(who: Who) -> tuple[Choice, ...]:
    return (Choice("yes", who.t.gettext("Yes, send")), Choice("no", who.t.gettext("No, cancel")))
