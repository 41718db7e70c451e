"""Walking through a questionnaire: which question comes next, and the "2/5" progress mark."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from core.questionnaires.definition import AnswerValue, Definition, Question


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
