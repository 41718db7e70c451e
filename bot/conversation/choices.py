"""Reading a typed reply as one of the offered choices."""

from __future__ import annotations

from collections.abc import Sequence

from bot.i18n.keywords import fold, is_no, is_yes, parse_number
from core.messages import Choice, IncomingMessage


def match_choice(
    message: IncomingMessage, choices: Sequence[Choice], locale: str
) -> Choice | None:
    """A button press, a number ("2"), a label in the reader's language, or yes/no words."""
    if message.choice_key is not None:
        return next((c for c in choices if c.key == message.choice_key), None)
    text = message.text
    number = parse_number(text)
    if number is not None:
        return choices[number - 1] if 1 <= number <= len(choices) else None
    folded = fold(text)
    if not folded:
        return None
    for choice in choices:
        if fold(choice.label) == folded:
            return choice
    keys = {c.key: c for c in choices}
    if "yes" in keys and is_yes(text, locale):
        return keys["yes"]
    if "no" in keys and is_no(text, locale):
        return keys["no"]
    return None
