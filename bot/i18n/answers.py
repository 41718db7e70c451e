"""Reading a typed reply as the answer to a questionnaire question, in any of our languages.

This lives beside the words residents may type (``keywords``) rather than in ``core``: what a
reply means ("oui", "٢", "1 et 3", "passer") is a matter of the conversation's words, and core
imports none of our packages. Core keeps the rule on what may be stored (``value_fits``), which
the inbox checks again before writing.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.i18n.keywords import fold, is_and_word, is_no, is_skip, is_yes, parse_number
from core.questionnaires.definition import (
    MAX_TEXT_ANSWER,
    AnswerValue,
    Question,
    QuestionType,
    localized,
)


class Reason(enum.StrEnum):
    NOT_A_CHOICE = "not_a_choice"
    OUT_OF_RANGE = "out_of_range"
    NOT_A_NUMBER = "not_a_number"
    NOT_YES_NO = "not_yes_no"
    EMPTY = "empty"
    REQUIRED = "required"


@dataclass(frozen=True)
class Invalid:
    reason: Reason


@dataclass(frozen=True)
class Skipped:
    """The resident asked to skip; the caller decides whether the question allows it."""


SKIPPED = Skipped()
_SEPARATORS = re.compile(r"\s*(?:[,;،؛/+&]|\s)\s*")
_LABEL_SEPARATORS = re.compile(r"\s*[,;،؛/+&]\s*")
_NUMBER_IN_TEXT = re.compile(r"\d+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def parse_answer(question: Question, text: str, locale: str) -> AnswerValue | Invalid | Skipped:
    """Read a typed reply as an answer to ``question`` (never raises)."""
    if is_skip(text):
        return SKIPPED if question.optional else Invalid(Reason.REQUIRED)
    if question.type is QuestionType.TEXT:
        cleaned = _CONTROL.sub("", text).strip()
        return cleaned[:MAX_TEXT_ANSWER] if cleaned else Invalid(Reason.EMPTY)
    if not fold(text):
        return Invalid(Reason.EMPTY)
    if question.type is QuestionType.SINGLE_CHOICE:
        code = _one_option(question, text, locale)
        if code is None:
            number = parse_number(text)
            return Invalid(Reason.OUT_OF_RANGE if number is not None else Reason.NOT_A_CHOICE)
        return code
    if question.type is QuestionType.MULTI_CHOICE:
        return _several_options(question, text, locale)
    if question.type is QuestionType.YES_NO:
        return _yes_no(text, locale)
    if question.type is QuestionType.SCALE:
        number = parse_number(text)
        if number is None:
            return Invalid(Reason.NOT_A_NUMBER)
        low, high = question.bounds
        return number if low <= number <= high else Invalid(Reason.OUT_OF_RANGE)
    return _number(question, text)


def _one_option(question: Question, text: str, locale: str) -> str | None:
    number = parse_number(text)
    if number is not None:
        return question.options[number - 1].code if 1 <= number <= len(question.options) \
            else None
    folded = fold(text)
    for option in question.options:
        if folded in (fold(localized(option.label, locale)), option.code):
            return option.code
    # A label in another language (a resident may answer in French while reading Dutch).
    for option in question.options:
        if any(fold(label) == folded for label in option.label.values()):
            return option.code
    # "oui", "ja", "si", "نعم" for options coded yes / no.
    if "yes" in question.codes and is_yes(text, locale):
        return "yes"
    if "no" in question.codes and is_no(text, locale):
        return "no"
    return None


def _several_options(question: Question, text: str, locale: str) -> list[str] | Invalid:
    single = _one_option(question, text, locale)
    if single is not None:
        return [single]
    pieces = [p for p in _SEPARATORS.split(text.strip()) if p and not is_and_word(p)]
    codes = _codes_for(question, pieces, locale, numbers_only=True)
    if codes is None:
        label_pieces = [p for p in _LABEL_SEPARATORS.split(text.strip()) if p]
        codes = _codes_for(question, label_pieces, locale, numbers_only=False)
    if codes is None:
        codes = _glued_digits(question, text)
    if codes is None:
        numbers = [parse_number(p) for p in pieces]
        all_numbers = bool(numbers) and all(n is not None for n in numbers)
        return Invalid(Reason.OUT_OF_RANGE if all_numbers else Reason.NOT_A_CHOICE)
    chosen = set(codes)
    return [code for code in question.codes if code in chosen]


def _codes_for(question: Question, pieces: Sequence[str], locale: str, numbers_only: bool
               ) -> list[str] | None:
    if not pieces:
        return None
    codes = []
    for piece in pieces:
        if numbers_only and parse_number(piece) is None:
            return None
        code = _one_option(question, piece, locale)
        if code is None:
            return None
        codes.append(code)
    return codes


def _glued_digits(question: Question, text: str) -> list[str] | None:
    """"13" for options 1 and 3, when there are fewer than ten options."""
    number = parse_number(text)
    if number is None or len(question.options) > 9:
        return None
    digits = [int(d) for d in str(number)]
    if len(digits) < 2 or not all(1 <= d <= len(question.options) for d in digits):
        return None
    return [question.options[d - 1].code for d in digits]


def _yes_no(text: str, locale: str) -> bool | Invalid:
    number = parse_number(text)
    if number is not None:
        return {1: True, 2: False}.get(number, Invalid(Reason.OUT_OF_RANGE))
    if is_yes(text, locale):
        return True
    if is_no(text, locale):
        return False
    return Invalid(Reason.NOT_YES_NO)


def _number(question: Question, text: str) -> int | Invalid:
    number = parse_number(text)
    if number is None:
        # "3 personnes", "we are 4": exactly one number in the reply.
        found = _NUMBER_IN_TEXT.findall(fold(text))
        if len(found) != 1 or len(found[0]) > 6:
            return Invalid(Reason.NOT_A_NUMBER)
        number = int(found[0])
    if question.min is not None and number < question.min:
        return Invalid(Reason.OUT_OF_RANGE)
    if question.max is not None and number > question.max:
        return Invalid(Reason.OUT_OF_RANGE)
    return number
