"""A questionnaire's definition: the schema as pydantic models, for YAML files and the API alike.

The admin API takes ``Definition`` as its request body, so ``/docs`` shows the schema and a bad
definition is refused by validation (422) with every problem found. ``parse_definition`` reads
the same models from a YAML or stored JSON mapping and raises ``DefinitionError`` with the
problems worded for a person ("question pick text: missing nl").
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from core.config import SUPPORTED_LOCALES

MAX_TEXT_ANSWER = 1000
# Telegram's callback_data is at most 64 bytes: "q:<id>:<code>" must fit.
MAX_ID_LENGTH = 24
MAX_CODE_LENGTH = 32
MAX_SCALE_STEPS = 10
# "skipped" is what the CSV writes for a skipped question, "skip" the key of the Skip button:
# an option with either code could not be told apart.
RESERVED_CODES = ("skipped", "skip")
FALLBACK_LOCALES = ("fr", "en")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

AnswerValue = str | int | bool | list[str] | None
Answers = dict[str, AnswerValue]
ConditionValue = StrictStr | StrictInt | StrictBool


def _problem(message: str) -> PydanticCustomError:
    # A custom error keeps our wording as the message, without pydantic's "Value error, ".
    return PydanticCustomError("questionnaire", message)


class QuestionType(enum.StrEnum):
    SINGLE_CHOICE = "single_choice"
    MULTI_CHOICE = "multi_choice"
    SCALE = "scale"
    YES_NO = "yes_no"
    NUMBER = "number"
    TEXT = "text"


CHOICE_TYPES = frozenset({QuestionType.SINGLE_CHOICE, QuestionType.MULTI_CHOICE})


# --------------------------------------------------------------------------------------------
# Field readers (before validation), so that messages say what is expected
# --------------------------------------------------------------------------------------------

def _texts(raw: object) -> dict[str, str] | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise _problem("expected a text per language")
    texts = {str(k): v.strip() for k, v in raw.items() if isinstance(v, str) and v.strip()}
    problems = []
    missing = [loc for loc in SUPPORTED_LOCALES if loc not in texts]
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    unknown = sorted(set(map(str, raw)) - set(SUPPORTED_LOCALES))
    if unknown:
        problems.append(f"unknown language {', '.join(unknown)}")
    if problems:
        raise _problem("; ".join(problems))
    return texts


def _required_texts(raw: object) -> dict[str, str]:
    texts = _texts(raw)
    if texts is None:
        raise _problem("expected a text per language")
    return texts


_TEXTS_SCHEMA = {"required": list(SUPPORTED_LOCALES),
                 "propertyNames": {"enum": list(SUPPORTED_LOCALES)}}
Texts = Annotated[dict[str, str], BeforeValidator(_required_texts), Field(
    description=f"a text in every language: {', '.join(SUPPORTED_LOCALES)}",
    json_schema_extra=_TEXTS_SCHEMA)]
OptionalTexts = Annotated[dict[str, str] | None, BeforeValidator(_texts), Field(
    description=f"a text in every language: {', '.join(SUPPORTED_LOCALES)}")]


def _slug(raw: object) -> object:
    if not isinstance(raw, str) or not _NAME.match(raw):
        raise _problem("lower-case letters, digits and _ only")
    return raw


def _question_id(raw: object) -> object:
    if not isinstance(raw, str) or not _NAME.match(raw) or len(raw) > MAX_ID_LENGTH:
        raise _problem(f"id must be lower-case letters, digits and _ (at most {MAX_ID_LENGTH})")
    return raw


def _option_code(raw: object) -> object:
    if not isinstance(raw, str) or not _NAME.match(raw) or len(raw) > MAX_CODE_LENGTH:
        # YAML reads a bare yes/no/on/off as a boolean: quote such codes.
        raise _problem(f"code must be a quoted word of lower-case letters, digits and _ "
                       f"(at most {MAX_CODE_LENGTH})")
    if raw in RESERVED_CODES:
        raise _problem(f"the code {raw!r} is reserved")
    return raw


def _question_type(raw: object) -> object:
    if raw not in set(QuestionType):
        raise _problem(f"type must be one of {', '.join(QuestionType)}")
    return raw


# --------------------------------------------------------------------------------------------
# The models
# --------------------------------------------------------------------------------------------

class Option(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: Annotated[str, BeforeValidator(_option_code), Field(
        description="what results and the CSV show for this answer; quote yes/no in YAML")]
    label: Texts


class Condition(BaseModel):
    """Show a question only if an earlier answer equals ``equals`` (or is one of ``in``).

    For a multiple-choice answer, "equals" means "includes". Stored as ``in``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    question: str = Field(description="the id of an earlier question (not a free-text one)")
    equals: ConditionValue | None = Field(default=None, description="the one answer that "
                                                                    "shows the question")
    in_: tuple[ConditionValue, ...] = Field(default=(), alias="in",
                                            description="the answers that show the question")

    @model_validator(mode="before")
    @classmethod
    def _one_of_equals_or_in(cls, raw: object) -> object:
        if not isinstance(raw, Mapping) or "question" not in raw or (
                ("equals" in raw) == ("in" in raw)):
            raise _problem("show_if has question and either equals or in")
        if "equals" in raw:
            return {"question": raw["question"], "in": [raw["equals"]]}
        if not isinstance(raw["in"], list | tuple) or not raw["in"]:
            raise _problem("show_if in needs a list of values")
        return raw

    @property
    def values(self) -> tuple[str | int | bool, ...]:
        return self.in_

    @model_serializer
    def _as_stored(self) -> dict[str, Any]:
        return {"question": self.question, "in": list(self.in_)}

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


class Question(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, BeforeValidator(_question_id)]
    type: Annotated[QuestionType, BeforeValidator(_question_type)]
    text: Texts
    options: tuple[Option, ...] = Field(default=(), description="choice questions: two or more")
    optional: StrictBool = Field(default=False, description="may be skipped")
    min: StrictInt | None = Field(default=None, description="number: lowest; scale: always 1")
    max: StrictInt | None = Field(default=None, description="number: highest; scale: 2 to "
                                                            f"{MAX_SCALE_STEPS} (default 5)")
    show_if: Condition | None = None
    # Scale anchors, e.g. 1 = "very easy", 5 = "very hard".
    low: OptionalTexts = None
    high: OptionalTexts = None

    @model_validator(mode="before")
    @classmethod
    def _scale_defaults(cls, raw: object) -> object:
        if isinstance(raw, Mapping) and raw.get("type") == QuestionType.SCALE.value:
            return {**raw, "min": raw.get("min", 1), "max": raw.get("max", 5)}
        return raw

    @model_validator(mode="after")
    def _fits_its_type(self) -> Question:
        problems = []
        if self.type in CHOICE_TYPES:
            if len(self.options) < 2:
                problems.append("at least two options")
            codes = [o.code for o in self.options]
            problems += [f"option code {code!r} used twice"
                         for code in sorted({c for c in codes if codes.count(c) > 1})]
        elif self.options:
            problems.append("options are for choice questions")
        if self.type is QuestionType.SCALE:
            # From 1, so that the typed number, the button's number and the value agree.
            if self.min != 1 or self.max is None or not 1 < self.max <= MAX_SCALE_STEPS:
                problems.append(f"a scale goes from 1 to a max of at most {MAX_SCALE_STEPS}")
        elif self.type is QuestionType.NUMBER:
            if self.min is not None and self.max is not None and self.min > self.max:
                problems.append("min is above max")
        elif self.min is not None or self.max is not None:
            problems.append("min and max are for number and scale questions")
        if self.type is not QuestionType.SCALE and (self.low or self.high):
            problems.append("low and high are for scale questions")
        if problems:
            raise _problem("; ".join(problems))
        return self

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(o.code for o in self.options)

    @property
    def bounds(self) -> tuple[int, int]:
        """Scale bounds (default 1–5)."""
        return (self.min if self.min is not None else 1, self.max if self.max is not None else 5)


class Definition(BaseModel):
    """A questionnaire: every text in every language, questions asked one at a time."""

    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_extra={"examples": [{
        "slug": "mood", "title": {loc: f"Mood ({loc})" for loc in SUPPORTED_LOCALES},
        "questions": [{"id": "mood", "type": "yes_no",
                       "text": {loc: f"All right? ({loc})" for loc in SUPPORTED_LOCALES}}]}]})

    slug: Annotated[str, BeforeValidator(_slug)]
    version: StrictInt = Field(default=1, ge=1, description="set by the server: 1, then one "
                                                            "more per new version")
    title: Texts
    intro: OptionalTexts = None
    outro: OptionalTexts = None
    questions: tuple[Question, ...] = Field(description="at least one, asked in this order")

    @field_validator("questions", mode="before")
    @classmethod
    def _some_questions(cls, raw: object) -> object:
        if not isinstance(raw, list | tuple) or not raw:
            raise _problem("at least one question")
        return raw

    @field_validator("questions")
    @classmethod
    def _questions_fit_together(cls, questions: tuple[Question, ...]) -> tuple[Question, ...]:
        problems = []
        seen: dict[str, Question] = {}
        for question in questions:
            if question.id in seen:
                problems.append(f"question {question.id}: id used twice")
            condition = question.show_if
            if condition is not None:
                target = seen.get(condition.question)
                if target is None:
                    problems.append(f"question {question.id}: show_if must refer to an earlier "
                                    f"question")
                else:
                    problems += [f"question {question.id}: show_if value {value!r} is not a "
                                 f"possible answer to {target.id}"
                                 for value in condition.values
                                 if not _condition_value_fits(target, value)]
            seen.setdefault(question.id, question)
        if problems:
            raise _problem("; ".join(problems))
        return questions

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)


def _condition_value_fits(target: Question, value: object) -> bool:
    if target.type in CHOICE_TYPES:
        return isinstance(value, str) and value in target.codes
    if target.type is QuestionType.YES_NO:
        return isinstance(value, bool)
    if target.type in (QuestionType.SCALE, QuestionType.NUMBER):
        return isinstance(value, int) and not isinstance(value, bool)
    return False  # free text is never a condition


# --------------------------------------------------------------------------------------------
# Reading and writing definitions
# --------------------------------------------------------------------------------------------

class DefinitionError(ValueError):
    """A questionnaire definition that cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


def parse_definition(raw: object) -> Definition:
    """Read a definition (from YAML or JSON); every problem is reported at once."""
    if not isinstance(raw, Mapping):
        raise DefinitionError(["a questionnaire is a mapping with slug, title and questions"])
    try:
        return Definition.model_validate(raw)
    except ValidationError as error:
        raise DefinitionError(problems_of(error, raw)) from None


def problems_of(error: ValidationError, raw: Mapping[str, Any]) -> list[str]:
    """Validation errors as sentences that name the question by its id."""
    problems = []
    for item in error.errors(include_url=False):
        where = _where(item["loc"], raw)
        # Our own checks join what they found with "; ": one sentence per problem here.
        messages = str(item["msg"]).split("; ") if item["type"] == "questionnaire" \
            else [str(item["msg"])]
        for message in messages:
            # Checks across questions already name the question they are about.
            named = where == "questions" and message.startswith("question ")
            problems.append(f"{where}: {message}" if where and not named else message)
    return problems


def _where(loc: Sequence[int | str], raw: Mapping[str, Any]) -> str:
    parts: list[str] = []
    rest = list(loc)
    if len(rest) >= 2 and rest[0] == "questions" and isinstance(rest[1], int):
        index = rest[1]
        items = raw.get("questions")
        item = items[index] if isinstance(items, list) and index < len(items) else None
        qid = item.get("id") if isinstance(item, Mapping) else None
        parts.append(f"question {qid if isinstance(qid, str) and qid else index + 1}")
        rest = rest[2:]
    while rest:
        part = rest.pop(0)
        if part == "options" and rest and isinstance(rest[0], int):
            parts.append(f"option {int(rest.pop(0)) + 1}")
        else:
            parts.append(str(part))
    return " ".join(parts)


def definition_to_dict(definition: Definition) -> dict[str, Any]:
    """The JSON stored in the database; ``parse_definition`` reads it back unchanged."""
    data = definition.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    data["version"] = definition.version
    return data


def localized(texts: Mapping[str, str], locale: str) -> str:
    """The text in ``locale``, else French, else English, else any."""
    for candidate in (locale, *FALLBACK_LOCALES):
        if texts.get(candidate):
            return texts[candidate]
    return next(iter(texts.values()), "")


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
