"""Reading "tomorrow 18:00", "3/12 17h30" or "2h30" as typed by a facilitator on a phone."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.i18n.keywords import fold

TOMORROW_WORDS = frozenset({"tomorrow", "demain", "morgen", "manana", "غدا", "بكره"})
TODAY_WORDS = frozenset({"today", "aujourd'hui", "aujourdhui", "vandaag", "hoy", "اليوم"})
_TIME = re.compile(r"(\d{1,2})\s*(?:[:hH.u]\s*(\d{2})?)?$")
_DATE = re.compile(r"(\d{1,4})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?$")


def parse_local_time(text: str) -> time | None:
    match = _TIME.fullmatch(text.strip())
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _parse_date(text: str, today: date) -> date | None:
    match = _DATE.fullmatch(text.strip())
    if not match:
        return None
    first, second, third = match.group(1), match.group(2), match.group(3)
    try:
        if len(first) == 4:  # 2026-12-03
            return date(int(first), int(second), int(third or 0))
        year = int(third) if third else today.year
        if year < 100:
            year += 2000
        parsed = date(year, int(second), int(first))  # 3/12 is the 3rd of December here
        if not third and parsed < today:
            parsed = date(year + 1, parsed.month, parsed.day)
        return parsed
    except ValueError:
        return None


def parse_when(text: str, received_at: datetime, timezone: str) -> datetime | None:
    """A local date and time → aware datetime; None when it cannot be read."""
    zone = ZoneInfo(timezone)
    local_now = received_at.astimezone(zone)
    parts = text.strip().split()
    if not parts or len(parts) > 3:
        return None
    clock = parse_local_time(parts[-1])
    if clock is None:
        return None
    head = " ".join(parts[:-1])
    folded = fold(head)
    if not head or folded in TODAY_WORDS:
        day: date | None = local_now.date()
    elif folded in TOMORROW_WORDS:
        day = local_now.date() + timedelta(days=1)
    else:
        day = _parse_date(head, local_now.date())
    if day is None:
        return None
    return datetime.combine(day, clock, tzinfo=zone)


_DURATION = re.compile(r"(?:(\d{1,2})\s*[hHuU:]\s*(\d{1,2})?|(\d{1,4})\s*(?:min|mn|m)?)$")


def parse_duration_minutes(text: str) -> int | None:
    """"3h", "2h30", "2:30", "90 min" → minutes; a bare number up to 24 is hours."""
    match = _DURATION.fullmatch(fold(text).replace(" ", ""))
    if not match:
        return None
    if match.group(1) is not None:
        return int(match.group(1)) * 60 + int(match.group(2) or 0)
    number = int(match.group(3))
    has_unit = bool(re.search(r"m", fold(text)))
    return number if has_unit or number > 24 else number * 60
