"""A questionnaire over chat: one question at a time, any channel, any of the five languages.

Pure like every flow: the definition comes from an injected ``QuestionnaireLookup``, answers go
out as effects (``RecordAnswer``, ``CompleteResponse``, ``ExpireResponse`` from
``core.questionnaires.responses``) that the inbox applies with ``apply_questionnaire_effect``.

State data (JSON): questionnaire_id, version, response_id, expires_at (ISO, UTC), question (the
id being asked), invalid (invalid replies to it so far), answers, deferred, dropped, and
``asked``: a snapshot of the question being asked so that ``reprompt(who, state)`` can ask it
again after a detour through the menu without any lookup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from bot.flows.base import IDLE, Effect, FlowResult, FlowState, Who, say
from bot.flows.menu import menu_message
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
from core.questionnaires.walk import next_question, progress

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
    "CompleteResponse",
    "ExpireResponse",
    "RecordAnswer",
    "closed",
    "is_questionnaire_button",
    "reprompt",
    "start",
    "step",
]


def _effects(*items: QuestionnaireEffect) -> tuple[Effect, ...]:
    # Until ``bot.flows.base.Effect`` lists the questionnaire effects, tell mypy they belong.
    return cast(tuple[Effect, ...], items)


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------

def start(who: Who, questionnaire_id: int, response_id: int, lookup: QuestionnaireLookup,
          expires_at: datetime, answers: Mapping[str, AnswerValue] | None = None,
          intro: str | None = None) -> FlowResult:
    """The first (or next, with ``answers`` already given) question, with the intro.

    The response row exists already (``core.questionnaires.responses.start_response``).
    """
    definition = lookup.questionnaire(questionnaire_id)
    if definition is None:
        return _gone(who)
    data: dict[str, Any] = {
        "questionnaire_id": questionnaire_id,
        "version": definition.version,
        "response_id": response_id,
        "expires_at": as_utc(expires_at).isoformat(),
        "answers": _answers({"answers": answers or {}}, definition),
        "deferred": [],
        "dropped": [],
        "invalid": 0,
    }
    opening = intro if intro is not None else (
        localized(definition.intro, who.locale) if definition.intro else None)
    return _advance(who, definition, data, effects=(), intro=opening)


def step(message: IncomingMessage, who: Who, state: FlowState, lookup: QuestionnaireLookup,
         now: datetime) -> FlowResult:
    """A reply to the question being asked."""
    data = dict(state.data)
    definition = lookup.questionnaire(_int(data.get("questionnaire_id")))
    response_id = _int(data.get("response_id"))
    if definition is None or response_id <= 0:
        return _gone(who)
    if _is_past(data.get("expires_at"), now):
        return closed(who, state)
    answers = _answers(data, definition)
    deferred = _ids(data.get("deferred"))
    dropped = _ids(data.get("dropped"))
    data.update(answers=answers, deferred=deferred, dropped=dropped)
    question = definition.question(str(data.get("question", "")))
    if question is None or question.id in answers or question.id in dropped:
        return _advance(who, definition, data, effects=())
    if message.choice_key is not None and not _button_of(message.choice_key, question):
        # A button under an earlier message: ask the current question again, no harm done.
        return _ask(who, definition, data, question,
                    intro=who.t.gettext("Let's continue the survey."))
    reply = _read(message, question, who)
    if isinstance(reply, Invalid):
        return _on_invalid(who, definition, data, question, reply)
    value = None if isinstance(reply, Skipped) else reply
    if not value_fits(question, value):
        return _on_invalid(who, definition, data, question, Invalid(Reason.NOT_A_CHOICE))
    data["answers"] = {**answers, question.id: value}
    data["invalid"] = 0
    return _advance(who, definition, data,
                    effects=(RecordAnswer(response_id, question.id, value),))


def reprompt(who: Who, state: FlowState) -> FlowResult:
    """Ask the pending question again (after MENU, HELP or a language change)."""
    asked = state.data.get("asked")
    question = _from_snapshot(asked) if isinstance(asked, Mapping) else None
    if question is None:
        return _gone(who)
    assert isinstance(asked, Mapping)
    intro = who.t.gettext("Let's continue the survey.")
    message = _question_message(who, question, _int(asked.get("position")),
                                _int(asked.get("total")), intro=intro)
    return FlowResult(replies=(message,), state=state)


def closed(who: Who, state: FlowState) -> FlowResult:
    """A late answer: the survey is closed. Also for the router when the stored state expired."""
    text = who.t.gettext("Thank you! This survey is closed now, so there is nothing more to do.")
    response_id = _int(state.data.get("response_id"))
    effects = _effects(ExpireResponse(response_id)) if response_id > 0 else ()
    return FlowResult(replies=(menu_message(who, intro=text),),
                      state=FlowState("menu", "choose"), effects=effects)


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


def _on_invalid(who: Who, definition: Definition, data: dict[str, Any], question: Question,
                reply: Invalid) -> FlowResult:
    t = who.t
    invalid = _int(data.get("invalid")) + 1
    if invalid < MAX_INVALID:
        data["invalid"] = invalid
        explanation = _explain(who, question, reply.reason)
        return _ask(who, definition, data, question, intro=explanation)
    data["invalid"] = 0
    effects: tuple[QuestionnaireEffect, ...] = ()
    response_id = _int(data.get("response_id"))
    if question.optional:
        data["answers"] = {**data["answers"], question.id: None}
        effects = (RecordAnswer(response_id, question.id, None),)
        intro = t.gettext("Let's skip this one.")
    elif question.id not in data["deferred"]:
        data["deferred"] = [*data["deferred"], question.id]
        intro = t.gettext("No problem, we will come back to this question at the end.")
    else:
        data["dropped"] = [*data["dropped"], question.id]
        intro = t.gettext("Let's skip this one.")
    upcoming = next_question(definition, data["answers"], data["deferred"], data["dropped"])
    if upcoming is not None and upcoming.id == question.id:
        intro = t.gettext("Let's try once more.")
    return _advance(who, definition, data, effects=effects, intro=intro)


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

def _advance(who: Who, definition: Definition, data: dict[str, Any],
             effects: Sequence[QuestionnaireEffect], intro: str | None = None) -> FlowResult:
    question = next_question(definition, data["answers"], data["deferred"], data["dropped"])
    if question is None:
        response_id = _int(data.get("response_id"))
        thanks = localized(definition.outro, who.locale) if definition.outro \
            else who.t.gettext("Thank you for your answers!")
        if intro:
            thanks = f"{intro}\n{thanks}"
        return FlowResult(replies=(say(who, thanks),), state=IDLE,
                          effects=_effects(*effects, CompleteResponse(response_id)))
    result = _ask(who, definition, data, question, intro=intro)
    return FlowResult(replies=result.replies, state=result.state, effects=_effects(*effects))


def _ask(who: Who, definition: Definition, data: dict[str, Any], question: Question,
         intro: str | None = None) -> FlowResult:
    position, total = progress(definition, data["answers"], data["dropped"])
    data = {**data, "question": question.id,
            "asked": {**_snapshot(question), "position": position, "total": total}}
    message = _question_message(who, question, position, total, intro=intro)
    return FlowResult(replies=(message,), state=FlowState(flow=FLOW, step=STEP, data=data))


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
    return FlowResult(replies=(menu_message(who, intro=text),), state=FlowState("menu", "choose"))


# --------------------------------------------------------------------------------------------
# State helpers: the stored state is JSON and may be old or odd; never trust its shape
# --------------------------------------------------------------------------------------------

def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _ids(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _answers(data: Mapping[str, Any], definition: Definition) -> Answers:
    raw = data.get("answers")
    if not isinstance(raw, Mapping):
        return {}
    kept: Answers = {}
    for question in definition.questions:
        if question.id in raw and value_fits(question, raw[question.id]):
            kept[question.id] = raw[question.id]
    return kept


def _is_past(expires_at: object, now: datetime) -> bool:
    if not isinstance(expires_at, str):
        return False
    try:
        moment = datetime.fromisoformat(expires_at)
    except ValueError:
        return False
    return as_utc(moment) <= as_utc(now)


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
