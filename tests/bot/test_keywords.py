from __future__ import annotations

import pytest

from bot.conversation.choices import match_choice
from bot.i18n.keywords import GlobalWord, fold, global_word, join_code_in, parse_number
from core.messages import Choice, IncomingMessage


@pytest.mark.parametrize(("text", "word"), [
    ("HELP", GlobalWord.HELP), ("aide", GlobalWord.HELP), ("Hulp!", GlobalWord.HELP),
    ("AYUDA", GlobalWord.HELP), ("مساعدة", GlobalWord.HELP), ("/help", GlobalWord.HELP),
    ("Menu", GlobalWord.MENU), ("menú", GlobalWord.MENU), ("قائمة", GlobalWord.MENU),
    ("LANGUE", GlobalWord.LANGUAGE), ("taal", GlobalWord.LANGUAGE), ("اللغة", GlobalWord.LANGUAGE),
    ("STOP", GlobalWord.STOP), ("Arrêt", GlobalWord.STOP), ("stoppen", GlobalWord.STOP),
    ("BAJA", GlobalWord.STOP), ("توقف", GlobalWord.STOP), ("  stop. ", GlobalWord.STOP),
    ("START", GlobalWord.START), ("/start", GlobalWord.START),
    ("stop the alerts please", None), ("bonjour", None),
])
def test_global_words_in_every_language(text: str, word: GlobalWord | None) -> None:
    assert global_word(text) is word


def test_join_codes() -> None:
    assert join_code_in("/start abc123") == "ABC123"
    assert join_code_in("/start@VoisinsBot abc") == "ABC"
    assert join_code_in("join voisins") == "VOISINS"
    assert join_code_in("Rejoindre  Soleil") == "SOLEIL"
    assert join_code_in("انضمام ABC") == "ABC"
    assert join_code_in("join") is None and join_code_in("hello there") is None
    # Copied from our own Arabic message, with its invisible isolates and a full stop.
    assert join_code_in("انضمام \u2068SOLEIL\u2069.") == "SOLEIL"


def test_numbers_including_arabic_indic_digits() -> None:
    assert parse_number("2") == 2 and parse_number("٢") == 2 and parse_number(" 3. ") == 3
    assert parse_number("two") is None and parse_number("") is None


def test_choice_by_number_label_key_and_yes_no() -> None:
    choices = (Choice("yes", "Oui"), Choice("no", "Non"))

    def pick(text: str, locale: str = "fr", key: str | None = None) -> str | None:
        found = match_choice(IncomingMessage("sms", "a", text, "p", choice_key=key), choices,
                             locale)
        return found.key if found else None

    assert pick("1") == "yes" and pick("2") == "no" and pick("3") is None
    assert pick("OUI") == "yes" and pick("d'accord") == "yes" and pick("non!") == "no"
    assert pick("ja", "nl") == "yes" and pick("نعم", "ar") == "yes" and pick("sí", "es") == "yes"
    assert pick("", key="no") == "no" and pick("", key="bogus") is None
    assert pick("peut-être") is None


def test_fold_ignores_case_accents_and_edges() -> None:
    assert fold("  ÉSPAÑOL!! ") == "espanol"
    assert fold("?") == "?"
