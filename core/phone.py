"""Phone numbers are stored in E.164 so that one person has one identity per channel."""

from __future__ import annotations

import phonenumbers


class InvalidPhoneNumber(ValueError):
    pass


def normalise_phone(raw: str, default_region: str = "BE") -> str:
    """Return ``raw`` in E.164 (``+32470123456``); WhatsApp's ``whatsapp:`` prefix is dropped."""
    text = raw.strip()
    if text.lower().startswith("whatsapp:"):
        text = text.split(":", 1)[1]
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"not a phone number: {raw!r}") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhoneNumber(f"not a possible phone number: {raw!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
