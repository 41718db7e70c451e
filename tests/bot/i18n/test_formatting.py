from __future__ import annotations

from datetime import UTC, datetime

from bot.i18n import choose_locale, translator
from bot.i18n.formatting import (
    format_kwh,
    format_local_datetime,
    format_local_time,
    format_percentage,
)


def test_local_time_in_the_community_timezone_across_dst() -> None:
    summer = datetime(2026, 7, 1, 16, 0, tzinfo=UTC)
    winter = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    assert format_local_time(summer, "Europe/Brussels", "fr") == "18:00"
    assert format_local_time(winter, "Europe/Brussels", "fr") == "18:00"
    assert "décembre" in format_local_datetime(winter, "Europe/Brussels", "fr")
    assert "december" in format_local_datetime(winter, "Europe/Brussels", "nl")
    assert "ديسمبر" in format_local_datetime(winter, "Europe/Brussels", "ar")


def test_kwh_and_percent_per_locale() -> None:
    assert format_kwh(1.25, "fr").replace("\u202f", " ").replace("\xa0", " ") in (
        "1,2 kWh", "1,3 kWh")
    assert format_kwh(3, "en") == "3 kWh"
    assert format_percentage(-0.12, "fr").replace("\u202f", " ").replace("\xa0", " ") \
        == "-12 %"
    assert format_percentage(0.5, "en") == "50%"


def test_locale_choice_order() -> None:
    assert choose_locale("ar", "nl-BE", "fr") == "ar"
    assert choose_locale(None, "nl-BE", "fr") == "nl"
    assert choose_locale(None, "pt-BR", "es") == "es"
    assert choose_locale(None, None, None) == "fr"


def test_arabic_isolates_inserted_values_and_latin_does_not() -> None:
    assert translator("ar").isolate(42) == "\u206842\u2069"
    assert translator("fr").isolate(42) == "42"
