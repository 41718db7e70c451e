"""The alert-time gesture in the 30-minute notice: every alert gesture, every language, every
duration, real alerts and drills, each one SMS within two segments.

Measured before choosing the message: the start message, with its three numbered answers,
has no room for the line in Arabic (about 180 UCS-2 units with the longest gesture, 134 fit
in two segments); the 30-minute notice has, once the gesture takes the place of its general
"Thanks for using less electricity!".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.channels.rendering import render_sms
from bot.channels.sms_segments import count_segments
from bot.flows.alert import AlertMessages, duration_text, time_text
from bot.i18n import translator
from core.alerts import Alert, AlertStage
from core.config import SUPPORTED_LOCALES
from core.gesture_content import load_catalogue
from core.models import Community, Contact

COMMUNITY = Community(id=1, slug="c", name="C", join_code="C", timezone="Europe/Brussels")
START = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)  # Thursday 17:00 in Brussels
# The longest weekday and time each language can get, as tests/bot/channels measure them.
STARTS = [START - timedelta(days=1), START + timedelta(hours=5, minutes=45)]
DURATIONS = range(30, 6 * 60 + 1, 15)
ALERT_GESTURES = [g for content in load_catalogue() for g in content.gestures if g.alert]
OTHER_STAGES = (AlertStage.NOTICE_24H, AlertStage.START, AlertStage.END,
                AlertStage.CANCELLATION)


def _contact(locale: str) -> Contact:
    return Contact(id=1, community_id=1, locale=locale)


def test_the_catalogue_has_alert_gestures_to_measure() -> None:
    assert len(ALERT_GESTURES) >= 10


@pytest.mark.parametrize("drill", [False, True], ids=["alert", "drill"])
@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_notice_with_every_gesture_is_one_sms_within_two_segments(
        locale: str, drill: bool) -> None:
    too_long = {}
    for starts_at in STARTS:
        for minutes in DURATIONS:
            alert = Alert(id=987654, community_id=1, starts_at=starts_at,
                          ends_at=starts_at + timedelta(minutes=minutes), drill=drill)
            for gesture in ALERT_GESTURES:
                assert gesture.alert is not None
                payload = AlertMessages().render(AlertStage.NOTICE_30MIN, alert, COMMUNITY,
                                                 _contact(locale), gesture=gesture.alert).payload
                parts = render_sms(payload)
                count = count_segments(parts[0])
                if len(parts) != 1 or count.segments > 2:
                    too_long[(gesture.slug, minutes)] = (count, parts)
    assert too_long == {}


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_the_notice_names_the_residents_own_gesture(locale: str) -> None:
    t = translator(locale)
    dishwasher = next(g for g in ALERT_GESTURES if g.slug == "dishwasher_after_alert")
    assert dishwasher.alert is not None
    alert = Alert(id=3, community_id=1, starts_at=START, ends_at=START + timedelta(hours=2))
    text = str(AlertMessages().render(AlertStage.NOTICE_30MIN, alert, COMMUNITY,
                                      _contact(locale), gesture=dishwasher.alert)
               .payload["text"])
    assert dishwasher.alert[locale] in text
    assert text == t.gettext("Voisins: the grid alert starts at {time}, for {duration}. "
                             "Your gesture: {gesture}. Thank you!",
                             time=time_text(alert, COMMUNITY, locale, start=True),
                             duration=duration_text(alert, locale),
                             gesture=dishwasher.alert[locale])
    drill = Alert(id=3, community_id=1, starts_at=START, ends_at=START + timedelta(hours=2),
                  drill=True)
    marked = str(AlertMessages().render(AlertStage.NOTICE_30MIN, drill, COMMUNITY,
                                        _contact(locale), gesture=dishwasher.alert)
                 .payload["text"])
    assert marked.startswith(t.gettext("Voisins (exercise):"))
    assert dishwasher.alert[locale] in marked


def test_english_reads_naturally() -> None:
    dishwasher = next(g for g in ALERT_GESTURES if g.slug == "dishwasher_after_alert")
    assert dishwasher.alert is not None
    alert = Alert(id=3, community_id=1, starts_at=START, ends_at=START + timedelta(hours=2))
    text = AlertMessages().render(AlertStage.NOTICE_30MIN, alert, COMMUNITY, _contact("en"),
                                  gesture=dishwasher.alert).payload["text"]
    assert text == ("Voisins: the grid alert starts at 17:00, for 2 hours. "
                    f"Your gesture: {dishwasher.alert['en']}. Thank you!")


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_the_other_alert_messages_are_unchanged_by_a_gesture(locale: str) -> None:
    gesture = ALERT_GESTURES[0].alert
    alert = Alert(id=3, community_id=1, starts_at=START, ends_at=START + timedelta(hours=2))
    for stage in OTHER_STAGES:
        with_gesture = AlertMessages().render(stage, alert, COMMUNITY, _contact(locale),
                                              gesture=gesture)
        without = AlertMessages().render(stage, alert, COMMUNITY, _contact(locale))
        assert with_gesture.payload == without.payload
