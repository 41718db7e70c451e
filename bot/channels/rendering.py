"""Turning an outbox payload into what each channel shows.

Flows speak in abstract ``Choice``s; Telegram gets an inline keyboard whose callback data is
the choice key itself (so a press needs no parsing), SMS and WhatsApp get numbered options and
a "Reply 1, 2 or 3" line in the reader's language (typed numbers are parsed by the flows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.channels.sms_segments import sms_parts
from bot.i18n import translator
from bot.i18n.formatting import format_items
from core.messages import Choice

# Telegram refuses callback_data longer than this (in bytes, not characters).
CALLBACK_DATA_MAX_BYTES = 64
# Two short answers (Yes / No) fit side by side on a phone; anything longer gets its own row.
SIDE_BY_SIDE_MAX_LABEL = 14
# Up to this many choices the reply hint lists every number ("Reply 1, 2, 3 or 4").
LISTED_NUMBERS = 4


class ChoiceKeyTooLong(ValueError):
    pass


def choices_of(payload: Mapping[str, Any]) -> tuple[Choice, ...]:
    return tuple(Choice(str(c["key"]), str(c["label"])) for c in payload.get("choices") or ())


def callback_data(choice: Choice) -> str:
    if len(choice.key.encode()) > CALLBACK_DATA_MAX_BYTES:
        raise ChoiceKeyTooLong(f"choice key over {CALLBACK_DATA_MAX_BYTES} bytes: {choice.key!r}")
    return choice.key


def telegram_keyboard(choices: Sequence[Choice]) -> dict[str, Any] | None:
    """An ``InlineKeyboardMarkup`` as the Bot API takes it, or None without choices."""
    if not choices:
        return None
    buttons = [{"text": c.label, "callback_data": callback_data(c)} for c in choices]
    if len(buttons) == 2 and all(len(c.label) <= SIDE_BY_SIDE_MAX_LABEL for c in choices):
        return {"inline_keyboard": [buttons]}
    return {"inline_keyboard": [[button] for button in buttons]}


def reply_hint(count: int, locale: str) -> str:
    """ "Reply 1, 2 or 3" in the reader's language."""
    t = translator(locale)
    if count <= 1:
        return t.gettext("Reply {number}", number=1)
    if count > LISTED_NUMBERS:
        # A long menu: "1 to 8" instead of eight numbers, which would cost an Arabic SMS.
        return t.gettext("Reply {first} to {last}", first=1, last=count)
    numbers = format_items((str(n) for n in range(1, count)), locale)
    return t.gettext("Reply {numbers} or {last}", numbers=numbers, last=count)


def numbered_text(text: str, choices: Sequence[Choice], locale: str) -> str:
    """The text, one numbered line per choice, then how to answer (SMS and WhatsApp)."""
    if not choices:
        return text
    lines = [text]
    lines += [f"{number}. {choice.label}" for number, choice in enumerate(choices, start=1)]
    lines.append(reply_hint(len(choices), locale))
    return "\n".join(lines)


def render_numbered(payload: Mapping[str, Any]) -> str:
    return numbered_text(str(payload.get("text", "")), choices_of(payload),
                         str(payload.get("locale") or "fr"))


def render_sms(payload: Mapping[str, Any]) -> list[str]:
    """The SMS that carry a payload, each within two segments (``sms_parts``)."""
    return sms_parts(render_numbered(payload))
