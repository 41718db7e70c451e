""""My data": everything stored about the contact, as plain text."""

from __future__ import annotations

from bot.flows.base import Directory, FlowResult, FlowState, Who
from bot.flows.language import LANGUAGE_NAMES
from bot.flows.menu import menu_message
from bot.i18n.formatting import format_local_date
from bot.messages import IncomingMessage


def masked(address: str) -> str:
    """Show enough of an address to recognise it, not enough to copy it."""
    return address if len(address) <= 4 else "…" + address[-4:]


def role_label(who: Who, role: str) -> str:
    t = who.t
    labels = {
        "resident": t.gettext("resident"),
        "facilitator": t.gettext("facilitator"),
        "technician": t.gettext("technician"),
    }
    return labels.get(role, role)


def start(message: IncomingMessage, who: Who, state: FlowState,
          directory: Directory) -> FlowResult:
    t = who.t
    facts = directory.stored_facts(who.contact_id) if who.contact_id is not None else None
    if facts is None:
        return FlowResult(replies=(menu_message(who),), state=FlowState("menu", "choose"))
    none = t.gettext("not given")
    timezone = who.community.timezone if who.community else "Europe/Brussels"
    consent = none
    if facts.consented_at is not None:
        consent = t.gettext("{date} (text version {version})",
                            date=format_local_date(facts.consented_at, timezone, who.locale),
                            version=facts.consent_version or "?")
    channels = ", ".join(f"{c.channel} {masked(c.address)}" for c in facts.channels) or none
    lines = [
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
    return FlowResult(replies=(menu_message(who, intro="\n".join(lines)),),
                      state=FlowState("menu", "choose"))
