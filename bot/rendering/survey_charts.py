"""One PNG bar chart per choice question of a questionnaire's results, in the reader's language.

Figure API only (never pyplot); labels through gettext, option labels from the questionnaire's
own content in the reader's locale. Palette PNG, 1080 px wide, well under 150 KB.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from core.questionnaires.definition import (
    CHOICE_TYPES,
    Definition,
    Question,
    QuestionType,
    localized,
)
from core.questionnaires.results import QuestionResult
from meters.charts import figure_png

Gettext = Callable[[str], str]
CHARTED_TYPES = frozenset({*CHOICE_TYPES, QuestionType.YES_NO, QuestionType.SCALE})
WIDTH_IN, DPI = 7.2, 150
BAR = "#1f5fa8"
FONT: Any = {"font.family": "DejaVu Sans", "font.size": 13, "axes.titlesize": 15,
        "axes.spines.top": False, "axes.spines.right": False}


def option_label(question: Question, code: str, locale: str, gettext: Gettext) -> str:
    """The reader's words for an answer code."""
    if question.type is QuestionType.YES_NO:
        return gettext("Yes") if code == "yes" else gettext("No")
    for option in question.options:
        if option.code == code:
            return localized(option.label, locale)
    return code


def is_charted(question: Question) -> bool:
    return question.type in CHARTED_TYPES


def question_chart(question: Question, result: QuestionResult, locale: str,
                   gettext: Gettext) -> bytes:
    """Horizontal bars, one per option, with the count at the end of each bar."""
    counts = result.counts or {}
    codes = list(counts)
    labels = [textwrap.fill(option_label(question, c, locale, gettext), 28) for c in codes]
    values = [counts[c] for c in codes]
    height = max(3.0, 1.2 + 0.55 * len(codes))
    with matplotlib.rc_context(FONT):
        figure = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
        axes = figure.add_subplot()
        positions = np.arange(len(codes))
        axes.barh(positions, values, color=BAR)
        axes.set_yticks(positions, labels)
        axes.invert_yaxis()
        top = max(values, default=0)
        axes.set_xlim(0, max(1, top) * 1.15)
        for position, value in zip(positions, values, strict=True):
            axes.text(value + max(1, top) * 0.01, float(position), str(value), va="center")
        axes.set_xlabel(gettext("Number of answers"))
        axes.set_title(textwrap.fill(localized(question.text, locale), 55),
                       loc="right" if locale == "ar" else "left")
        if locale == "ar":
            axes.yaxis.tick_right()
        return figure_png(figure)


def charts_for(definition: Definition, results: list[QuestionResult], locale: str,
               gettext: Gettext) -> list[tuple[Question, QuestionResult, bytes]]:
    """A chart for every choice question whose counts may be shown (``privacy_k`` answers)."""
    charts = []
    for result in results:
        question = definition.question(result.question_id)
        if question is None or not is_charted(question) or result.counts is None \
                or not result.answered:
            continue
        charts.append((question, result, question_chart(question, result, locale, gettext)))
    return charts
