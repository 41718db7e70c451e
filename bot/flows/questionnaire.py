"""A questionnaire over chat: one question at a time, any channel, any of the five languages.

Pure like every flow: the definition comes through the ``Directory`` (``questionnaire``),
answers go out as effects (``RecordAnswer``, ``CompleteResponse``, ``ExpireResponse`` from
``core.questionnaires.responses``) that the inbox applies with ``apply_questionnaire_effect``.

Started by a scheduled message (``start``, from ``bot/rendering/survey_invitations.py``), not
from the menu. Its state (``QuestionnaireState``) keeps ``asked``: a snapshot of the question
being asked, so that ``reprompt`` can ask it again after a detour through the menu without
any lookup, and ``given``: answers the person gave another way (not at home, said under the
alert's start message), recorded without asking and left out of the "2/5" mark.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar, cast

from pydantic import Field, ValidationError, ValidatorFunctionWrapHandler, WrapValidator

from bot.flows.base import (
    BaseFlow,
    Directory,
    Effect,
    FlowData,
    FlowResult,
    Who,
    say,
)
from bot.flows.gestures import offer_after
from bot.flows.menu import show_menu
from bot.i18n import keywords
from bot.i18n.answers import SKIPPED, Invalid, Reason, Skipped, parse_answer
from core.clock import as_utc
from core.messages import Choice, IncomingMessage, OutgoingMessage
from core.questionnaires.definition import (
    Answers,
    AnswerValue,
    Definition,
    DefinitionError,
    Question,
    QuestionType,
    localized,
    parse_definition,
    value_fits,
)
from core.questionnaires.responses import (
    CompleteResponse,
    ExpireResponse,
    QuestionnaireEffect,
    RecordAnswer,
)
from core.questionnaires.storage import QuestionnaireLookup
from core.questionnaires.walk import next_question

FLOW = "questionnaire"
STEP = "answer"
BUTTON_PREFIX = "q:"
SKIP_KEY = "skip"
# After this many invalid replies in a row, an optional question is skipped and a required
# one is moved to the end (once; the second time round it is dropped).
MAX_INVALID = 2
KIND_QUESTION = "questionnaire_question"
KIND_CLOSED = "questionnaire_closed"

__all__ = [
    "FLOW",
    "QUESTIONNAIRE",
    "CompleteResponse",
    "ExpireResponse",
    "QuestionnaireState",
    "RecordAnswer",
    "closed",
    "is_questionnaire_button",
    "known_answers",
    "progress_mark",
    "start",
]

T = TypeVar("T")


def _or(default: Callable[[], T]) -> WrapValidator:
    """A field whose damaged stored value falls back to ``default``: a stray value in an old
    state must not lose the person's place in the survey."""

    def validate(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError:
            return default()

    return WrapValidator(validate)


class QuestionnaireState(FlowData):
    step: Literal["answer"] = "answer"
    # Without these two there is nothing to continue: the router resumes politely.
    questionnaire_id: int
    response_id: int = Field(gt=0)
    version: Annotated[int, _or(int)] = 0
    expires_at: Annotated[datetime | None, _or(lambda: None)] = None
    # The id of the question being asked, and a snapshot of it (with its "2/5" mark).
    question: Annotated[str | None, _or(lambda: None)] = None
    asked: Annotated[dict[str, Any] | None, _or(lambda: None)] = None
    # Invalid replies to it so far.
    invalid: Annotated[int, _or(int)] = 0
    answers: Annotated[dict[str, Any], _or(dict)] = Field(default_factory=dict)
    deferred: Annotated[list[str], _or(list)] = Field(default_factory=list)
    dropped: Annotated[list[str], _or(list)] = Field(default_factory=list)
    given: Annotated[list[str], _or(list)] = Field(default_factory=list)


def _effects(*items: QuestionnaireEffect) -> tuple[Effect, ...]:
    # Until ``bot.flows.base.Effect`` lists the questionnaire effects, tell mypy they belong.
    return cast(tuple[Effect, ...], items)


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------

def known_answers(definition: Definition | None, known: Mapping[str, AnswerValue]
                  ) -> dict[str, AnswerValue]:
    """Of the answers the person gave another way, those this questionnaire asks for."""
    if definition is None:
        return {}
    kept: dict[str, AnswerValue] = {}
    for question_id, value in known.items():
        question = definition.question(question_id)
        if question is not None and value_fits(question, value):
            kept[question_id] = value
    return kept


def start(who: Who, questionnaire_id: int, response_id: int, lookup: QuestionnaireLookup,
          expires_at: datetime, answers: Mapping[str, AnswerValue] | None = None,
          given: Sequence[str] = (), intro: str | None = None) -> FlowResult:
    """The first (or next, with ``answers`` already given) question, with the intro.

    The response row exists already (``core.questionnaires.responses.start_response``);
    ``given`` names the answers recorded without asking (they are not counted in the "2/5" mark).
    """
    definition = lookup.questionnaire(questionnaire_id)
    if definition is None or response_id <= 0:
        return _gone(who)
    kept = _answers(answers or {}, definition)
    state = QuestionnaireState(
        questionnaire_id=questionnaire_id, response_id=response_id,
        version=definition.version, expires_at=as_utc(expires_at), answers=kept,
        given=[question_id for question_id in given if question_id in kept])
    opening = intro if intro is not None else (
        localized(definition.intro, who.locale) if definition.intro else None)
    return _advance(who, definition, state, effects=(), intro=opening)


class Questionnaire(BaseFlow[QuestionnaireState]):
    name = FLOW
    State = QuestionnaireState

    def start(self, message: IncomingMessage, who: Who, directory: Directory) -> FlowResult:
        # Questionnaires begin with a scheduled message (``start`` above), never here.
        return show_menu(who)

    def step(self, message: IncomingMessage, who: Who, state: QuestionnaireState,
             directory: Directory) -> FlowResult:
        """A reply to the question being asked."""
        definition = directory.questionnaire(state.questionnaire_id)
        if definition is None:
            return _gone(who)
        now = message.received_at or datetime.now(UTC)
        if state.expires_at is not None and as_utc(state.expires_at) <= as_utc(now):
            return closed(who, state.response_id)
        answers = _answers(state.answers, definition)
        state = state.model_copy(update={"answers": answers})
        question = definition.question(state.question or "")
        if question is None or question.id in answers or question.id in state.dropped:
            return _advance(who, definition, state, effects=(), directory=directory)
        if message.choice_key is not None and not _button_of(message.choice_key, question):
            # A button under an earlier message: ask the current question again, no harm done.
            return _ask(who, definition, state, question,
                        intro=who.t.gettext("Let's continue the survey."))
        reply = _read(message, question, who)
        if isinstance(reply, Invalid):
            return _on_invalid(who, definition, state, question, reply, directory)
        value = None if isinstance(reply, Skipped) else reply
        if not value_fits(question, value):
            return _on_invalid(who, definition, state, question, Invalid(Reason.NOT_A_CHOICE),
                               directory)
        state = state.model_copy(update={"answers": {**answers, question.id: value},
                                         "invalid": 0})
        return _advance(who, definition, state,
                        effects=(RecordAnswer(state.response_id, question.id, value),),
                        directory=directory)

    def reprompt(self, who: Who, state: QuestionnaireState, directory: Directory
                 ) -> FlowResult:
        """Ask the pending question again (after MENU, HELP or a language change)."""
        asked = state.asked
        question = _from_snapshot(asked) if asked is not None else None
        if question is None or asked is None:
            return _gone(who)
        intro = who.t.gettext("Let's continue the survey.")
        message = _question_message(who, question, _int(asked.get("position")),
                                    _int(asked.get("total")), intro=intro)
        return FlowResult(replies=(message,), state=self.keep(state))


QUESTIONNAIRE = Questionnaire()


def closed(who: Who, response_id: int) -> FlowResult:
    """A late answer: the survey is closed."""
    text = who.t.gettext("Thank you! This survey is closed now, so there is nothing more to do.")
    result = show_menu(who, intro=text)
    effects = _effects(ExpireResponse(response_id)) if response_id > 0 else ()
    return FlowResult(replies=result.replies, state=result.state, effects=effects)


def is_questionnaire_button(message: IncomingMessage) -> bool:
    return bool(message.choice_key and message.choice_key.startswith(BUTTON_PREFIX))


# --------------------------------------------------------------------------------------------
# Reading a reply
# --------------------------------------------------------------------------------------------

def _read(message: IncomingMessage, question: Question, who: Who
          ) -> AnswerValue | Invalid | Skipped:
    if message.choice_key is not None:
        return _read_button(message.choice_key, question)
    text = message.text
    # The Skip choice is numbered last: "4" under three options and Skip means skip.
    if question.optional and keywords.parse_number(text) == len(_choices(who, question)):
        return SKIPPED
    return parse_answer(question, text, who.locale)


def _button_of(key: str, question: Question) -> bool:
    return key.startswith(f"{BUTTON_PREFIX}{question.id}:")


def _read_button(key: str, question: Question) -> AnswerValue | Invalid | Skipped:
    if not _button_of(key, question):
        return Invalid(Reason.NOT_A_CHOICE)
    code = key[len(f"{BUTTON_PREFIX}{question.id}:"):]
    if code == SKIP_KEY:
        return SKIPPED if question.optional else Invalid(Reason.REQUIRED)
    if question.type is QuestionType.YES_NO and code in ("yes", "no"):
        return code == "yes"
    if question.type is QuestionType.SCALE and code.isdigit() and code.isascii():
        return int(code)
    if code in question.codes:
        return [code] if question.type is QuestionType.MULTI_CHOICE else code
    return Invalid(Reason.NOT_A_CHOICE)


def _on_invalid(who: Who, definition: Definition, state: QuestionnaireState,
                question: Question, reply: Invalid, directory: Directory | None = None
                ) -> FlowResult:
    t = who.t
    invalid = state.invalid + 1
    if invalid < MAX_INVALID:
        explanation = _explain(who, question, reply.reason)
        return _ask(who, definition, state.model_copy(update={"invalid": invalid}), question,
                    intro=explanation)
    effects: tuple[QuestionnaireEffect, ...] = ()
    update: dict[str, Any] = {"invalid": 0}
    if question.optional:
        update["answers"] = {**state.answers, question.id: None}
        effects = (RecordAnswer(state.response_id, question.id, None),)
        intro = t.gettext("Let's skip this one.")
    elif question.id not in state.deferred:
        update["deferred"] = [*state.deferred, question.id]
        intro = t.gettext("No problem, we will come back to this question at the end.")
    else:
        update["dropped"] = [*state.dropped, question.id]
        intro = t.gettext("Let's skip this one.")
    state = state.model_copy(update=update)
    upcoming = next_question(definition, state.answers, state.deferred, state.dropped)
    if upcoming is not None and upcoming.id == question.id:
        intro = t.gettext("Let's try once more.")
    return _advance(who, definition, state, effects=effects, intro=intro, directory=directory)


def _explain(who: Who, question: Question, reason: Reason) -> str:
    t = who.t
    if reason is Reason.REQUIRED:
        return t.gettext("This question cannot be skipped, but a short answer is enough.")
    qtype = question.type
    if qtype is QuestionType.SINGLE_CHOICE:
        text = t.gettext("Please reply with the number of one answer, from 1 to {max}.",
                         max=len(question.options))
    elif qtype is QuestionType.MULTI_CHOICE:
        text = t.gettext("Please reply with the numbers of your answers, for example: 1 3")
    elif qtype is QuestionType.YES_NO:
        text = t.gettext("Please answer yes or no.")
    elif qtype is QuestionType.SCALE:
        low, high = question.bounds
        text = t.gettext("Please reply with a number from {min} to {max}.", min=low, max=high)
    elif qtype is QuestionType.NUMBER:
        text = _number_hint(who, question, asking=False)
    else:
        text = t.gettext("Please write a few words.")
    if question.optional:
        skip = t.gettext("Or reply SKIP to pass this question.")
        text = f"{text} {skip}"
    return text


def _number_hint(who: Who, question: Question, asking: bool) -> str:
    t = who.t
    if question.min is not None and question.max is not None:
        return t.gettext("Please reply with a number from {min} to {max}.",
                         min=question.min, max=question.max)
    if asking:
        return t.gettext("Reply with a number.")
    return t.gettext("Please reply with a number, for example: 3")


# --------------------------------------------------------------------------------------------
# Asking
# --------------------------------------------------------------------------------------------

def _advance(who: Who, definition: Definition, state: QuestionnaireState,
             effects: Sequence[QuestionnaireEffect], intro: str | None = None,
             directory: Directory | None = None) -> FlowResult:
    """The next question, or the thanks at the end. After the post-alert questionnaire, the
    thanks may come with the offer to choose a gesture (``directory`` says when)."""
    question = next_question(definition, state.answers, state.deferred, state.dropped)
    if question is None:
        thanks = localized(definition.outro, who.locale) if definition.outro \
            else who.t.gettext("Thank you for your answers!")
        if intro:
            thanks = f"{intro}\n{thanks}"
        offer_alert = directory.gesture_offer_alert(who.contact_id, state.response_id) \
            if directory is not None and who.contact_id is not None else None
        if offer_alert is not None:
            return offer_after(who, thanks, offer_alert, _effects(
                *effects, CompleteResponse(state.response_id)))
        done = show_menu(who, intro=thanks)
        return FlowResult(replies=done.replies, state=done.state,
                          effects=_effects(*effects, CompleteResponse(state.response_id)))
    result = _ask(who, definition, state, question, intro=intro)
    return FlowResult(replies=result.replies, state=result.state, effects=_effects(*effects))


def progress_mark(definition: Definition, question: Question, answers: Mapping[str, AnswerValue],
                  dropped: Sequence[str] = (), given: Sequence[str] = ()) -> tuple[int, int]:
    """(position, total) for the "2/5" mark of ``question``, counting only what this person
    is asked, so that the total never changes on the way.

    Not counted: answers given another way (``given``), and follow-up questions (those with a
    condition), unless the given answers already settle that they are asked. A follow-up
    carries the number of the question before it: "2/5" for "Did you use less?", "2/5" again
    for "What did you do?", then "3/5".
    """
    known = {question_id: answers[question_id] for question_id in given if question_id in answers}

    def counted(item: Question) -> bool:
        if item.id in given:
            return False
        condition = item.show_if
        return condition is None or (condition.question in known and condition.holds(known))

    numbered = [item for item in definition.questions if counted(item)]
    done = sum(1 for item in numbered if item.id in answers or item.id in dropped)
    position = done + 1 if counted(question) else max(done, 1)
    return position, max(len(numbered), position)


def _ask(who: Who, definition: Definition, state: QuestionnaireState, question: Question,
         intro: str | None = None) -> FlowResult:
    position, total = progress_mark(definition, question, state.answers, state.dropped,
                                    state.given)
    state = state.model_copy(update={
        "question": question.id,
        "asked": {**_snapshot(question), "position": position, "total": total}})
    message = _question_message(who, question, position, total, intro=intro)
    return FlowResult(replies=(message,), state=QUESTIONNAIRE.keep(state))


def _question_message(who: Who, question: Question, position: int, total: int,
                      intro: str | None = None) -> OutgoingMessage:
    t = who.t
    lines = [intro] if intro else []
    mark = t.isolate(f"{position}/{max(total, position)}")
    lines.append(f"{mark} {localized(question.text, who.locale)}")
    hint = _hint(who, question)
    if hint:
        lines.append(hint)
    return say(who, "\n".join(lines), *_choices(who, question), kind=KIND_QUESTION)


def _hint(who: Who, question: Question) -> str | None:
    t = who.t
    qtype = question.type
    if qtype is QuestionType.MULTI_CHOICE:
        return t.gettext("You can choose several, for example: 1 3")
    if qtype is QuestionType.SCALE:
        if question.low and question.high:
            return None  # the first and last buttons carry their meaning
        low, high = question.bounds
        return t.gettext("Please reply with a number from {min} to {max}.", min=low, max=high)
    if qtype is QuestionType.NUMBER:
        return _number_hint(who, question, asking=True)
    if qtype is QuestionType.TEXT:
        return t.gettext("Write a few words.")
    return None


def _choices(who: Who, question: Question) -> tuple[Choice, ...]:
    t = who.t

    def key(code: str) -> str:
        return f"{BUTTON_PREFIX}{question.id}:{code}"

    if question.type in (QuestionType.SINGLE_CHOICE, QuestionType.MULTI_CHOICE):
        choices = [Choice(key(o.code), localized(o.label, who.locale)) for o in question.options]
    elif question.type is QuestionType.YES_NO:
        choices = [Choice(key("yes"), t.gettext("Yes")), Choice(key("no"), t.gettext("No"))]
    elif question.type is QuestionType.SCALE:
        low, high = question.bounds
        choices = [Choice(key(str(n)), _scale_label(who, question, n))
                   for n in range(low, high + 1)]
    else:
        choices = []
    if question.optional:
        choices.append(Choice(key(SKIP_KEY), t.gettext("Skip")))
    return tuple(choices)


def _scale_label(who: Who, question: Question, number: int) -> str:
    low, high = question.bounds
    anchor = question.low if number == low else question.high if number == high else None
    return f"{number} ({localized(anchor, who.locale)})" if anchor else str(number)


def _gone(who: Who) -> FlowResult:
    text = who.t.gettext("This survey is no longer available. Thank you all the same!")
    return show_menu(who, intro=text)


# --------------------------------------------------------------------------------------------
# State helpers: the stored state is JSON and may be old or odd; never trust its shape
# --------------------------------------------------------------------------------------------

def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _answers(raw: Mapping[str, Any], definition: Definition) -> Answers:
    kept: Answers = {}
    for question in definition.questions:
        if question.id in raw and value_fits(question, raw[question.id]):
            kept[question.id] = raw[question.id]
    return kept


def _snapshot(question: Question) -> dict[str, Any]:
    item: dict[str, Any] = {"id": question.id, "type": question.type.value,
                            "text": dict(question.text), "optional": question.optional}
    if question.options:
        item["options"] = [{"code": o.code, "label": dict(o.label)} for o in question.options]
    for name in ("min", "max"):
        if getattr(question, name) is not None:
            item[name] = getattr(question, name)
    if question.low:
        item["low"] = dict(question.low)
    if question.high:
        item["high"] = dict(question.high)
    return item


def _from_snapshot(asked: Mapping[str, Any]) -> Question | None:
    item = {k: v for k, v in asked.items() if k not in ("position", "total")}
    try:
        definition = parse_definition({"slug": "snapshot", "title": item.get("text"),
                                       "questions": [item]})
    except DefinitionError:
        return None
    return definition.questions[0]
