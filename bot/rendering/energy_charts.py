"""Rendering a resident's own chart for the chat: their household's data, nobody else's."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.flows.base import Who
from bot.flows.consumption import no_meter_text
from bot.flows.results import own_result_text
from bot.i18n import translator
from core.alerts import Alert, AlertStatus
from core.clock import as_utc
from core.media import store_png
from core.messages import OutgoingMessage
from core.models import Community, Contact, Household
from meters.analysis.service import household_impact, latest_measured_alert
from meters.charts import chart_last_week, chart_typical_week, last_alert_window
from meters.store import load_household_energy

# The usual curve needs the weeks before; the typical week is a season's worth.
HISTORY = timedelta(weeks=9)
TYPICAL_HISTORY = timedelta(weeks=13)


def chart_reply(session: Session, who: Who, contact: Contact, kind: str, now: datetime
                ) -> OutgoingMessage:
    # The menu (or the hint) comes after, from the flow that asked for the chart.
    t = translator(who.locale)
    timezone = who.community.timezone if who.community else "Europe/Brussels"
    if contact.household_id is None:
        return OutgoingMessage(text=no_meter_text(t, who.role), locale=who.locale)
    history = TYPICAL_HISTORY if kind == "typical" else HISTORY
    energy = load_household_energy(session, [contact.household_id], start=now - history,
                                   end=now)
    if energy["kwh"].notna().sum() < 96:  # less than a day of valid data
        return OutgoingMessage(text=t.gettext(
            "I don't have enough readings from your meter yet to draw a chart. "
            "Please try again in a few days."), locale=who.locale)
    if kind == "alert":
        own = _own_alert_result(session, who, contact, now)
        if own is not None:
            return own
    if kind == "typical":
        chart = chart_typical_week(energy, timezone=timezone, locale=who.locale,
                                   gettext=t.gettext)
    else:
        windows = _recent_alerts(session, contact.community_id, now)
        chart = chart_last_week(energy, now=now, timezone=timezone, locale=who.locale,
                                gettext=t.gettext, last_alert=last_alert_window(windows, now))
    token = store_png(session, chart.png, now)
    return OutgoingMessage(text=chart.caption, locale=who.locale, kind="chart",
                           extra={"image_token": token})


def _recent_alerts(session: Session, community_id: int, now: datetime
                   ) -> list[tuple[datetime, datetime]]:
    rows = session.exec(select(Alert).where(
        Alert.community_id == community_id, Alert.status != AlertStatus.CANCELLED.value,
        col(Alert.starts_at) >= now - timedelta(days=7), col(Alert.starts_at) <= now)).all()
    return [(as_utc(a.starts_at), as_utc(a.ends_at)) for a in rows]


def _own_alert_result(session: Session, who: Who, contact: Contact, now: datetime
                      ) -> OutgoingMessage | None:
    """The resident's own figures for their last measured alert, on their 7-day chart with
    the alert shaded. None when no alert was measured yet (the plain 7-day chart follows)."""
    household = session.get(Household, contact.household_id) if contact.household_id else None
    community = session.get(Community, contact.community_id)
    if household is None or household.id is None or community is None:
        return None
    alert = latest_measured_alert(session, household, now)
    if alert is None or alert.id is None:
        return None
    t = translator(who.locale)
    text = own_result_text(t, alert, community, household_impact(session, alert.id,
                                                                 household.id), who.role)
    energy = load_household_energy(session, [household.id], start=now - HISTORY, end=now)
    chart = chart_last_week(energy, now=now, timezone=community.timezone, locale=who.locale,
                            gettext=t.gettext,
                            last_alert=(as_utc(alert.starts_at), as_utc(alert.ends_at))
                            if now - as_utc(alert.starts_at) <= timedelta(days=7) else None)
    token = store_png(session, chart.png, now)
    return OutgoingMessage(text=text, locale=who.locale, kind="chart",
                           extra={"image_token": token})
