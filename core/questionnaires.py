"""Questionnaires: definitions as data, answers per resident, results and a pseudonymous CSV.

Three layers, top to bottom:
- pure rules: parse and validate a definition, pick the next question, read a typed reply,
  check a stored value, aggregate results, write the CSV;
- the tables ``Questionnaire`` and ``Response``;
- services that take a ``Session`` (create, new version, list, start, record, complete, expire)
  and ``apply_questionnaire_effect`` for the inbox.

``core`` imports no other package of ours, so the words a resident may type (yes/no, digits,
folding) come in through ``ReplyWords``: the bot passes ``bot.i18n.keywords``.
"""

from __future__ import annotations

import csv
import enum
import hashlib
import hmac
import io
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import yaml
from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, UniqueConstraint, func
from sqlmodel import Field, Session, SQLModel, col, select

from core.clock import as_utc
from core.config import SUPPORTED_LOCALES

CONTENT_DIR = Path(__file__).resolve().parent / "content" / "questionnaires"
DEFAULT_TTL = timedelta(hours=72)
MAX_TEXT_ANSWER = 1000
# Telegram's callback_data is at most 64 bytes: "q:<id>:<code>" must fit.
MAX_ID_LENGTH = 24
MAX_CODE_LENGTH = 32
MAX_SCALE_STEPS = 10
# Reserved in the CSV for a question the resident chose to skip.
SKIPPED_CELL = "skipped"
FALLBACK_LOCALES = ("fr", "en")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

AnswerValue = str | int | bool | list[str] | None
Answers = dict[str, AnswerValue]


# How long the conversation of a survey is kept: past the survey's own expiry, so that a
# late answer is told the survey is closed.
SURVEY_STATE_TTL = timedelta(days=10)


class QuestionType(enum.StrEnum):
    SINGLE_CHOICE = "single_choice"
    MULTI_CHOICE = "multi_choice"
    SCALE = "scale"
    YES_NO = "yes_no"
    NUMBER = "number"
    TEXT = "text"


CHOICE_TYPES = frozenset({QuestionType.SINGLE_CHOICE, QuestionType.MULTI_CHOICE})


class ResponseStatus(enum.StrEnum):
    STARTED = "started"
    COMPLETED = "completed"
    EXPIRED = "expired"


# --------------------------------------------------------------------------------------------
# Definitions
# --------------------------------------------------------------------------------------------

Texts = Mapping[str, str]


def localized(texts: Texts, locale: str) -> str:
    """The text in ``locale``, else French, else English, else any."""
    for candidate in (locale, *FALLBACK_LOCALES):
        if texts.get(candidate):
            return texts[candidate]
    return next(iter(texts.values()), "")


@dataclass(frozen=True)
class Option:
    code: str
    label: Mapping[str, str]


@dataclass(frozen=True)
class Condition:
    """Show a question only if an earlier answer equals ``value`` (or is one of ``values``).

    For a multiple-choice answer, "equals" means "includes".
    """

    question: str
    values: tuple[str | int | bool, ...]

    def holds(self, answers: Mapping[str, AnswerValue]) -> bool:
        given = answers.get(self.question)
        if given is None:
            return False
        if isinstance(given, list):
            return any(_same(v, g) for v in self.values for g in given)
        return any(_same(v, given) for v in self.values)


def _same(a: object, b: object) -> bool:
    # True == 1 in Python: a yes/no answer must not satisfy a scale condition.
    return type(a) is type(b) and a == b


@dataclass(frozen=True)
class Question:
    id: str
    type: QuestionType
    text: Mapping[str, str]
    options: tuple[Option, ...] = ()
    optional: bool = False
    min: int | None = None
    max: int | None = None
    show_if: Condition | None = None
    # Scale anchors, e.g. 1 = "very easy", 5 = "very hard".
    low: Mapping[str, str] | None = None
    high: Mapping[str, str] | None = None

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(o.code for o in self.options)

    @property
    def bounds(self) -> tuple[int, int]:
        """Scale bounds (default 1–5)."""
        return (self.min if self.min is not None else 1, self.max if self.max is not None else 5)


@dataclass(frozen=True)
class Definition:
    slug: str
    title: Mapping[str, str]
    questions: tuple[Question, ...]
    version: int = 1
    intro: Mapping[str, str] | None = None
    outro: Mapping[str, str] | None = None

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)


class DefinitionError(ValueError):
    """A questionnaire definition that cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def texts(self, raw: object, where: str, required: bool = True) -> dict[str, str] | None:
        if raw is None and not required:
            return None
        if not isinstance(raw, Mapping):
            self.problems.append(f"{where}: expected a text per language")
            return None
        texts = {str(k): v.strip() for k, v in raw.items() if isinstance(v, str) and v.strip()}
        missing = [loc for loc in SUPPORTED_LOCALES if loc not in texts]
        if missing:
            self.problems.append(f"{where}: missing {', '.join(missing)}")
        unknown = sorted(set(map(str, raw)) - set(SUPPORTED_LOCALES))
        if unknown:
            self.problems.append(f"{where}: unknown language {', '.join(unknown)}")
        return texts

    def integer(self, raw: object, where: str) -> int | None:
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, int):
            self.problems.append(f"{where}: expected a whole number")
            return None
        return raw


def parse_definition(raw: object) -> Definition:
    """Read a definition (from YAML or JSON); every problem is reported at once."""
    check = _Checker()
    if not isinstance(raw, Mapping):
        raise DefinitionError(["a questionnaire is a mapping with slug, title and questions"])
    slug = raw.get("slug")
    if not isinstance(slug, str) or not _NAME.match(slug):
        check.problems.append("slug: lower-case letters, digits and _ only")
        slug = str(slug)
    version = raw.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        check.problems.append("version: a whole number from 1")
        version = 1
    title = check.texts(raw.get("title"), "title") or {}
    intro = check.texts(raw.get("intro"), "intro", required=False)
    outro = check.texts(raw.get("outro"), "outro", required=False)
    raw_questions = raw.get("questions")
    questions: list[Question] = []
    if not isinstance(raw_questions, list) or not raw_questions:
        check.problems.append("questions: at least one question")
        raw_questions = []
    for index, item in enumerate(raw_questions, start=1):
        question = _parse_question(item, index, questions, check)
        if question is not None:
            questions.append(question)
    if check.problems:
        raise DefinitionError(check.problems)
    return Definition(slug=slug, version=version, title=title, intro=intro, outro=outro,
                      questions=tuple(questions))


def _parse_question(item: object, index: int, earlier: Sequence[Question], check: _Checker
                    ) -> Question | None:
    where = f"question {index}"
    if not isinstance(item, Mapping):
        check.problems.append(f"{where}: expected a mapping")
        return None
    qid = item.get("id")
    if not isinstance(qid, str) or not _NAME.match(qid) or len(qid) > MAX_ID_LENGTH:
        check.problems.append(f"{where}: id must be lower-case letters, digits and _ "
                              f"(at most {MAX_ID_LENGTH})")
        return None
    where = f"question {qid}"
    if any(q.id == qid for q in earlier):
        check.problems.append(f"{where}: id used twice")
    try:
        qtype = QuestionType(str(item.get("type")))
    except ValueError:
        check.problems.append(f"{where}: type must be one of {', '.join(QuestionType)}")
        return None
    text = check.texts(item.get("text"), f"{where} text") or {}
    optional = item.get("optional", False)
    if not isinstance(optional, bool):
        check.problems.append(f"{where}: optional is true or false")
        optional = False
    options = _parse_options(item.get("options"), qtype, where, check)
    low = high = None
    minimum = check.integer(item.get("min"), f"{where} min")
    maximum = check.integer(item.get("max"), f"{where} max")
    if qtype is QuestionType.SCALE:
        minimum = 1 if minimum is None else minimum
        maximum = 5 if maximum is None else maximum
        # From 1, so that the typed number, the button's number and the value agree.
        if minimum != 1 or not minimum < maximum <= MAX_SCALE_STEPS:
            check.problems.append(f"{where}: a scale goes from 1 to a max of at most "
                                  f"{MAX_SCALE_STEPS}")
        low = check.texts(item.get("low"), f"{where} low", required=False)
        high = check.texts(item.get("high"), f"{where} high", required=False)
    elif qtype is QuestionType.NUMBER:
        if minimum is not None and maximum is not None and minimum > maximum:
            check.problems.append(f"{where}: min is above max")
    elif minimum is not None or maximum is not None:
        check.problems.append(f"{where}: min and max are for number and scale questions")
    show_if = _parse_condition(item.get("show_if"), where, earlier, check)
    return Question(id=qid, type=qtype, text=text, options=options, optional=optional,
                    min=minimum, max=maximum, show_if=show_if, low=low, high=high)


def _parse_options(raw: object, qtype: QuestionType, where: str, check: _Checker
                   ) -> tuple[Option, ...]:
    if qtype not in CHOICE_TYPES:
        if raw:
            check.problems.append(f"{where}: options are for choice questions")
        return ()
    if not isinstance(raw, list) or len(raw) < 2:
        check.problems.append(f"{where}: at least two options")
        return ()
    options: list[Option] = []
    for number, item in enumerate(raw, start=1):
        code = item.get("code") if isinstance(item, Mapping) else None
        if not isinstance(code, str) or not _NAME.match(code) or len(code) > MAX_CODE_LENGTH:
            # YAML reads a bare yes/no/on/off as a boolean: quote such codes.
            check.problems.append(f"{where} option {number}: code must be a quoted word of "
                                  f"lower-case letters, digits and _ (at most {MAX_CODE_LENGTH})")
            continue
        if code in (SKIPPED_CELL, "skip"):
            check.problems.append(f"{where} option {number}: the code {code!r} is reserved")
        if any(o.code == code for o in options):
            check.problems.append(f"{where}: option code {code!r} used twice")
        assert isinstance(item, Mapping)
        label = check.texts(item.get("label"), f"{where} option {code}") or {}
        options.append(Option(code=code, label=label))
    return tuple(options)


def _parse_condition(raw: object, where: str, earlier: Sequence[Question], check: _Checker
                     ) -> Condition | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or "question" not in raw or (
            ("equals" in raw) == ("in" in raw)):
        check.problems.append(f"{where}: show_if has question and either equals or in")
        return None
    target = next((q for q in earlier if q.id == raw["question"]), None)
    if target is None:
        check.problems.append(f"{where}: show_if must refer to an earlier question")
        return None
    values = [raw["equals"]] if "equals" in raw else raw["in"]
    if not isinstance(values, list) or not values:
        check.problems.append(f"{where}: show_if in needs a list of values")
        return None
    for value in values:
        if not _condition_value_fits(target, value):
            check.problems.append(f"{where}: show_if value {value!r} is not a possible answer "
                                  f"to {target.id}")
    return Condition(question=target.id, values=tuple(values))


def _condition_value_fits(target: Question, value: object) -> bool:
    if target.type in CHOICE_TYPES:
        return isinstance(value, str) and value in target.codes
    if target.type is QuestionType.YES_NO:
        return isinstance(value, bool)
    if target.type in (QuestionType.SCALE, QuestionType.NUMBER):
        return isinstance(value, int) and not isinstance(value, bool)
    return False  # free text is never a condition


def definition_to_dict(definition: Definition) -> dict[str, Any]:
    """The JSON stored in the database; ``parse_definition`` reads it back unchanged."""
    questions: list[dict[str, Any]] = []
    for q in definition.questions:
        item: dict[str, Any] = {"id": q.id, "type": q.type.value, "text": dict(q.text)}
        if q.optional:
            item["optional"] = True
        if q.options:
            item["options"] = [{"code": o.code, "label": dict(o.label)} for o in q.options]
        if q.min is not None:
            item["min"] = q.min
        if q.max is not None:
            item["max"] = q.max
        if q.low:
            item["low"] = dict(q.low)
        if q.high:
            item["high"] = dict(q.high)
        if q.show_if is not None:
            item["show_if"] = {"question": q.show_if.question, "in": list(q.show_if.values)}
        questions.append(item)
    result: dict[str, Any] = {"slug": definition.slug, "version": definition.version,
                              "title": dict(definition.title), "questions": questions}
    if definition.intro:
        result["intro"] = dict(definition.intro)
    if definition.outro:
        result["outro"] = dict(definition.outro)
    return result


def load_yaml(path: Path) -> Definition:
    with path.open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    try:
        return parse_definition(raw)
    except DefinitionError as error:
        raise DefinitionError([f"{path.name}: {p}" for p in error.problems]) from None


def content_files(directory: Path = CONTENT_DIR) -> list[Path]:
    return sorted(directory.glob("*.yaml"))


# --------------------------------------------------------------------------------------------
# Walking through a questionnaire
# --------------------------------------------------------------------------------------------

def is_visible(question: Question, answers: Mapping[str, AnswerValue]) -> bool:
    return question.show_if is None or question.show_if.holds(answers)


def next_question(definition: Definition, answers: Mapping[str, AnswerValue],
                  deferred: Sequence[str] = (), dropped: Sequence[str] = ()) -> Question | None:
    """The first visible question not answered yet; deferred ones come last, dropped never."""
    pending = [q for q in definition.questions
               if q.id not in answers and q.id not in dropped and is_visible(q, answers)]
    for question in pending:
        if question.id not in deferred:
            return question
    return pending[0] if pending else None


def progress(definition: Definition, answers: Mapping[str, AnswerValue],
             dropped: Sequence[str] = ()) -> tuple[int, int]:
    """(position of the next question, expected total) for the "2/5" mark.

    A question whose condition depends on an unanswered question counts as still to come.
    """
    done = sum(1 for q in definition.questions if q.id in answers or q.id in dropped)
    to_come = sum(1 for q in definition.questions
                  if q.id not in answers and q.id not in dropped and _may_show(q, answers))
    return done + 1, done + to_come


def _may_show(question: Question, answers: Mapping[str, AnswerValue]) -> bool:
    if question.show_if is None:
        return True
    if question.show_if.question not in answers:
        return True
    return question.show_if.holds(answers)


class ReplyWords(Protocol):
    """How typed words are read; ``bot.i18n.keywords`` is one (a module fits this protocol)."""

    def fold(self, text: str) -> str: ...

    def parse_number(self, text: str) -> int | None: ...

    def is_yes(self, text: str, locale: str) -> bool: ...

    def is_no(self, text: str, locale: str) -> bool: ...


# Folded forms; any language's word works for everyone, as for STOP.
SKIP_WORDS = frozenset({"skip", "passer", "passe", "overslaan", "saltar", "تخطي", "تخطى",
                        "pass"})
# "1 et 3", "1 and 3", "1 y 3", "1 و 3": the joining word is noise between numbers.
_AND_WORDS = frozenset({"et", "and", "en", "y", "e", "و"})


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


def is_skip(text: str, words: ReplyWords) -> bool:
    return words.fold(text) in SKIP_WORDS or text.strip() == "-"


def parse_answer(question: Question, text: str, locale: str, words: ReplyWords
                 ) -> AnswerValue | Invalid | Skipped:
    """Read a typed reply as an answer to ``question`` (never raises)."""
    if is_skip(text, words):
        return SKIPPED if question.optional else Invalid(Reason.REQUIRED)
    if question.type is QuestionType.TEXT:
        cleaned = _CONTROL.sub("", text).strip()
        return cleaned[:MAX_TEXT_ANSWER] if cleaned else Invalid(Reason.EMPTY)
    if not words.fold(text):
        return Invalid(Reason.EMPTY)
    if question.type is QuestionType.SINGLE_CHOICE:
        code = _one_option(question, text, locale, words)
        if code is None:
            number = words.parse_number(text)
            return Invalid(Reason.OUT_OF_RANGE if number is not None else Reason.NOT_A_CHOICE)
        return code
    if question.type is QuestionType.MULTI_CHOICE:
        return _several_options(question, text, locale, words)
    if question.type is QuestionType.YES_NO:
        return _yes_no(text, locale, words)
    if question.type is QuestionType.SCALE:
        number = words.parse_number(text)
        if number is None:
            return Invalid(Reason.NOT_A_NUMBER)
        low, high = question.bounds
        return number if low <= number <= high else Invalid(Reason.OUT_OF_RANGE)
    return _number(question, text, words)


def _one_option(question: Question, text: str, locale: str, words: ReplyWords) -> str | None:
    number = words.parse_number(text)
    if number is not None:
        return question.options[number - 1].code if 1 <= number <= len(question.options) \
            else None
    folded = words.fold(text)
    for option in question.options:
        if folded in (words.fold(localized(option.label, locale)), option.code):
            return option.code
    # A label in another language (a resident may answer in French while reading Dutch).
    for option in question.options:
        if any(words.fold(label) == folded for label in option.label.values()):
            return option.code
    # "oui", "ja", "si", "نعم" for options coded yes / no.
    if "yes" in question.codes and words.is_yes(text, locale):
        return "yes"
    if "no" in question.codes and words.is_no(text, locale):
        return "no"
    return None


def _several_options(question: Question, text: str, locale: str, words: ReplyWords
                     ) -> list[str] | Invalid:
    single = _one_option(question, text, locale, words)
    if single is not None:
        return [single]
    pieces = [p for p in _SEPARATORS.split(text.strip())
              if p and words.fold(p) not in _AND_WORDS]
    codes = _codes_for(question, pieces, locale, words, numbers_only=True)
    if codes is None:
        label_pieces = [p for p in _LABEL_SEPARATORS.split(text.strip()) if p]
        codes = _codes_for(question, label_pieces, locale, words, numbers_only=False)
    if codes is None:
        codes = _glued_digits(question, text, words)
    if codes is None:
        numbers = [words.parse_number(p) for p in pieces]
        all_numbers = bool(numbers) and all(n is not None for n in numbers)
        return Invalid(Reason.OUT_OF_RANGE if all_numbers else Reason.NOT_A_CHOICE)
    chosen = set(codes)
    return [code for code in question.codes if code in chosen]


def _codes_for(question: Question, pieces: Sequence[str], locale: str, words: ReplyWords,
               numbers_only: bool) -> list[str] | None:
    if not pieces:
        return None
    codes = []
    for piece in pieces:
        number = words.parse_number(piece)
        if numbers_only and number is None:
            return None
        code = _one_option(question, piece, locale, words)
        if code is None:
            return None
        codes.append(code)
    return codes


def _glued_digits(question: Question, text: str, words: ReplyWords) -> list[str] | None:
    """"13" for options 1 and 3, when there are fewer than ten options."""
    number = words.parse_number(text)
    if number is None or len(question.options) > 9:
        return None
    digits = [int(d) for d in str(number)]
    if len(digits) < 2 or not all(1 <= d <= len(question.options) for d in digits):
        return None
    return [question.options[d - 1].code for d in digits]


def _yes_no(text: str, locale: str, words: ReplyWords) -> bool | Invalid:
    number = words.parse_number(text)
    if number is not None:
        return {1: True, 2: False}.get(number, Invalid(Reason.OUT_OF_RANGE))
    if words.is_yes(text, locale):
        return True
    if words.is_no(text, locale):
        return False
    return Invalid(Reason.NOT_YES_NO)


def _number(question: Question, text: str, words: ReplyWords) -> int | Invalid:
    number = words.parse_number(text)
    if number is None:
        # "3 personnes", "we are 4": exactly one number in the reply.
        found = _NUMBER_IN_TEXT.findall(words.fold(text))
        if len(found) != 1 or len(found[0]) > 6:
            return Invalid(Reason.NOT_A_NUMBER)
        number = int(found[0])
    if question.min is not None and number < question.min:
        return Invalid(Reason.OUT_OF_RANGE)
    if question.max is not None and number > question.max:
        return Invalid(Reason.OUT_OF_RANGE)
    return number


def value_fits(question: Question, value: object) -> bool:
    """Whether ``value`` may be stored as the answer to ``question`` (None = skipped)."""
    if value is None:
        return question.optional
    qtype = question.type
    if qtype is QuestionType.SINGLE_CHOICE:
        return isinstance(value, str) and value in question.codes
    if qtype is QuestionType.MULTI_CHOICE:
        return (isinstance(value, list) and bool(value) and len(set(value)) == len(value)
                and all(isinstance(v, str) and v in question.codes for v in value))
    if qtype is QuestionType.YES_NO:
        return isinstance(value, bool)
    if qtype is QuestionType.TEXT:
        return isinstance(value, str) and 0 < len(value) <= MAX_TEXT_ANSWER
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    low, high = question.bounds if qtype is QuestionType.SCALE else (question.min, question.max)
    return (low is None or value >= low) and (high is None or value <= high)


# --------------------------------------------------------------------------------------------
# Results and export (pure)
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ResponseView:
    """One response as results see it: no contact, only a pseudonym."""

    respondent: str
    locale: str
    status: str
    answers: Mapping[str, AnswerValue]
    context: str = ""
    started_at: datetime | None = None
    completed_at: datetime | None = None


@dataclass
class QuestionResult:
    question_id: str
    type: str
    answered: int = 0
    skipped: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    by_locale: dict[str, dict[str, int]] = field(default_factory=dict)
    # Free text, for facilitators only; filled only when asked for.
    texts: list[str] = field(default_factory=list)


@dataclass
class Results:
    questionnaire: str
    version: int
    responses: int
    completed: int
    completion_rate: float
    by_locale: dict[str, dict[str, int]]
    questions: list[QuestionResult]


def answer_codes(question: Question, value: AnswerValue) -> list[str]:
    """An answer in the questionnaire's own codes (yes/no, option codes, numbers as text)."""
    if value is None:
        return []
    if isinstance(value, bool):
        return ["yes" if value else "no"]
    if isinstance(value, list):
        return [str(v) for v in value]
    if question.type is QuestionType.TEXT:
        return []
    return [str(value)]


def _empty_counts(question: Question) -> dict[str, int]:
    if question.type in CHOICE_TYPES:
        return {code: 0 for code in question.codes}
    if question.type is QuestionType.YES_NO:
        return {"yes": 0, "no": 0}
    if question.type is QuestionType.SCALE:
        low, high = question.bounds
        return {str(n): 0 for n in range(low, high + 1)}
    return {}


def aggregate(definition: Definition, responses: Iterable[ResponseView],
              include_texts: bool = False) -> Results:
    """Counts per option and per language, and the completion rate."""
    rows = list(responses)
    by_locale: dict[str, dict[str, int]] = {}
    for row in rows:
        entry = by_locale.setdefault(row.locale, {"responses": 0, "completed": 0})
        entry["responses"] += 1
        entry["completed"] += row.status == ResponseStatus.COMPLETED
    results = []
    for question in definition.questions:
        result = QuestionResult(question.id, question.type.value,
                                counts=_empty_counts(question))
        for row in rows:
            if question.id not in row.answers:
                continue
            value = row.answers[question.id]
            if value is None:
                result.skipped += 1
                continue
            if not value_fits(question, value):
                continue  # never count something the definition cannot hold
            result.answered += 1
            if question.type is QuestionType.TEXT:
                if include_texts:
                    result.texts.append(str(value))
                continue
            per_locale = result.by_locale.setdefault(row.locale, dict(_empty_counts(question)))
            for code in answer_codes(question, value):
                result.counts[code] = result.counts.get(code, 0) + 1
                per_locale[code] = per_locale.get(code, 0) + 1
        results.append(result)
    completed = sum(1 for r in rows if r.status == ResponseStatus.COMPLETED)
    return Results(questionnaire=definition.slug, version=definition.version,
                   responses=len(rows), completed=completed,
                   completion_rate=round(completed / len(rows), 4) if rows else 0.0,
                   by_locale=by_locale, questions=results)


def pseudonym(salt: str, contact_id: int) -> str:
    """A respondent id that is stable within a questionnaire and reveals nothing on its own."""
    digest = hmac.new(salt.encode(), str(contact_id).encode(), hashlib.sha256).hexdigest()
    return f"r-{digest[:12]}"


def _cell(question: Question, answers: Mapping[str, AnswerValue]) -> str:
    if question.id not in answers:
        return ""
    value = answers[question.id]
    if value is None:
        return SKIPPED_CELL
    if question.type is QuestionType.TEXT:
        text = str(value)
        # A cell starting with = + - @ would run as a formula in a spreadsheet.
        return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
    return ";".join(answer_codes(question, value))


def _time_cell(moment: datetime | None) -> str:
    return as_utc(moment).isoformat(timespec="seconds") if moment else ""


def to_csv(definition: Definition, responses: Iterable[ResponseView]) -> str:
    """One row per response; multiple choices joined with ";"; skipped = "skipped"."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["respondent", "language", "status", "context", "started_at",
                     "completed_at", *(q.id for q in definition.questions)])
    for row in responses:
        writer.writerow([row.respondent, row.locale, row.status, row.context,
                         _time_cell(row.started_at), _time_cell(row.completed_at),
                         *(_cell(q, row.answers) for q in definition.questions)])
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------

class Questionnaire(SQLModel, table=True):
    """One version of a questionnaire. A new version is a new row; answers keep theirs."""

    __table_args__ = (UniqueConstraint("slug", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(index=True)
    version: int = 1
    title: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    definition: dict[str, Any] = Field(default_factory=dict,
                                       sa_column=Column(JSON, nullable=False))
    active: bool = True
    # Salt for the pseudonymous respondent ids of the CSV export; never exported.
    export_salt: str = Field(default_factory=lambda: secrets.token_hex(16))
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class Response(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("questionnaire_id", "contact_id", "context"),)
    id: int | None = Field(default=None, primary_key=True)
    questionnaire_id: int = Field(sa_column=Column(
        Integer, ForeignKey("questionnaire.id", ondelete="CASCADE"), nullable=False, index=True))
    contact_id: int = Field(sa_column=Column(
        Integer, ForeignKey("contact.id", ondelete="CASCADE"), nullable=False, index=True))
    # What the response is about, e.g. "alert:42" or "campaign:3"; "" for none.
    context: str = ""
    # The language the questions were asked in.
    locale: str = "fr"
    status: str = Field(default=ResponseStatus.STARTED.value, index=True)
    started_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    completed_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    expires_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True, index=True))
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


def definition_of(row: Questionnaire) -> Definition:
    parsed = parse_definition(row.definition)
    return Definition(slug=parsed.slug, version=row.version, title=parsed.title,
                      intro=parsed.intro, outro=parsed.outro, questions=parsed.questions)


# --------------------------------------------------------------------------------------------
# Services
# --------------------------------------------------------------------------------------------

class QuestionnaireLookup(Protocol):
    """What the chat flow needs to know about a questionnaire, without touching the database."""

    def questionnaire(self, questionnaire_id: int) -> Definition | None: ...


class SqlQuestionnaires:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._cache: dict[int, Definition | None] = {}

    def questionnaire(self, questionnaire_id: int) -> Definition | None:
        if questionnaire_id not in self._cache:
            row = self.session.get(Questionnaire, questionnaire_id)
            self._cache[questionnaire_id] = definition_of(row) if row else None
        return self._cache[questionnaire_id]


@dataclass
class StaticQuestionnaires:
    """An in-memory lookup (tests, demos)."""

    definitions: dict[int, Definition]

    def questionnaire(self, questionnaire_id: int) -> Definition | None:
        return self.definitions.get(questionnaire_id)


def _as_definition(definition: Definition | Mapping[str, Any]) -> Definition:
    return definition if isinstance(definition, Definition) else parse_definition(definition)


def _latest(session: Session, slug: str) -> Questionnaire | None:
    return session.exec(select(Questionnaire).where(Questionnaire.slug == slug)
                        .order_by(col(Questionnaire.version).desc())).first()


def latest_questionnaire(session: Session, slug: str, active_only: bool = True
                         ) -> Questionnaire | None:
    row = _latest(session, slug)
    return row if row is not None and (row.active or not active_only) else None


def create_questionnaire(session: Session, definition: Definition | Mapping[str, Any],
                         now: datetime) -> Questionnaire:
    """A new questionnaire; raises ``DefinitionError`` for a bad one or a taken slug."""
    parsed = _as_definition(definition)
    if _latest(session, parsed.slug) is not None:
        raise DefinitionError([f"slug: {parsed.slug} exists already, make a new version"])
    return _insert(session, parsed, parsed.version, now)


def new_version(session: Session, slug: str, definition: Definition | Mapping[str, Any],
                now: datetime) -> Questionnaire:
    """The next version of ``slug``; earlier versions stay (with their answers), inactive."""
    parsed = _as_definition(definition)
    if parsed.slug != slug:
        raise DefinitionError([f"slug: expected {slug}"])
    previous = _latest(session, slug)
    if previous is None:
        return create_questionnaire(session, parsed, now)
    for row in session.exec(select(Questionnaire).where(Questionnaire.slug == slug)):
        row.active = False
        session.add(row)
    return _insert(session, parsed, previous.version + 1, now)


def _insert(session: Session, definition: Definition, version: int, now: datetime
            ) -> Questionnaire:
    data = definition_to_dict(definition)
    data["version"] = version
    row = Questionnaire(slug=definition.slug, version=version, title=dict(definition.title),
                        definition=data, active=True, created_at=now)
    session.add(row)
    session.flush()
    return row


def list_questionnaires(session: Session, active_only: bool = False) -> list[Questionnaire]:
    query = select(Questionnaire).order_by(col(Questionnaire.slug), col(Questionnaire.version))
    if active_only:
        query = query.where(col(Questionnaire.active).is_(True))
    return list(session.exec(query))


def load_content(session: Session, now: datetime, directory: Path = CONTENT_DIR
                 ) -> list[Questionnaire]:
    """Load the YAML files: new slugs are created, changed ones get a new version."""
    loaded = []
    for path in content_files(directory):
        definition = load_yaml(path)
        current = _latest(session, definition.slug)
        if current is None:
            loaded.append(create_questionnaire(session, definition, now))
            continue
        unchanged = {**current.definition, "version": 0} == {
            **definition_to_dict(definition), "version": 0}
        loaded.append(current if unchanged else new_version(session, definition.slug,
                                                            definition, now))
    return loaded


def start_response(session: Session, questionnaire_id: int, contact_id: int, context: str,
                   locale: str, now: datetime, ttl: timedelta = DEFAULT_TTL) -> Response:
    """The response row for this contact and context; the same one if it exists already."""
    existing = session.exec(select(Response).where(
        Response.questionnaire_id == questionnaire_id, Response.contact_id == contact_id,
        Response.context == context)).first()
    if existing is not None:
        return existing
    row = Response(questionnaire_id=questionnaire_id, contact_id=contact_id, context=context,
                   locale=locale, status=ResponseStatus.STARTED.value, started_at=now,
                   expires_at=now + ttl, answers={})
    session.add(row)
    session.flush()
    return row


def _open_response(session: Session, response_id: int, now: datetime) -> Response | None:
    row = session.get(Response, response_id)
    if row is None or row.status != ResponseStatus.STARTED:
        return None
    if row.expires_at is not None and as_utc(row.expires_at) <= as_utc(now):
        row.status = ResponseStatus.EXPIRED.value
        session.add(row)
        return None
    return row


def record_answer(session: Session, response_id: int, question_id: str, value: AnswerValue,
                  now: datetime) -> bool:
    """Store one answer if the response is open and the value fits the question."""
    row = _open_response(session, response_id, now)
    if row is None:
        return False
    questionnaire = session.get(Questionnaire, row.questionnaire_id)
    question = definition_of(questionnaire).question(question_id) if questionnaire else None
    if question is None or not value_fits(question, value):
        return False
    # A new dict: SQLAlchemy does not see changes made inside a JSON value.
    row.answers = {**row.answers, question_id: value}
    session.add(row)
    return True


def complete_response(session: Session, response_id: int, now: datetime) -> bool:
    row = _open_response(session, response_id, now)
    if row is None:
        return False
    row.status = ResponseStatus.COMPLETED.value
    row.completed_at = now
    session.add(row)
    return True


def expire_response(session: Session, response_id: int, now: datetime) -> bool:
    row = session.get(Response, response_id)
    if row is None or row.status != ResponseStatus.STARTED:
        return False
    row.status = ResponseStatus.EXPIRED.value
    session.add(row)
    return True


def expire_responses(session: Session, now: datetime) -> int:
    """Close every started response past its expiry (a scheduler job)."""
    rows = session.exec(select(Response).where(
        Response.status == ResponseStatus.STARTED.value,
        col(Response.expires_at).is_not(None), col(Response.expires_at) <= now)).all()
    for row in rows:
        row.status = ResponseStatus.EXPIRED.value
        session.add(row)
    return len(rows)


def completed_contact_ids(session: Session, context: str) -> set[int]:
    """Who finished a questionnaire asked in ``context`` (e.g. "alert:42"), any version."""
    rows = session.exec(select(Response.contact_id).where(
        Response.context == context, Response.status == ResponseStatus.COMPLETED.value)).all()
    return set(rows)


def unfinished_contact_ids(session: Session, questionnaire_id: int, context: str,
                           now: datetime) -> list[int]:
    """Who started but has not finished and can still answer: the reminder's audience."""
    rows = session.exec(select(Response.contact_id).where(
        Response.questionnaire_id == questionnaire_id, Response.context == context,
        Response.status == ResponseStatus.STARTED.value,
        col(Response.expires_at) > now)).all()
    return sorted(rows)


def response_counts(session: Session, questionnaire_id: int, context: str | None = None
                    ) -> dict[str, int]:
    """How many responses per status (started, completed, expired)."""
    query = select(Response.status, func.count()).where(
        Response.questionnaire_id == questionnaire_id).group_by(col(Response.status))
    if context is not None:
        query = query.where(Response.context == context)
    counts = {status.value: 0 for status in ResponseStatus}
    for status, count in session.exec(query):
        counts[status] = count
    return counts


def _views(session: Session, row: Questionnaire, context: str | None) -> list[ResponseView]:
    query = select(Response).where(Response.questionnaire_id == row.id).order_by(
        col(Response.id))
    if context is not None:
        query = query.where(Response.context == context)
    return [ResponseView(respondent=pseudonym(row.export_salt, r.contact_id), locale=r.locale,
                         status=r.status, answers=dict(r.answers), context=r.context,
                         started_at=r.started_at, completed_at=r.completed_at)
            for r in session.exec(query)]


def results_for(session: Session, questionnaire_id: int, context: str | None = None,
                include_texts: bool = False) -> Results | None:
    row = session.get(Questionnaire, questionnaire_id)
    if row is None:
        return None
    return aggregate(definition_of(row), _views(session, row, context), include_texts)


def export_csv(session: Session, questionnaire_id: int, context: str | None = None
               ) -> str | None:
    row = session.get(Questionnaire, questionnaire_id)
    if row is None:
        return None
    return to_csv(definition_of(row), _views(session, row, context))


# --------------------------------------------------------------------------------------------
# Effects asked by the chat flow (applied by the inbox)
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RecordAnswer:
    response_id: int
    question_id: str
    value: AnswerValue


@dataclass(frozen=True)
class CompleteResponse:
    response_id: int


@dataclass(frozen=True)
class ExpireResponse:
    response_id: int


QuestionnaireEffect = RecordAnswer | CompleteResponse | ExpireResponse


def apply_questionnaire_effect(session: Session, contact_id: int, effect: QuestionnaireEffect,
                               now: datetime) -> bool:
    """Apply one effect to the contact's own response; anything else is ignored (False)."""
    row = session.get(Response, effect.response_id)
    if row is None or row.contact_id != contact_id:
        return False
    if isinstance(effect, RecordAnswer):
        return record_answer(session, effect.response_id, effect.question_id, effect.value, now)
    if isinstance(effect, CompleteResponse):
        return complete_response(session, effect.response_id, now)
    return expire_response(session, effect.response_id, now)
