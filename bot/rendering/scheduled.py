"""The conversation a scheduled message opens, decided here, on the bot's side.

The scheduler writes it with the message's outbox row but knows no flow names: a start
message opens the alert's "are you joining in?" question, a questionnaire its first
question, each taking over only the conversations the bot itself opened.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core.messages import ConversationOpening

# Conversations a scheduled message may take over: those the bot itself opened. A resident
# in the middle of something they started (joining, erasing, planning) is not interrupted.
REPLACEABLE_FLOWS: frozenset[str | None] = frozenset({None, "menu", "alert", "questionnaire",
                                                       "workshop"})
# How long the "are you joining in?" question waits for an answer after the start.
DEFAULT_WAIT = timedelta(hours=24)


def opening(flow: str, step: str, data: dict[str, Any], ttl: timedelta = DEFAULT_WAIT
            ) -> ConversationOpening:
    return ConversationOpening(flow=flow, step=step, data=data, ttl=ttl,
                               replaces=REPLACEABLE_FLOWS)
