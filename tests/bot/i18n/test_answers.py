"""Reading typed replies as answers to a question: every type, in every language.

The words come from ``bot.i18n.keywords`` (SKIP, yes and no words, "and" between numbers).
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.i18n import keywords
from bot.i18n.answers import SKIPPED, Invalid, Reason, parse_answer
from core.config import SUPPORTED_LOCALES
from core.questionnaires.definition import parse_definition
from tests.fakes.surveys import HEATING_LABELS, sample

SAMPLE = parse_definition(sample())


def read(question_id: str, text: str, locale: str = "fr") -> Any:
    question = SAMPLE.question(question_id)
    assert question is not None
    return parse_answer(question, text, locale)



YES = {"fr": "oui", "nl": "ja", "en": "yes", "ar": "نعم", "es": "sí"}
NO = {"fr": "non", "nl": "nee", "en": "no", "ar": "لا", "es": "no"}
SKIP = {"fr": "PASSER", "nl": "overslaan", "en": "skip", "ar": "تخطي", "es": "Saltar"}


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_yes_no(locale: str) -> None:
    assert read("yn", YES[locale], locale) is True
    assert read("yn", NO[locale], locale) is False
    assert read("yn", "1", locale) is True
    assert read("yn", "2", locale) is False
    assert read("yn", "3", locale) == Invalid(Reason.OUT_OF_RANGE)
    assert read("yn", "peut-être", locale) == Invalid(Reason.NOT_YES_NO)
    assert read("yn", SKIP[locale], locale) == Invalid(Reason.REQUIRED)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_single_choice(locale: str) -> None:
    assert read("pick", "2", locale) == "electric"
    assert read("pick", " 3. ", locale) == "wood"
    assert read("pick", HEATING_LABELS["wood"][locale].upper(), locale) == "wood"
    assert read("pick", "٢", locale) == "electric"
    assert read("pick", "4", locale) == Invalid(Reason.OUT_OF_RANGE)
    assert read("pick", "0", locale) == Invalid(Reason.OUT_OF_RANGE)
    assert read("pick", "coal", locale) == Invalid(Reason.NOT_A_CHOICE)
    assert read("pick", "", locale) == Invalid(Reason.EMPTY)
    assert read("pick", SKIP[locale], locale) == Invalid(Reason.REQUIRED)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_multi_choice(locale: str) -> None:
    for reply in ("1 3", "1,3", "1, 3", "3 1", "1;3", "1 3 3", "13", "١ ٣", "١،٣", "1 et 3",
                  "1 y 3"):
        assert read("many", reply, locale) == ["gas", "wood"], reply
    assert read("many", "2", locale) == ["electric"]
    gas, wood = HEATING_LABELS["gas"][locale], HEATING_LABELS["wood"][locale]
    assert read("many", f"{wood}, {gas}", locale) == ["gas", "wood"]
    assert read("many", "1 4", locale) == Invalid(Reason.OUT_OF_RANGE)
    assert read("many", "14", locale) == Invalid(Reason.OUT_OF_RANGE)
    assert read("many", "1 coal", locale) == Invalid(Reason.NOT_A_CHOICE)
    assert read("many", SKIP[locale], locale) == Invalid(Reason.REQUIRED)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_scale(locale: str) -> None:
    assert read("how", "1", locale) == 1
    assert read("how", "٥", locale) == 5
    assert read("how", "6", locale) == Invalid(Reason.OUT_OF_RANGE)
    assert read("how", "0", locale) == Invalid(Reason.OUT_OF_RANGE)
    assert read("how", "hard", locale) == Invalid(Reason.NOT_A_NUMBER)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_number(locale: str) -> None:
    assert read("size", "4", locale) == 4
    assert read("size", "٤", locale) == 4
    assert read("size", {"fr": "3 personnes", "nl": "3 personen", "en": "3 people",
                         "ar": "3 أشخاص", "es": "3 personas"}[locale], locale) == 3
    assert read("size", "21", locale) == Invalid(Reason.OUT_OF_RANGE)
    assert read("size", "0", locale) == Invalid(Reason.OUT_OF_RANGE)
    assert read("size", "2 or 3", locale) == Invalid(Reason.NOT_A_NUMBER)
    assert read("size", "many", locale) == Invalid(Reason.NOT_A_NUMBER)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_text_and_skip(locale: str) -> None:
    assert read("detail", "  Trop froid\x00 ", locale) == "Trop froid"
    assert read("detail", SKIP[locale], locale) is SKIPPED
    assert read("detail", "   ", locale) == Invalid(Reason.EMPTY)
    assert len(read("detail", "x" * 5000, locale)) == 1000




def test_skip_words_are_the_keywords_ones() -> None:
    for word in ("SKIP", "Passer", "overslaan", "saltar", "تخطي", "-"):
        assert keywords.is_skip(word), word
        assert read("detail", word) is SKIPPED
    assert not keywords.is_skip("passez-moi le sel")
