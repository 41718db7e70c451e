"""The database side of the appliance exercise and of "Gestures together".

Residents' answers and chosen gestures are written here (effects of
``bot/flows/appliance_exercise.py``). Facilitators read the community's figures: how many
households chose a gesture and which, how check-ins went, and the exercise's group summary as
text and as a chart (drawn like the survey charts: Figure API, palette PNG). Every figure
covers at least ``privacy_k`` households (``core.gestures``); below that, the reply says how
many are needed, never how many there are.
"""

from __future__ import annotations

import textwrap
from datetime import datetime

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from sqlmodel import Session

from bot.flows.base import ChooseSuggestedGesture, RecordApplianceRatings, Who
from bot.i18n import Translator, translator
from bot.rendering.survey_charts import DPI, FONT, WIDTH_IN
from core.gesture_content import Rating, appliance_exercise, localized
from core.gestures import (
    MAX_ACTIVE_COMMITMENTS,
    ChooseOutcome,
    appliance_summary,
    choose_gesture,
    commitment_stats,
    commitment_tally,
    exercise_households,
    gesture_text,
    latest_gesture,
    record_appliance_rating,
)
from core.media import store_png
from core.messages import OutgoingMessage
from core.models import Community, Contact, Role
from meters.charts import figure_png

# Dark to light: what cannot wait, what could, what is comfort.
COLOURS = {Rating.INDISPENSABLE: "#1f5fa8", Rating.USEFUL: "#6f9fd8",
           Rating.COMFORTABLE: "#c5d9f1"}
MAX_GESTURE_LINES = 8


# -- residents ---------------------------------------------------------------------------------

def record_ratings(session: Session, contact: Contact, effect: RecordApplianceRatings,
                   now: datetime) -> None:
    if contact.id is None:
        return
    for appliance, rating in effect.ratings:
        try:
            record_appliance_rating(session, contact.id, appliance, rating, now)
        except ValueError:  # an appliance or a rating the exercise no longer has
            continue


def choose_suggested(session: Session, contact: Contact, effect: ChooseSuggestedGesture,
                     now: datetime) -> OutgoingMessage | None:
    """Choose the gesture; a reply that replaces the flow's "Noted" when it could not be."""
    if contact.id is None:
        return None
    result = choose_gesture(session, contact.id, effect.slug, now, context="exercise")
    t = translator(contact.locale)
    if result.outcome is ChooseOutcome.LIMIT_REACHED:
        return OutgoingMessage(text=t.ngettext(
            "You already have {count} gesture, which is plenty: nothing was added.",
            "You already have {count} gestures, which is plenty: nothing was added.",
            MAX_ACTIVE_COMMITMENTS), locale=contact.locale)
    if result.outcome is ChooseOutcome.UNKNOWN_GESTURE:
        return OutgoingMessage(text=t.gettext("Sorry, this gesture is no longer offered."),
                               locale=contact.locale)
    return None


# -- facilitators ------------------------------------------------------------------------------

def _commitments_text(session: Session, t: Translator, community: Community, locale: str,
                      now: datetime) -> list[str]:
    assert community.id is not None
    k = community.privacy_k
    tally = commitment_tally(session, community.id, now, k)
    if tally is None:
        return [t.gettext("Gestures: figures appear once {k} households have chosen one, so "
                          "that nobody can be recognised.", k=k)]
    lines = [t.ngettext("{count} household has chosen a gesture.",
                        "{count} households have chosen a gesture.", tally.households)]
    shown = [(slug, stats) for slug, stats in commitment_stats(session, community.id, now,
                                                                k).items()
             if stats is not None and stats.active_households]
    shown.sort(key=lambda item: -item[1].active_households)
    for slug, stats in shown[:MAX_GESTURE_LINES]:
        gesture = latest_gesture(session, slug, active_only=False)
        name = gesture_text(gesture, locale, community.default_locale) if gesture else slug
        line = "\u2022 " + t.ngettext("{gesture}: {count} household",
                                      "{gesture}: {count} households",
                                      stats.active_households, gesture=name)
        if stats.check_ins is not None:
            line += " " + t.gettext("(check-ins: yes {yes}, sometimes {sometimes}, not this "
                                    "time {not_this_time})", **stats.check_ins)
        lines.append(line)
    lines.append(t.gettext("Gestures chosen by fewer than {k} households are not shown.", k=k))
    return lines


def exercise_lines(t: Translator, summary: dict[str, dict[str, int]], households: int,
                   locale: str) -> list[str]:
    """Per appliance, how many households find it indispensable, useful, for comfort."""
    exercise = appliance_exercise()
    labels = {rating: localized(exercise.ratings[rating], locale) for rating in Rating}
    lines = [t.ngettext(
        "\u201cWhich appliances can wait?\u201d, {count} household: during an alert, "
        "{indispensable} / {useful} / {comfortable}",
        "\u201cWhich appliances can wait?\u201d, {count} households: during an alert, "
        "{indispensable} / {useful} / {comfortable}", households,
        indispensable=labels[Rating.INDISPENSABLE], useful=labels[Rating.USEFUL],
        comfortable=labels[Rating.COMFORTABLE])]
    for appliance in exercise.appliances:
        counts = summary.get(appliance.slug, {})
        lines.append(f"\u2022 {localized(appliance.name, locale)}: "
                     + " / ".join(str(counts.get(r.value, 0)) for r in Rating))
    return lines


def exercise_chart(t: Translator, summary: dict[str, dict[str, int]], households: int,
                   locale: str) -> bytes:
    """One stacked bar per appliance: indispensable, useful, for comfort."""
    exercise = appliance_exercise()
    appliances = exercise.appliances
    names = [textwrap.fill(localized(a.name, locale), 24) for a in appliances]
    positions = np.arange(len(appliances))
    height = max(3.5, 1.6 + 0.5 * len(appliances))
    with matplotlib.rc_context(FONT):
        figure = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
        axes = figure.add_subplot()
        left = np.zeros(len(appliances))
        for rating in Rating:
            values = np.array([summary.get(a.slug, {}).get(rating.value, 0) for a in appliances],
                              dtype=float)
            axes.barh(positions, values, left=left, color=COLOURS[rating],
                      label=localized(exercise.ratings[rating], locale))
            left += values
        axes.set_yticks(positions, names)
        axes.invert_yaxis()
        axes.set_xlim(0, max(1.0, float(left.max(initial=0))) * 1.05)
        axes.set_xlabel(t.gettext("Households"))
        axes.set_title(textwrap.fill(t.gettext("During an alert, for {count} households",
                                               count=households), 55),
                       loc="right" if locale == "ar" else "left")
        axes.legend(loc="lower center", bbox_to_anchor=(0.5, 1.08), ncols=3, frameon=False)
        if locale == "ar":
            axes.yaxis.tick_right()
        return figure_png(figure)


def gestures_together_replies(session: Session, who: Who, now: datetime
                              ) -> list[OutgoingMessage]:
    """A text (gestures, check-ins, the exercise) and the exercise's chart; facilitators of
    the community only."""
    if who.role != Role.FACILITATOR or who.community is None:
        return []
    community = session.get(Community, who.community.id)
    if community is None or community.id is None:
        return []
    t = translator(who.locale)
    lines = _commitments_text(session, t, community, who.locale, now)
    summary = appliance_summary(session, community.id, community.privacy_k)
    households = exercise_households(session, community.id)
    if summary is None:
        lines.append(t.gettext("\u201cWhich appliances can wait?\u201d: the group's answers "
                               "appear once {k} households have taken part.",
                               k=community.privacy_k))
        return [OutgoingMessage(text="\n".join(lines), locale=who.locale,
                                kind="gestures_together")]
    lines += exercise_lines(t, summary, households, who.locale)
    token = store_png(session, exercise_chart(t, summary, households, who.locale), now)
    caption = t.gettext("\u201cWhich appliances can wait?\u201d: a starting point for a "
                        "workshop discussion.")
    return [OutgoingMessage(text="\n".join(lines), locale=who.locale, kind="gestures_together"),
            OutgoingMessage(text=caption, locale=who.locale, kind="chart",
                            extra={"image_token": token})]
