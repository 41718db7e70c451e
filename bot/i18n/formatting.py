"""Dates, times, energy and percentages as the reader writes them, in the community's timezone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_decimal, format_percent
from babel.units import format_unit

from core.clock import as_utc


def local(moment: datetime, timezone: str) -> datetime:
    return as_utc(moment).astimezone(ZoneInfo(timezone))


def format_local_datetime(moment: datetime, timezone: str, locale: str) -> str:
    """E.g. fr: 'mardi 3 décembre à 18:00'; short enough for an SMS."""
    when = local(moment, timezone)
    return format_datetime(when, "EEEE d MMMM, HH:mm", locale=locale)


def format_local_date(moment: datetime, timezone: str, locale: str) -> str:
    return format_date(local(moment, timezone), "d MMMM y", locale=locale)


def format_local_short_date(moment: datetime, timezone: str, locale: str) -> str:
    """E.g. fr: '22 nov. 2026', en: '22 Nov 2026': a date that fits in an SMS."""
    return format_date(local(moment, timezone), "d MMM y", locale=locale)


def format_local_time(moment: datetime, timezone: str, locale: str) -> str:
    return format_time(local(moment, timezone), "HH:mm", locale=locale)


def format_kwh(value: float, locale: str) -> str:
    return format_unit(round(value, 1), "energy-kilowatt-hour", length="short", locale=locale)


def format_percentage(fraction: float, locale: str) -> str:
    """``fraction`` is 0.12 for 12 %."""
    return format_percent(fraction, locale=locale)


def format_number(value: float, locale: str) -> str:
    return format_decimal(value, locale=locale)
