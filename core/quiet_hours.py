"""Quiet hours: questionnaires, reminders and results wait for morning. Alerts do not."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.clock import as_utc


def parse_quiet_hours(spec: str) -> tuple[time, time]:
    """"22:00-08:00" → (22:00, 08:00). Raises ValueError on a malformed spec."""
    start_text, end_text = spec.split("-", 1)
    return time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip())


def in_quiet_hours(moment: datetime, spec: str, timezone: str) -> bool:
    start, end = parse_quiet_hours(spec)
    local = as_utc(moment).astimezone(ZoneInfo(timezone)).time()
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_hours_shift(moment: datetime, spec: str, timezone: str) -> datetime:
    """``moment`` itself, or the end of the quiet hours it falls in (as UTC)."""
    if not in_quiet_hours(moment, spec, timezone):
        return as_utc(moment)
    _, end = parse_quiet_hours(spec)
    zone = ZoneInfo(timezone)
    local = as_utc(moment).astimezone(zone)
    candidate = datetime.combine(local.date(), end, tzinfo=zone)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=zone)
    return as_utc(candidate)
