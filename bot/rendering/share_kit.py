"""The share kit for WhatsApp groups, where no API lets a bot post.

The facilitator forwards a ready-made message (one per language) into the neighbours' group;
``https://wa.me/?text=...`` opens WhatsApp with it typed in, and
``https://wa.me/<bot number>?text=JOIN%20CODE`` starts a 1:1 chat with the bot, code included.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from bot.i18n import translator


@dataclass(frozen=True)
class ShareKit:
    locale: str
    text: str
    share_link: str
    join_link: str | None
    telegram_link: str | None = None


def join_link(whatsapp_number: str, join_code: str) -> str:
    digits = "".join(ch for ch in whatsapp_number.removeprefix("whatsapp:") if ch.isdigit())
    return f"https://wa.me/{digits}?text={quote(f'JOIN {join_code}')}"


def telegram_start_link(bot_username: str, join_code: str) -> str:
    # Telegram start parameters allow only A-Z, a-z, 0-9, _ and -.
    return f"https://t.me/{bot_username.lstrip('@')}?start={quote(join_code)}"


def share_kits(community_name: str, join_code: str, locales: Iterable[str],
               whatsapp_number: str | None = None, telegram_bot: str | None = None
               ) -> list[ShareKit]:
    kits = []
    wa_link = join_link(whatsapp_number, join_code) if whatsapp_number else None
    tg_link = telegram_start_link(telegram_bot, join_code) if telegram_bot else None
    for locale in locales:
        t = translator(locale)
        lines = [t.gettext(
            "Our energy community {community} has a chat assistant, Voisins: it warns us "
            "before grid alerts and shares our results as a group.", community=community_name)]
        if wa_link:
            lines.append(t.gettext("Join on WhatsApp: {link}", link=wa_link))
        if tg_link:
            lines.append(t.gettext("Join on Telegram: {link}", link=tg_link))
        lines.append(t.gettext("Or send JOIN {code} by SMS or chat.", code=join_code))
        text = "\n".join(lines)
        kits.append(ShareKit(locale=locale, text=text,
                             share_link=f"https://wa.me/?text={quote(text)}",
                             join_link=wa_link, telegram_link=tg_link))
    return kits
