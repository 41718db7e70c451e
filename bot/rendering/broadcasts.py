"""Broadcasts worded for their readers, and the progress line a facilitator watches.

The facilitator's text goes as written, in the reader's language when they wrote one, else
in their own; the frame around it ("News from Les Voisins:") is always in the reader's
language. A linked group gets the community language's version.
"""

from __future__ import annotations

from bot.i18n import Translator, choose_locale, translator
from core.broadcasts import Broadcast, text_for
from core.messages import RenderedMessage
from core.models import Community, Contact
from core.progress import DeliveryCounts

KIND_BROADCAST = "broadcast"


def news_text(t: Translator, community_name: str, text: str) -> str:
    return t.gettext("News from {community}:", community=community_name) + "\n" + text


def preview_lines(texts: dict[str, str], source_locale: str, community_name: str,
                  locales: tuple[str, ...]) -> list[str]:
    """What readers of each language will read, one "[xx] ..." block per language."""
    draft = Broadcast(community_id=0, texts=texts, source_locale=source_locale)
    return [f"[{locale}] " + news_text(translator(locale), community_name,
                                       text_for(draft, locale)[0]) for locale in locales]


def broadcast_message(broadcast: Broadcast, community: Community, contact: Contact | None
                      ) -> RenderedMessage:
    """The broadcast for ``contact``, or for a linked group when None."""
    locale = choose_locale(contact.locale if contact else None, None,
                           community.default_locale)
    text, _ = text_for(broadcast, locale)
    return RenderedMessage(kind=KIND_BROADCAST, payload={
        "text": news_text(translator(locale), community.name, text), "locale": locale,
        "choices": []})


def progress_text(locale: str, counts: DeliveryCounts, done: bool, cancelled: bool) -> str:
    """ "Sent 180 of 312 (3 failed)…", then how it ended."""
    t = translator(locale)
    values = {"sent": counts.sent, "total": counts.total, "failed": counts.failed,
              "held": counts.held_back}
    if cancelled and done:
        return t.gettext("Cancelled: {sent} of {total} sent, {held} held back.", **values)
    if done and counts.failed:
        return t.gettext("Done: sent {sent} of {total} ({failed} failed).", **values)
    if done:
        return t.gettext("Done: sent {sent} of {total}.", **values)
    if counts.failed:
        return t.gettext("Sent {sent} of {total} ({failed} failed)…", **values)
    return t.gettext("Sent {sent} of {total}…", **values)
