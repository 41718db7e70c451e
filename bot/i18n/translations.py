"""gettext catalogs per locale, loaded once; message ids are English."""

from __future__ import annotations

import gettext as stdlib_gettext
import io
import logging
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from core.config import SUPPORTED_LOCALES

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"
# Wrap inserted values in Arabic text so numbers and Latin names keep their direction.
FIRST_STRONG_ISOLATE = "\u2068"
POP_DIRECTIONAL_ISOLATE = "\u2069"
RTL_LOCALES = frozenset({"ar"})

log = logging.getLogger(__name__)

__all__ = ["SUPPORTED_LOCALES", "Translator", "choose_locale", "translator"]


def _catalog_translations(locale: str) -> stdlib_gettext.NullTranslations:
    mo_path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.mo"
    po_path = mo_path.with_suffix(".po")
    mo_is_current = mo_path.exists() and (
        not po_path.exists() or mo_path.stat().st_mtime >= po_path.stat().st_mtime
    )
    if mo_is_current:
        with mo_path.open("rb") as handle:
            return Translations(handle, domain=DOMAIN)
    if po_path.exists():
        # Not compiled yet (e.g. a plain `pip install`): read the .po directly rather
        # than talk to the resident in English.
        log.warning("compiled catalog missing for %s, reading %s", locale, po_path)
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        buffer = io.BytesIO()
        write_mo(buffer, catalog, use_fuzzy=False)
        buffer.seek(0)
        return Translations(buffer, domain=DOMAIN)
    return NullTranslations()


class Translator:
    """The strings of one locale, with ``{name}`` placeholders filled safely."""

    def __init__(self, locale: str, translations: stdlib_gettext.NullTranslations) -> None:
        self.locale = locale
        self._translations = translations

    @property
    def rtl(self) -> bool:
        return self.locale in RTL_LOCALES

    def isolate(self, value: object) -> str:
        text = str(value)
        if self.rtl:
            return f"{FIRST_STRONG_ISOLATE}{text}{POP_DIRECTIONAL_ISOLATE}"
        return text

    def gettext(self, message: str, **values: object) -> str:
        text = self._translations.gettext(message)
        return self._fill(text, values)

    def ngettext(self, singular: str, plural: str, count: int, **values: object) -> str:
        text = self._translations.ngettext(singular, plural, count)
        return self._fill(text, {"count": count, **values})

    def _fill(self, text: str, values: dict[str, object]) -> str:
        if not values:
            return text
        return text.format(**{key: self.isolate(value) for key, value in values.items()})


@lru_cache(maxsize=16)
def translator(locale: str) -> Translator:
    if locale not in SUPPORTED_LOCALES:
        locale = "fr"
    return Translator(locale, _catalog_translations(locale))


def choose_locale(
    contact_locale: str | None, channel_hint: str | None, community_default: str | None
) -> str:
    """The contact's language, else the channel's hint, else the community's default."""
    for candidate in (contact_locale, _base_language(channel_hint), community_default):
        if candidate in SUPPORTED_LOCALES:
            return candidate
    return "fr"


def _base_language(hint: str | None) -> str | None:
    # Telegram sends IETF tags such as "nl-BE" or "pt-br".
    if not hint:
        return None
    return hint.replace("_", "-").split("-", 1)[0].lower()
