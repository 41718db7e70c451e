""""My consumption": a resident picks a chart of their own home's electricity.

The flow stays pure: it asks for a chart with a ``SendChart`` effect, and the inbox renders
it (``bot/rendering/energy_charts.py``) from the household's data only. The flow's own reply
is the menu (on SMS the hint), which the inbox sends after the chart.
"""

from __future__ import annotations

from typing import Literal

from bot.conversation.choices import match_choice
from bot.flows.base import (
    BaseFlow,
    Directory,
    FlowData,
    FlowResult,
    MenuEntry,
    SendChart,
    Who,
    say,
)
from bot.flows.menu import menu_after, show_menu
from bot.i18n import Translator
from core.messages import Choice, IncomingMessage
from core.models import Role

FLOW = "consumption"
CHART_KINDS = ("week", "typical", "alert")


class ConsumptionState(FlowData):
    step: Literal["choose"] = "choose"


def _choices(who: Who) -> tuple[Choice, ...]:
    t = who.t
    return (Choice("week", t.gettext("My last 7 days")),
            Choice("typical", t.gettext("My typical week")),
            Choice("alert", t.gettext("The last alert")))


def no_meter_text(t: Translator, role: str = Role.RESIDENT.value) -> str:
    # Pointing a facilitator to "your facilitator" would point them to themselves.
    if role != Role.RESIDENT.value:
        return t.gettext("Your home has no meter linked yet, so I have no chart for you. "
                         "Meters are linked to homes through the admin API.")
    return t.gettext(
        "Your home has no meter linked yet, so I have no chart for you. "
        "Your facilitator can help with that.")


class Consumption(BaseFlow[ConsumptionState]):
    name = FLOW
    State = ConsumptionState
    entry = MenuEntry(order=50, label=lambda t: t.gettext("My consumption"))

    def start(self, message: IncomingMessage, who: Who, directory: Directory) -> FlowResult:
        if who.household is None or not directory.household_has_meter(who.household.id):
            return show_menu(who, intro=no_meter_text(who.t, who.role))
        return self.reprompt(who, ConsumptionState(), directory)

    def reprompt(self, who: Who, state: ConsumptionState, directory: Directory) -> FlowResult:
        text = who.t.gettext("Which chart would you like?")
        return FlowResult(replies=(say(who, text, *_choices(who)),), state=self.keep(state))

    def step(self, message: IncomingMessage, who: Who, state: ConsumptionState,
             directory: Directory) -> FlowResult:
        choice = match_choice(message, _choices(who), who.locale)
        if choice is None:
            text = who.t.gettext("Please reply with 1, 2 or 3.")
            return FlowResult(replies=(say(who, text, *_choices(who)),), state=self.keep(state))
        closing = menu_after(who)
        return FlowResult(replies=closing.replies, state=closing.state,
                          effects=(SendChart(choice.key),))


CONSUMPTION = Consumption()
