"""What residents read after an alert: the community's result, and their own when they ask.

The collective message goes by SMS too, so every variant fits in two segments in every
language (UCS-2 for Arabic: 134 characters with the figures). It carries the aggregate only:
no neighbour's figures, no ranking, and no moralising when the group used more than usual.
Below 0.05 kWh or half a percent the difference is "about as much as usual": the meters are
not that precise, and "0.0 kWh less" would read as a joke.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.flows.alert import drill_label
from bot.i18n import Translator, choose_locale, translator
from bot.i18n.formatting import format_kwh, format_local_datetime, format_percentage
from core.alerts import Alert
from core.gestures import CommitmentTally
from core.models import Community, Contact, Role
from meters.analysis.impact import (
    REASON_FEW_REFERENCE_DAYS,
    REASON_GAP_BEFORE_NOTICE,
    CommunityImpact,
    HouseholdImpact,
)

# Differences smaller than these are "about as much as usual".
SAME_KWH = 0.05
SAME_PERCENT = 0.5
# Rebound worth telling a resident about (kWh more in the 3 hours after the alert).
REBOUND_WORTH_TELLING_KWH = 0.1


def signed_percentage(percent: float, locale: str) -> str:
    """-12 % or +12 %: the sign is part of the figure (format_percent only writes minus)."""
    text = format_percentage(percent / 100.0, locale)
    return text if percent < 0 else f"+{text}"


def _direction(delta_kwh: float | None, percent: float | None) -> str | None:
    """"less", "more", "same", or None when the figures are missing."""
    if delta_kwh is None or percent is None:
        return None
    if abs(delta_kwh) < SAME_KWH or abs(percent) < SAME_PERCENT:
        return "same"
    return "less" if delta_kwh < 0 else "more"


def community_result_text(t: Translator, impact: CommunityImpact) -> str:
    """"Together, N households used X kWh less than usual (-Y %)", or the honest variants."""
    direction = _direction(impact.delta_kwh, impact.percent) if impact.shown else None
    if direction is None:
        return t.gettext("Voisins: not enough meter data this time to measure the alert "
                         "together. Thanks for taking part!")
    count = impact.households_valid
    assert impact.delta_kwh is not None and impact.percent is not None
    kwh = format_kwh(abs(impact.delta_kwh), t.locale)
    percent = signed_percentage(impact.percent, t.locale)
    if direction == "less":
        return t.ngettext(
            "Voisins: together, {count} household used {kwh} less than usual during the alert "
            "({percent}). Thank you!",
            "Voisins: together, {count} households used {kwh} less than usual during the alert "
            "({percent}). Thank you!", count, kwh=kwh, percent=percent)
    if direction == "more":
        return t.ngettext(
            "Voisins: during the alert, {count} household used {kwh} more than usual "
            "({percent}). Thanks for taking part!",
            "Voisins: during the alert, {count} households used {kwh} more than usual "
            "({percent}). Thanks for taking part!", count, kwh=kwh, percent=percent)
    return t.ngettext(
        "Voisins: during the alert, {count} household used about as much as usual. "
        "Thanks for taking part!",
        "Voisins: during the alert, {count} households used about as much as usual. "
        "Thanks for taking part!", count)


def alert_result_text(t: Translator, alert: Alert, impact: CommunityImpact) -> str:
    """The community's result of ``alert``, marked as an exercise when it was a drill."""
    text = community_result_text(t, impact)
    return drill_label(t, text) if alert.drill else text


def _lower_first(text: str) -> str:
    """"Start the dishwasher…" inside a sentence; "TV…" stays as it is."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def gesture_tally_lines(t: Translator, tally: CommitmentTally, fallback: str | None = None
                        ) -> list[str]:
    """"N households have chosen a gesture; the most chosen: …", then the same without the
    gesture, for when the first does not fit in an SMS (only ever from k households: the
    tally is None below)."""
    count = tally.households
    short = t.ngettext("{count} household has chosen a gesture.",
                       "{count} households have chosen a gesture.", count)
    gesture = tally.most_chosen_text(t.locale, fallback)
    if not gesture:
        return [short]
    full = t.ngettext("{count} household has chosen a gesture; the most chosen: {gesture}.",
                      "{count} households have chosen a gesture; the most chosen: {gesture}.",
                      count, gesture=_lower_first(gesture.rstrip(".")))
    return [full, short]


def _fits_two_segments(text: str) -> bool:
    # Without the SMS counter (bot.channels, out of the flows' reach): 134 UTF-16 units fit
    # in two segments whatever the encoding. ``api/serve.py`` hands in the exact count.
    return len(text.encode("utf-16-le")) // 2 <= 134


SMS_CHANNELS = frozenset({"sms"})


class AlertResultMessages:
    """The scheduler's result renderer: one reader, in the reader's language.

    With ``tally`` (from k households with a gesture), the result says how many households
    have chosen one: on SMS only as much of it as keeps the message within two segments
    (``sms_fits``), nothing when even the short form would not fit.
    """

    def __init__(self, sms_fits: Callable[[str], bool] = _fits_two_segments) -> None:
        self.sms_fits = sms_fits

    def render(self, alert: Alert, community: Community, contact: Contact,
               impact: CommunityImpact, tally: CommitmentTally | None = None,
               channel: str | None = None) -> dict[str, Any]:
        locale = choose_locale(contact.locale, None, community.default_locale)
        t = translator(locale)
        text = self._with_tally(t, alert_result_text(t, alert, impact), tally,
                                channel in SMS_CHANNELS, community.default_locale)
        return {"text": text, "locale": locale, "choices": []}

    def render_for_group(self, alert: Alert, community: Community, impact: CommunityImpact,
                         tally: CommitmentTally | None = None) -> dict[str, Any]:
        """A group chat is read by many: the community's language."""
        locale = choose_locale(None, None, community.default_locale)
        t = translator(locale)
        text = self._with_tally(t, alert_result_text(t, alert, impact), tally, False,
                                community.default_locale)
        return {"text": text, "locale": locale, "choices": []}

    def _with_tally(self, t: Translator, text: str, tally: CommitmentTally | None, sms: bool,
                    fallback: str) -> str:
        if tally is None:
            return text
        for line in gesture_tally_lines(t, tally, fallback):
            candidate = f"{text}\n{line}"
            if not sms or self.sms_fits(candidate):
                return candidate
        return text


def own_result_text(t: Translator, alert: Alert, community: Community,
                    impact: HouseholdImpact | None, role: str = Role.RESIDENT.value) -> str:
    """A resident's own figures for one alert (their household only), for "my result";
    a drill's say it was an exercise."""
    return own_result_words(t, alert.starts_at, community.timezone, impact, role, alert.drill)


def own_result_words(t: Translator, starts_at: datetime, timezone: str,
                     impact: HouseholdImpact | None, role: str = Role.RESIDENT.value,
                     drill: bool = False) -> str:
    """The same, from the alert's start and the community's timezone."""
    text = _own_figures(t, starts_at, timezone, impact, role)
    if drill:
        return t.gettext("That alert was an exercise.") + " " + text
    return text


def _own_figures(t: Translator, starts_at: datetime, timezone: str,
                 impact: HouseholdImpact | None, role: str) -> str:
    when = format_local_datetime(starts_at, timezone, t.locale)
    if impact is None or not impact.valid or impact.alert_kwh is None \
            or impact.reference_kwh is None:
        if impact is not None and impact.reason in (REASON_FEW_REFERENCE_DAYS,
                                                    REASON_GAP_BEFORE_NOTICE):
            # The meter did report during the alert: no reason to blame it.
            return t.gettext("I can't measure the alert on {when} for your home yet: your "
                             "meter needs a few more ordinary days to know your usual.",
                             when=when)
        if role != Role.RESIDENT.value:  # staff are the help a resident would be sent to
            return t.gettext("Not enough data from your meter for the alert on {when}, "
                             "sorry. Often a meter that lost its Wi-Fi: check that it is "
                             "online.", when=when)
        return t.gettext("Not enough data from your meter for the alert on {when}, sorry. "
                         "Often a meter that lost its Wi-Fi: your facilitator can help.",
                         when=when)
    if _direction(impact.delta_kwh, impact.percent) == "same":
        text = t.gettext("During the alert on {when}, your home used {used}, about as much as "
                         "usual.", when=when, used=format_kwh(impact.alert_kwh, t.locale))
    else:
        assert impact.percent is not None
        text = t.gettext("During the alert on {when}, your home used {used} instead of the "
                         "usual {usual} ({percent}).", when=when,
                         used=format_kwh(impact.alert_kwh, t.locale),
                         usual=format_kwh(impact.reference_kwh, t.locale),
                         percent=signed_percentage(impact.percent, t.locale))
    if impact.after_kwh is not None and impact.after_kwh >= REBOUND_WORTH_TELLING_KWH:
        text += " " + t.gettext("In the 3 hours after, it used {kwh} more than usual.",
                                kwh=format_kwh(impact.after_kwh, t.locale))
    return text
