""""My data": everything stored about the contact, as plain text.

On SMS the list is the short one (what identifies and concerns the person: name, language,
home, consent, addresses) so that it fits in two segments in every language; the full list,
with the community, role, consent text version and message count, is shown on the other
channels and in the admin API's export. With no home linked yet, "Link my home" is offered
(``bot/flows/link_home.py``).
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
    StoredFacts,
    Who,
    say,
)
from bot.flows.language import LANGUAGE_NAMES
from bot.flows.link_home import LINK_HOME
from bot.flows.menu import HINT_CHANNELS, not_understood, show_menu
from bot.i18n.formatting import format_items, format_local_date, format_local_short_date
from core.messages import Choice, IncomingMessage
from core.models import Role

FLOW = "my_data"
LINK_HOME_KEY = "link_home"
NOT_NOW = "not_now"

# A masked address as SMS writes it: "…" is not in the GSM alphabet and would make the
# whole text UCS-2 (70 characters a segment instead of 160).
SMS_ELLIPSIS = "..."


class MyDataState(FlowData):
    # The facts were shown with "Link my home" offered (no home linked yet).
    step: Literal["offer"] = "offer"


def masked(address: str, ellipsis: str = "…") -> str:
    """Show enough of an address to recognise it, not enough to copy it."""
    return address if len(address) <= 4 else ellipsis + address[-4:]


def role_label(who: Who, role: str) -> str:
    t = who.t
    labels: dict[str, str] = {
        Role.RESIDENT: t.gettext("resident"),
        Role.FACILITATOR: t.gettext("facilitator"),
        Role.TECHNICIAN: t.gettext("technician"),
    }
    return labels.get(role, role)


def _offer(who: Who) -> tuple[Choice, Choice]:
    t = who.t
    return (Choice(LINK_HOME_KEY, t.gettext("Link my home")), Choice(NOT_NOW, t.gettext("Not now")))


class MyData(BaseFlow[MyDataState]):
    name = FLOW
    State = MyDataState
    entry = MenuEntry(order=60, label=lambda t: t.gettext("My data"))

    def start(self, message: IncomingMessage, who: Who, directory: Directory) -> FlowResult:
        facts = directory.stored_facts(who.contact_id) if who.contact_id is not None else None
        if facts is None:
            return show_menu(who)
        lines = _sms_lines(who, facts) if who.channel in HINT_CHANNELS else _lines(who, facts)
        if facts.household_ref is None and who.household is None:
            return FlowResult(replies=(say(who, "\n".join(lines), *_offer(who)),),
                              state=self.keep(MyDataState()))
        return show_menu(who, intro="\n".join(lines))

    def reprompt(self, who: Who, state: MyDataState, directory: Directory) -> FlowResult:
        return FlowResult(replies=(say(who, who.t.gettext("Link your home now?"),
                                       *_offer(who)),), state=self.keep(state))

    def step(self, message: IncomingMessage, who: Who, state: MyDataState,
             directory: Directory) -> FlowResult:
        choice = match_choice(message, _offer(who), who.locale)
        if choice is None:
            return not_understood(who)
        if choice.key == LINK_HOME_KEY:
            return LINK_HOME.start(message, who, directory)
        return show_menu(who)


MY_DATA = MyData()


def _timezone(who: Who) -> str:
    return who.community.timezone if who.community else "Europe/Brussels"


def _lines(who: Who, facts: StoredFacts) -> list[str]:
    t = who.t
    none = t.gettext("not given")
    consent = none
    if facts.consented_at is not None:
        consent = t.gettext("{date} (text version {version})",
                            date=format_local_date(facts.consented_at, _timezone(who),
                                                   who.locale),
                            version=facts.consent_version or "?")
    channels = format_items((f"{c.channel} {masked(c.address)}" for c in facts.channels),
                            who.locale) or none
    return [
        t.gettext("Here is what Voisins stores about you:"),
        t.gettext("Name: {name}", name=facts.name or none),
        t.gettext("Language: {language}", language=LANGUAGE_NAMES.get(facts.locale, facts.locale)),
        t.gettext("Role: {role}", role=role_label(who, facts.role)),
        t.gettext("Community: {community}", community=facts.community_name),
        t.gettext("Household: {household}", household=facts.household_ref or none),
        t.gettext("Consent: {consent}", consent=consent),
        t.gettext("Channels: {channels}", channels=channels),
        t.ngettext("{count} message sent to you.", "{count} messages sent to you.",
                   facts.messages_sent),
        t.gettext("Your answers and your home's energy figures are only shown to you."),
    ]


def _sms_lines(who: Who, facts: StoredFacts) -> list[str]:
    t = who.t
    none = t.gettext("not given")
    consent = none
    if facts.consented_at is not None:
        consent = format_local_short_date(facts.consented_at, _timezone(who), who.locale)
    channels = format_items((f"{c.channel} {masked(c.address, SMS_ELLIPSIS)}"
                             for c in facts.channels), who.locale) or none
    lines = [t.gettext("Name: {name}", name=facts.name or none)]
    if facts.role != Role.RESIDENT:
        lines.append(t.gettext("Role: {role}", role=role_label(who, facts.role)))
    lines += [
        t.gettext("Household: {household}", household=facts.household_ref or none),
        t.gettext("Consent: {consent}", consent=consent),
        t.gettext("Channels: {channels}", channels=channels),
    ]
    return lines
