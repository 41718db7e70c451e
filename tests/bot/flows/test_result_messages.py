"""The result texts: honest in every case, SMS-short in every language, never a neighbour's."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.channels.sms_segments import count_segments, sms_parts
from bot.flows.results import (
    AlertResultMessages,
    community_result_text,
    gesture_tally_lines,
    own_result_text,
)
from bot.i18n import translator
from core.alerts import Alert
from core.config import SUPPORTED_LOCALES
from core.gesture_content import load_catalogue
from core.gestures import CommitmentTally
from core.models import Community, Contact
from meters.analysis.impact import CommunityImpact, HouseholdImpact

ALERT = Alert(id=7, community_id=1, starts_at=datetime(2026, 12, 3, 16, 0, tzinfo=UTC),
              ends_at=datetime(2026, 12, 3, 19, 0, tzinfo=UTC))
COMMUNITY = Community(id=1, slug="echappee", name="L'Échappée", join_code="ECH")
# Worst cases for length: three-digit counts, large energies, long percentages.
CASES = {
    "less": CommunityImpact(187, True, 1234.5, 1456.7, -222.2, -15.25),
    "more": CommunityImpact(187, True, 1678.9, 1456.7, 222.2, 15.25),
    "same": CommunityImpact(187, True, 1456.7, 1456.7, 0.01, 0.0),
    "not enough": CommunityImpact(4, False),
}


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize("case", list(CASES))
def test_every_result_fits_two_sms_segments(locale: str, case: str) -> None:
    text = community_result_text(translator(locale), CASES[case])
    assert count_segments(text).segments <= 2, (locale, case, len(text), text)


def test_the_english_texts_say_what_happened() -> None:
    t = translator("en")
    assert community_result_text(t, CASES["less"]) == (
        "Voisins: together, 187 households used 222.2 kWh less than usual during the alert "
        "(-15%). Thank you!")
    assert "222.2 kWh more than usual (+15%)" in community_result_text(t, CASES["more"])
    assert "about as much as usual" in community_result_text(t, CASES["same"])
    assert "not enough meter data" in community_result_text(t, CASES["not enough"])
    # A difference the meters cannot tell apart from nothing is not a reduction.
    tiny = CommunityImpact(9, True, 10.0, 10.03, -0.03, -0.3)
    assert "about as much as usual" in community_result_text(t, tiny)
    # Shown with a reference of zero (no percent) is not a figure to announce.
    assert "not enough" in community_result_text(t, CommunityImpact(9, True, 1.0, 0.0, 1.0,
                                                                    None))


def test_the_renderer_writes_in_the_readers_language() -> None:
    contact = Contact(id=3, community_id=1, locale="ar")
    payload = AlertResultMessages().render(ALERT, COMMUNITY, contact, CASES["less"])
    assert payload["locale"] == "ar" and payload["choices"] == []
    assert payload["text"] == community_result_text(translator("ar"), CASES["less"])
    assert "\u2068187\u2069" in payload["text"]  # the number isolated in right-to-left text


def _mine(**figures: float | None) -> HouseholdImpact:
    values: dict[str, float | None] = {"alert_kwh": 1.4, "reference_kwh": 2.0,
                                       "delta_kwh": -0.6, "percent": -30.0, "after_kwh": 0.0,
                                       "before_kwh": 0.0}
    values.update(figures)
    return HouseholdImpact(household=1, valid=True, method="same_slots",
                           **values)  # type: ignore[arg-type]


def test_a_resident_reads_their_own_result() -> None:
    t = translator("en")
    text = own_result_text(t, ALERT, COMMUNITY, _mine())
    assert text == ("During the alert on Thursday 3 December at 17:00, your home used 1.4 kWh "
                    "instead of the usual 2 kWh (-30%).")
    rebound = own_result_text(t, ALERT, COMMUNITY, _mine(after_kwh=0.5))
    assert rebound.endswith("In the 3 hours after, it used 0.5 kWh more than usual.")
    same = own_result_text(t, ALERT, COMMUNITY, _mine(delta_kwh=0.01, percent=0.5,
                                                      alert_kwh=2.01))
    assert "about as much as usual" in same
    invalid = HouseholdImpact(1, False, None, None, None, None, None, None, "same_slots")
    assert "Not enough data from your meter" in own_result_text(t, ALERT, COMMUNITY, invalid)
    assert "Not enough data" in own_result_text(t, ALERT, COMMUNITY, None)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_own_results_exist_in_every_language(locale: str) -> None:
    t = translator(locale)
    for impact in (_mine(after_kwh=12.5), None):
        text = own_result_text(t, ALERT, COMMUNITY, impact)
        assert text and "{" not in text


# -- "N households have chosen a gesture" ---------------------------------------------------

def _exact_sms_fit(text: str) -> bool:
    return len(sms_parts(text)) == 1


def _tally(gesture: Any, households: int = 187) -> CommitmentTally:
    return CommitmentTally(households=households, most_chosen=(gesture.slug,),
                           texts={gesture.slug: dict(gesture.text)})


GESTURES = [g for content in load_catalogue() for g in content.gestures]


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_the_gesture_tally_never_pushes_an_sms_past_two_segments(locale: str) -> None:
    """Every result case, with every gesture as the most chosen: on SMS the tally comes whole,
    short, or not at all, and the message stays within two segments; elsewhere it is whole."""
    renderer = AlertResultMessages(sms_fits=_exact_sms_fit)
    contact = Contact(id=3, community_id=1, locale=locale)
    kept = Counter[str]()
    for case, impact in CASES.items():
        plain = community_result_text(translator(locale), impact)
        for gesture in GESTURES:
            lines = gesture_tally_lines(translator(locale), _tally(gesture))
            sms = renderer.render(ALERT, COMMUNITY, contact, impact, _tally(gesture), "sms")
            assert count_segments(sms_parts(sms["text"])[0]).segments <= 2
            assert len(sms_parts(sms["text"])) == 1, (case, gesture.slug, sms["text"])
            kept["full" if sms["text"].endswith(lines[0]) else
                 "short" if sms["text"].endswith(lines[-1]) else "none"] += 1
            if sms["text"] == plain:
                assert not _exact_sms_fit(f"{plain}\n{lines[-1]}")
            chat = renderer.render(ALERT, COMMUNITY, contact, impact, _tally(gesture),
                                   "telegram")
            assert chat["text"] == f"{plain}\n{lines[0]}"
    if locale != "ar":  # GSM-7: two segments hold the count, and mostly the gesture too
        assert kept["none"] == 0 and kept["full"] > kept["short"], kept


def test_the_tally_reads_naturally_and_only_when_given() -> None:
    t = translator("en")
    washer = next(g for g in GESTURES if g.slug == "washer_after_alert")
    (full, short) = gesture_tally_lines(t, _tally(washer, 12))
    assert full == ("12 households have chosen a gesture; the most chosen: "
                    f"{washer.text['en'][0].lower()}{washer.text['en'][1:].rstrip('.')}.")
    assert short == "12 households have chosen a gesture."
    assert gesture_tally_lines(t, CommitmentTally(12, ())) == [short]
    renderer = AlertResultMessages()
    contact = Contact(id=3, community_id=1, locale="en")
    assert renderer.render(ALERT, COMMUNITY, contact, CASES["less"])["text"] == \
        community_result_text(t, CASES["less"])
    group = renderer.render_for_group(ALERT, COMMUNITY, CASES["less"], _tally(washer, 12))
    assert group["locale"] == "fr" and group["text"].endswith(
        gesture_tally_lines(translator("fr"), _tally(washer, 12))[0])
