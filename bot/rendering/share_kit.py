"""The share kit for WhatsApp groups, where no API lets a bot post.

The facilitator forwards a ready-made message (one per language) into the neighbours' group;
``https://wa.me/?text=...`` opens WhatsApp with it typed in. Each message gives every way in
that this deployment has: ``https://wa.me/<bot number>?text=JOIN%20CODE`` (a 1:1 WhatsApp
chat with the bot, code included), ``https://t.me/<bot>?start=CODE`` (Telegram, likewise) and
the SMS number to send JOIN CODE to. A way that is not configured is left out, never named.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from bot.i18n import translator
from bot.rendering.workshops import frame
from core.config import SUPPORTED_LOCALES
from core.models import Community
from core.workshop_tables import Workshop


@dataclass(frozen=True)
class ShareKit:
    locale: str
    text: str
    share_link: str
    join_link: str | None
    telegram_link: str | None = None
    sms_number: str | None = None


def kit_locales(default_locale: str) -> list[str]:
    """Every language the bot speaks, the community's own first: a group's neighbours may
    speak any of them, whoever has joined so far."""
    return sorted(SUPPORTED_LOCALES, key=lambda locale: locale != default_locale)


def join_link(whatsapp_number: str, join_code: str) -> str:
    digits = "".join(ch for ch in whatsapp_number.removeprefix("whatsapp:") if ch.isdigit())
    return f"https://wa.me/{digits}?text={quote(f'JOIN {join_code}')}"


def telegram_start_link(bot_username: str, join_code: str) -> str:
    # Telegram start parameters allow only A-Z, a-z, 0-9, _ and -.
    return f"https://t.me/{bot_username.strip().lstrip('@')}?start={quote(join_code)}"


def phone_number(sender: str | None) -> str | None:
    """The number residents can text, or None (unset, or a Messaging Service id)."""
    if not sender:
        return None
    number = sender.strip()
    return number if number.lstrip("+").isdigit() else None


def share_kits(community_name: str, join_code: str, locales: Iterable[str],
               whatsapp_number: str | None = None, telegram_bot: str | None = None,
               sms_number: str | None = None) -> list[ShareKit]:
    kits = []
    wa_link = join_link(whatsapp_number, join_code) if whatsapp_number else None
    tg_link = telegram_start_link(telegram_bot, join_code) if telegram_bot else None
    sms = phone_number(sms_number)
    for locale in locales:
        t = translator(locale)
        lines = [t.gettext(
            "Our energy community {community} has a chat assistant, Voisins: it warns us "
            "before grid alerts and shares our results as a group.", community=community_name)]
        # A link is not wrapped in direction isolates (Arabic): an app might take the
        # invisible mark after it for part of the address.
        if wa_link:
            lines.append(t.gettext("Join on WhatsApp: {link}").format(link=wa_link))
        if tg_link:
            lines.append(t.gettext("Join on Telegram: {link}").format(link=tg_link))
        if sms:
            lines.append(t.gettext("Join by SMS: send JOIN {code} to {number}.",
                                   code=join_code, number=sms))
        if not (wa_link or tg_link or sms):
            lines.append(t.gettext("Our join code: {code}", code=join_code))
        text = "\n".join(lines)
        kits.append(ShareKit(locale=locale, text=text,
                             share_link=f"https://wa.me/?text={quote(text)}",
                             join_link=wa_link, telegram_link=tg_link, sms_number=sms))
    return kits


def invitation_text(workshop: Workshop, community: Community, locale: str,
                    telegram_bot: str | None = None) -> str:
    """A workshop invitation for a group (a linked Telegram group, a WhatsApp group the
    facilitator forwards it to): nothing personal and no answer buttons, since everyone
    would see who pressed what; people answer the bot privately."""
    t = translator(locale)
    lines = [t.gettext("Voisins: you are invited!"),
             frame(workshop, community.timezone, locale)]
    if telegram_bot:
        lines.append(t.gettext("To answer, write to me privately: {link}").format(
            link=telegram_start_link(telegram_bot, community.join_code)))
    else:
        lines.append(t.gettext("To answer, write to Voisins privately (send MENU)."))
    return "\n".join(lines)


def invitation_kits(workshop: Workshop, community: Community, locales: Iterable[str],
                    whatsapp_number: str | None = None) -> list[ShareKit]:
    """The invitation per language, ready to forward to a WhatsApp group: answering means
    writing to the bot (its WhatsApp chat, with the community's code)."""
    wa_link = join_link(whatsapp_number, community.join_code) if whatsapp_number else None
    kits = []
    for locale in locales:
        t = translator(locale)
        lines = [t.gettext("Voisins: you are invited!"),
                 frame(workshop, community.timezone, locale)]
        if wa_link:
            lines.append(t.gettext("To answer, write to Voisins on WhatsApp: {link}").format(
                link=wa_link))
        else:
            lines.append(t.gettext("To answer, write to Voisins privately (send MENU)."))
        text = "\n".join(lines)
        kits.append(ShareKit(locale=locale, text=text,
                             share_link=f"https://wa.me/?text={quote(text)}",
                             join_link=wa_link))
    return kits
