"""Translation lookup and locale-aware formatting."""

from bot.i18n.translations import SUPPORTED_LOCALES, Translator, choose_locale, translator

__all__ = ["SUPPORTED_LOCALES", "Translator", "choose_locale", "translator"]
