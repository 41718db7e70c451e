"""Dates, times, durations, energy and percentages as the reader writes them, in the
community's timezone.

Babel puts a non-breaking space between a number and its unit ("2 heures", "12 %"); one
such character makes a whole SMS UCS-2 (two segments instead of one), and a chat wraps a
plain space just as well, so what comes out of here uses plain spaces.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_decimal, format_percent
from babel.units import format_unit

from bot.i18n.translations import translator
from core.clock import as_utc

_NO_BREAK_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " "})
# Spanish writes "3 de diciembre de 2026"; CLDR's patterns for the others need no help.
_DAY_MONTH = {"es": "EEEE d 'de' MMMM"}
_DAY_MONTH_YEAR = {"es": "d 'de' MMMM 'de' y"}
# Babel's Arabic "ك.و.س" is not what our texts say: one word for kWh everywhere.
_KWH_UNIT = {"ar": "كيلوواط ساعة"}
# Arabic separates list items with its own comma and semicolon.
_COMMA = {"ar": "، "}
_SEMICOLON = {"ar": "؛ "}


def plain_spaces(text: str) -> str:
    return text.translate(_NO_BREAK_SPACES)


def local(moment: datetime, timezone: str) -> datetime:
    return as_utc(moment).astimezone(ZoneInfo(timezone))


# The translated patterns below are filled with ``str.format``, not by the translator: their
# parts are not isolated one by one, the whole is, where a message inserts it (Arabic).

def _at(day: str, time: str, locale: str) -> str:
    return translator(locale).gettext("{day} at {time}").format(day=day, time=time)


def format_local_datetime(moment: datetime, timezone: str, locale: str) -> str:
    """E.g. fr: 'jeudi 3 décembre à 18:00', es: 'jueves 3 de diciembre a las 18:00'."""
    when = local(moment, timezone)
    day = format_date(when, _DAY_MONTH.get(locale, "EEEE d MMMM"), locale=locale)
    return _at(day, format_time(when, "HH:mm", locale=locale), locale)


def format_local_day_time(moment: datetime, timezone: str, locale: str) -> str:
    """A moment in the coming week: fr 'jeudi à 18:00', en 'Thursday at 18:00'."""
    when = local(moment, timezone)
    return _at(format_date(when, "EEEE", locale=locale),
               format_time(when, "HH:mm", locale=locale), locale)


def format_local_date(moment: datetime, timezone: str, locale: str) -> str:
    return format_date(local(moment, timezone), _DAY_MONTH_YEAR.get(locale, "d MMMM y"),
                       locale=locale)


def format_local_short_date(moment: datetime, timezone: str, locale: str) -> str:
    """E.g. fr: '22 nov. 2026', en: '22 Nov 2026': a date that fits in an SMS."""
    return format_date(local(moment, timezone), "d MMM y", locale=locale)


def format_local_time(moment: datetime, timezone: str, locale: str) -> str:
    return format_time(local(moment, timezone), "HH:mm", locale=locale)


def format_duration(minutes: int, locale: str) -> str:
    """E.g. fr: '45 minutes', '2 heures', '2 heures et 30 minutes'; ar: 'ساعتان'."""
    hours, rest = divmod(minutes, 60)
    in_minutes = plain_spaces(format_unit(rest, "duration-minute", length="long",
                                          locale=locale))
    if hours == 0:
        return in_minutes
    in_hours = plain_spaces(format_unit(hours, "duration-hour", length="long", locale=locale))
    if rest == 0:
        return in_hours
    return translator(locale).gettext("{hours} and {minutes}").format(hours=in_hours,
                                                                       minutes=in_minutes)


def format_kwh(value: float, locale: str) -> str:
    unit = _KWH_UNIT.get(locale)
    if unit is not None:
        return f"{format_number(round(value, 1), locale)} {unit}"
    return plain_spaces(format_unit(round(value, 1), "energy-kilowatt-hour", length="short",
                                    locale=locale))


def format_percentage(fraction: float, locale: str) -> str:
    """``fraction`` is 0.12 for 12 %."""
    return plain_spaces(format_percent(fraction, locale=locale))


def format_number(value: float, locale: str) -> str:
    return plain_spaces(format_decimal(value, locale=locale))


def format_items(items: Iterable[str], locale: str, long_items: bool = False) -> str:
    """Items of a list, separated as the reader's language does: "a, b" (Arabic "a، b"), or
    for items that are phrases themselves "a; b" (Arabic "a؛ b")."""
    if long_items:
        return _SEMICOLON.get(locale, "; ").join(items)
    return _COMMA.get(locale, ", ").join(items)


def language_name(code: str) -> str:
    """A language's name in itself, as written inside a sentence: 'français', 'español',
    'Nederlands', 'English', 'العربية' (the language menu capitalises its own labels)."""
    return Locale.parse(code).get_language_name(code) or code
