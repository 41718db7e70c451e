"""A resident's own chart: asked for in the conversation, drawn by the dispatcher.

The inbox only records what to draw (``chart_request``): an outbox row of kind ``chart``
whose payload names the chart and the household. Just before the row is sent, the
dispatcher calls ``ChartPreparer``: one call into ``meters`` loads what the chart needs
(``meters.resident_chart``), the chart is worded and drawn outside any transaction, and a
short one keeps the PNG (``core.media``) and the finished payload in the row, so a retry
sends the same chart without drawing it again. An inbound message's transaction, and so
the webhook that waits for it, never waits on matplotlib (70-175 ms a chart).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from bot.flows.alert import drill_label
from bot.flows.base import Who
from bot.flows.consumption import no_meter_text
from bot.flows.results import community_result_text, own_result_words
from bot.i18n import translator
from core.db import session_scope
from core.media import store_png
from core.messages import OutgoingMessage
from core.models import Contact, OutboxMessage, Role
from core.outbox import KIND_CHART
from meters.charts import chart_last_week, chart_typical_week
from meters.resident_chart import CHART_KINDS, ChartKind, ResidentChartData, resident_chart_data

# The payload key of a chart still to draw: {"chart": kind, "household_id": id}.
DRAW = "draw"


def chart_request(who: Who, contact: Contact, kind: str) -> OutgoingMessage:
    """The reply to a chart request: a row for the dispatcher to draw (nothing drawn here)."""
    if contact.household_id is None:
        # The menu (or the hint) follows, from the flow that asked for the chart.
        return OutgoingMessage(text=no_meter_text(who.t, who.role), locale=who.locale)
    return OutgoingMessage(text="", locale=who.locale, kind=KIND_CHART,
                           extra={DRAW: {"chart": kind, "household_id": contact.household_id,
                                        "role": str(who.role)}})


@dataclass(frozen=True)
class ChartReply:
    text: str
    png: bytes | None = None


def word_and_draw(data: ResidentChartData, locale: str, now: datetime,
                  role: str = Role.RESIDENT.value) -> ChartReply:
    """The resident's words and picture for what ``meters`` found."""
    t = translator(locale)
    if not data.enough_data:
        return ChartReply(t.gettext(
            "I don't have enough readings from your meter yet to draw a chart. "
            "Please try again in a few days."))
    if data.kind == "typical":
        typical = chart_typical_week(data.energy, timezone=data.timezone, locale=locale,
                                     gettext=t.gettext)
        return ChartReply(typical.caption, typical.png)
    week = chart_last_week(data.energy, now=now, timezone=data.timezone, locale=locale,
                           gettext=t.gettext, last_alert=data.shaded_alert, end=data.week_end)
    if data.kind != "alert":
        return ChartReply(week.caption, week.png)
    if data.measured_alert is None:
        return ChartReply(t.gettext("No alert has been measured for your home yet, so here "
                                    "are your last 7 days.") + "\n" + week.caption, week.png)
    alert = data.measured_alert
    text = own_result_words(t, alert.start, data.timezone, alert.impact, role, alert.drill)
    if alert.group is not None:
        # The group's figure under one's own: the message every member was sent after it.
        group = community_result_text(t, alert.group)
        text += "\n" + (drill_label(t, group) if alert.drill else group)
    return ChartReply(text, week.png)


Draw = Callable[[ResidentChartData, str, datetime, str], ChartReply]


@dataclass(frozen=True)
class ChartPreparer:
    """The dispatcher's payload preparer for rows of kind ``chart``."""

    draw: Draw = word_and_draw

    def __call__(self, engine: Engine, row: OutboxMessage, now: datetime
                 ) -> dict[str, Any] | None:
        request = row.payload.get(DRAW)
        if not isinstance(request, dict):
            return None  # already drawn (a retry), or a chart made elsewhere
        locale = str(row.payload.get("locale") or "fr")
        kind = str(request.get("chart"))
        chart_kind: ChartKind = kind if kind in CHART_KINDS else "week"
        with Session(engine) as session:
            try:
                data = resident_chart_data(session, int(request["household_id"]), chart_kind,
                                           now)
            except LookupError:  # the household is gone (erased) since the request
                data = None
        # Drawn with no transaction open: another webhook gets the database meanwhile.
        role = str(request.get("role") or Role.RESIDENT.value)
        reply = self.draw(data, locale, now, role) if data is not None else ChartReply(
            no_meter_text(translator(locale), role))
        payload = {key: value for key, value in row.payload.items() if key != DRAW}
        payload.update(text=reply.text, chart=kind)
        with session_scope(engine) as session:
            if reply.png is not None:
                payload["image_token"] = store_png(session, reply.png, now)
            session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == row.id)
                            .values(payload=payload))
        return payload
