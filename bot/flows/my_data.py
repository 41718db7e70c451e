""""My data": everything stored about the contact, as plain text.

On SMS the list is the short one (what identifies and concerns the person: name, language,
home, consent, addresses) so that it fits in two segments in every language; the full list,
with the community, role, consent text version and message count, is shown on the other
channels and in the admin API's export.
"""

from __future__ import annotations

from bot.flows.base import Directory, FlowResult, FlowState, StoredFacts, Who
from bot.flows.language import LANGUAGE_NAMES
from bot.flows.menu import HINT_CHANNELS, menu_message
from bot.i18n.formatting import format_items, format_local_date, format_local_short_date
from core.messages import IncomingMessage

# A masked address as SMS writes it: "…" is not in the GSM alphabet and would make the
# whole text UCS-2 (70 characters a segment instead of 160).
SMS_ELLIPSIS = "..."


def masked(address: str, ellipsis: str = "…") -> str:
    """Show enough of an address to recognise it, not enough to copy it."""
    return address if len(address) <= 4 else ellipsis + address[-4:]


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
    facts = directory.stored_facts(who.contact_id) if who.contact_id is not None else None
    if facts is None:
        return FlowResult(replies=(menu_message(who),), state=FlowState("menu", "choose"))
    lines = _sms_lines(who, facts) if who.channel in HINT_CHANNELS else _lines(who, facts)
    return FlowResult(replies=(menu_message(who, intro="\n".join(lines)),),
                      state=FlowState("menu", "choose"))


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
    if facts.role != "resident":
        lines.append(t.gettext("Role: {role}", role=role_label(who, facts.role)))
    lines += [
        t.gettext("Household: {household}", household=facts.household_ref or none),
        t.gettext("Consent: {consent}", consent=consent),
        t.gettext("Channels: {channels}", channels=channels),
    ]
    return lines
