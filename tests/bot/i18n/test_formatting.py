from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.i18n import choose_locale, translator
from bot.i18n.formatting import (
    format_duration,
    format_items,
    format_kwh,
    format_local_date,
    format_local_datetime,
    format_local_day_time,
    format_local_time,
    format_number,
    format_percentage,
    language_name,
)
from core.config import SUPPORTED_LOCALES

THURSDAY_18H = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)  # in Brussels
NO_BREAK_SPACES = ("\u00a0", "\u202f")


def test_local_time_in_the_community_timezone_across_dst() -> None:
    summer = datetime(2026, 7, 1, 16, 0, tzinfo=UTC)
    winter = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    assert format_local_time(summer, "Europe/Brussels", "fr") == "18:00"
    assert format_local_time(winter, "Europe/Brussels", "fr") == "18:00"
    assert "décembre" in format_local_datetime(winter, "Europe/Brussels", "fr")
    assert "december" in format_local_datetime(winter, "Europe/Brussels", "nl")
    assert "ديسمبر" in format_local_datetime(winter, "Europe/Brussels", "ar")


def test_kwh_and_percent_per_locale() -> None:
    # Plain spaces: a non-breaking one would make a whole SMS UCS-2.
    assert format_kwh(1.25, "fr") in ("1,2 kWh", "1,3 kWh")
    assert format_kwh(3, "en") == "3 kWh"
    assert format_percentage(-0.12, "fr") == "-12 %"
    assert format_percentage(0.5, "en") == "50%"
    assert format_number(1234.5, "fr") == "1 234,5"


def test_arabic_has_one_word_for_kwh() -> None:
    assert format_kwh(1.25, "ar") in ("1.2 كيلوواط ساعة", "1.3 كيلوواط ساعة")
    assert "ك.و.س" not in format_kwh(12, "ar")


@pytest.mark.parametrize(("minutes", "expected"), [
    (30, {"fr": "30 minutes", "nl": "30 minuten", "en": "30 minutes", "ar": "30 دقيقة",
          "es": "30 minutos"}),
    (60, {"fr": "1 heure", "nl": "1 uur", "en": "1 hour", "ar": "ساعة", "es": "1 hora"}),
    (120, {"fr": "2 heures", "nl": "2 uur", "en": "2 hours", "ar": "ساعتان", "es": "2 horas"}),
    (150, {"fr": "2 heures et 30 minutes", "nl": "2 uur en 30 minuten",
           "en": "2 hours and 30 minutes", "ar": "ساعتان و30 دقيقة",
           "es": "2 horas y 30 minutos"}),
])
def test_durations_in_hours_and_minutes(minutes: int, expected: dict[str, str]) -> None:
    assert {locale: format_duration(minutes, locale) for locale in SUPPORTED_LOCALES} == expected


def test_a_day_at_a_time_as_each_language_says_it() -> None:
    said = {locale: format_local_day_time(THURSDAY_18H, "Europe/Brussels", locale)
            for locale in SUPPORTED_LOCALES}
    assert said == {"fr": "jeudi à 18:00", "nl": "donderdag om 18:00",
                    "en": "Thursday at 18:00", "ar": "الخميس الساعة 18:00",
                    "es": "jueves a las 18:00"}
    assert format_local_datetime(THURSDAY_18H, "Europe/Brussels", "es") == \
        "jueves 3 de diciembre a las 18:00"
    assert format_local_datetime(THURSDAY_18H, "Europe/Brussels", "en") == \
        "Thursday 3 December at 18:00"
    assert format_local_date(THURSDAY_18H, "Europe/Brussels", "es") == "3 de diciembre de 2026"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_nothing_formatted_here_carries_a_no_break_space(locale: str) -> None:
    texts = [format_kwh(1234.56, locale), format_percentage(-0.125, locale),
             format_number(12345.5, locale),
             format_local_datetime(THURSDAY_18H, "Europe/Brussels", locale),
             format_local_day_time(THURSDAY_18H, "Europe/Brussels", locale),
             format_local_date(THURSDAY_18H, "Europe/Brussels", locale)]
    texts += [format_duration(minutes, locale) for minutes in range(1, 24 * 60 + 1, 7)]
    assert [text for text in texts if any(space in text for space in NO_BREAK_SPACES)] == []


def test_lists_are_separated_as_each_language_does() -> None:
    assert format_items(["sms", "whatsapp"], "fr") == "sms, whatsapp"
    assert format_items(["sms", "whatsapp"], "ar") == "sms، whatsapp"
    assert format_items(["a b", "c d"], "ar", long_items=True) == "a b؛ c d"
    assert format_items(["a b", "c d"], "nl", long_items=True) == "a b; c d"


def test_language_names_as_written_inside_a_sentence() -> None:
    assert [language_name(code) for code in SUPPORTED_LOCALES] == \
        ["français", "Nederlands", "English", "العربية", "español"]


def test_locale_choice_order() -> None:
    assert choose_locale("ar", "nl-BE", "fr") == "ar"
    assert choose_locale(None, "nl-BE", "fr") == "nl"
    assert choose_locale(None, "pt-BR", "es") == "es"
    assert choose_locale(None, None, None) == "fr"


def test_arabic_isolates_inserted_values_and_latin_does_not() -> None:
    assert translator("ar").isolate(42) == "\u206842\u2069"
    assert translator("fr").isolate(42) == "42"
