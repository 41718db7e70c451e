""""My consumption": a resident picks a chart of their own home's electricity.

The flow stays pure: it asks for a chart with a ``SendChart`` effect, and the inbox renders
it (``bot/rendering/energy_charts.py``) from the household's data only.
"""

from __future__ import annotations

from bot.conversation.choices import match_choice
from bot.flows.base import Directory, FlowResult, FlowState, SendChart, Who, say
from bot.flows.menu import menu_message
from bot.i18n import Translator
from core.messages import Choice, IncomingMessage
from core.models import Role

FLOW = "consumption"
CHART_KINDS = ("week", "typical", "alert")


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


def start(message: IncomingMessage, who: Who, state: FlowState, directory: Directory
          ) -> FlowResult:
    if who.household is None or not directory.household_has_meter(who.household.id):
        return FlowResult(replies=(menu_message(who, intro=no_meter_text(who.t, who.role)),),
                          state=FlowState("menu", "choose"))
    return reprompt(who, FlowState(flow=FLOW, step="choose"))


def reprompt(who: Who, state: FlowState) -> FlowResult:
    text = who.t.gettext("Which chart would you like?")
    return FlowResult(replies=(say(who, text, *_choices(who)),), state=state)


def step(message: IncomingMessage, who: Who, state: FlowState) -> FlowResult:
    choice = match_choice(message, _choices(who), who.locale)
    if choice is None:
        text = who.t.gettext("Please reply with 1, 2 or 3.")
        return FlowResult(replies=(say(who, text, *_choices(who)),), state=state)
    return FlowResult(replies=(), state=FlowState("menu", "choose"),
                      effects=(SendChart(choice.key),))
