"""What goes on the printed invitation cards facilitators hand out door to door: one card per
household, with the community's name, the household code, a QR code for Telegram
(``https://t.me/<bot>?start=<join code>``) and one for WhatsApp
(``https://wa.me/<number>?text=JOIN <join code>``), and how to join by SMS, in the languages
asked for. The links are the share kit's; a channel this deployment does not have is left
out, never named. ``bot/rendering/card_pdf.py`` lays the cards out on A4 sheets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from bot.i18n import translator
from bot.rendering.share_kit import join_link, phone_number, telegram_start_link
from core.communities import community_locales
from core.config import Settings
from core.models import Cluster, Community, Household

# A card is an eighth of an A4 sheet: three languages is what stays readable on it.
MAX_CARD_LANGUAGES = 3


@dataclass(frozen=True)
class CardText:
    locale: str
    rtl: bool
    lines: tuple[str, ...]


@dataclass(frozen=True)
class InvitationCard:
    community: str
    household_ref: str
    household_code: str
    code_label: str
    telegram_link: str | None
    whatsapp_link: str | None
    texts: tuple[CardText, ...]


@dataclass(frozen=True)
class Ways:
    """How residents reach this deployment: each None when it is not configured."""

    telegram_bot: str | None = None
    whatsapp_number: str | None = None
    sms_number: str | None = None

    @classmethod
    def of(cls, settings: Settings) -> Ways:
        senders = settings.sms_senders()
        return cls(telegram_bot=settings.telegram_bot_username,
                   whatsapp_number=settings.twilio_whatsapp_from,
                   sms_number=senders[0] if senders else None)


def card_texts(locale: str, join_code: str, household_code: str, ways: Ways,
               has_qr: bool) -> CardText:
    t = translator(locale)
    lines = []
    sms = phone_number(ways.sms_number)
    if has_qr:
        lines.append(t.gettext("Scan a code with your phone's camera to chat with Voisins."))
    if sms:
        # "JOIN CODE" as one value: inside Arabic it stays one left-to-right unit, typed
        # as it reads.
        lines.append(t.gettext("By SMS: send {command} to {number}.",
                               command=f"JOIN {join_code}", number=sms))
    if not has_qr and not sms:
        lines.append(t.gettext("Send {command} to Voisins.", command=f"JOIN {join_code}"))
    lines.append(t.gettext("When asked, type your household code: {household}.",
                           household=household_code))
    return CardText(locale=locale, rtl=t.rtl, lines=tuple(lines))


def invitation_cards(community_name: str, join_code: str,
                     households: Sequence[tuple[str, str]], locales: Sequence[str],
                     ways: Ways) -> list[InvitationCard]:
    """One card per (ref, code) household, its texts in ``locales`` (the first one labels
    the code)."""
    telegram = telegram_start_link(ways.telegram_bot, join_code) if ways.telegram_bot else None
    whatsapp = join_link(ways.whatsapp_number, join_code) if ways.whatsapp_number else None
    has_qr = bool(telegram or whatsapp)
    label = translator(locales[0]).gettext("Household code")
    return [InvitationCard(community=community_name, household_ref=ref, household_code=code,
                           code_label=label, telegram_link=telegram, whatsapp_link=whatsapp,
                           texts=tuple(card_texts(locale, join_code, code, ways, has_qr)
                                       for locale in locales[:MAX_CARD_LANGUAGES]))
            for ref, code in households]


def community_cards(session: Session, community: Community, ways: Ways,
                    locales: Sequence[str] = (), cluster: Cluster | None = None
                    ) -> list[InvitationCard]:
    """The cards of a community's households (of one cluster), by ref. Without ``locales``:
    the community's languages (``community_locales``), as many as fit."""
    query = select(Household.ref, Household.code).where(
        Household.community_id == community.id)
    if cluster is not None:
        query = query.where(Household.cluster_id == cluster.id)
    households = [(ref, code) for ref, code in session.exec(query.order_by(col(Household.ref)))]
    chosen = list(dict.fromkeys(locales)) or community_locales(session, community)
    return invitation_cards(community.name, community.join_code, households,
                            chosen[:MAX_CARD_LANGUAGES], ways)
