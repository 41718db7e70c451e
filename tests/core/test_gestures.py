"""Eco-gestures: the catalogue content, its versions, commitments (three at most), check-ins,
offers, the appliance exercise, and counts that only ever cover k households."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from bot.channels.sms_segments import UCS2_SINGLE, count_segments, to_gsm7
from core.alerts import Alert, AlertStatus
from core.communities import add_household, create_community
from core.config import SUPPORTED_LOCALES
from core.contacts import erase_contact
from core.db import session_scope
from core.gesture_content import (
    CONTENT_DIR,
    MAX_ALERT_TEXT,
    MAX_TEXT,
    MAX_WHY,
    Category,
    ContentError,
    Helps,
    Rating,
    appliance_exercise,
    category_title,
    gesture_to_dict,
    load_catalogue,
    localized,
    parse_category,
    parse_exercise,
    parse_gesture,
)
from core.gestures import (
    MAX_ACTIVE_COMMITMENTS,
    ApplianceRating,
    CheckIn,
    CheckInAnswer,
    CheckInCadence,
    CheckInStatus,
    ChooseOutcome,
    Commitment,
    Gesture,
    GestureOffer,
    OfferAnswer,
    Origin,
    active_commitments,
    alert_time_gesture,
    answer_gesture_offer,
    appliance_ratings,
    appliance_summary,
    catalogue,
    categories_in_use,
    choose_gesture,
    commitment_stats,
    commitment_tally,
    create_gesture,
    definition_of,
    drop_commitment,
    easier_gestures,
    gesture_alert_text,
    gesture_text,
    gesture_version,
    households_with_alert_gesture,
    latest_gesture,
    load_gestures,
    mark_check_in_asked,
    may_offer_gesture,
    my_gestures,
    new_gesture_version,
    record_appliance_rating,
    record_check_in,
    record_gesture_offer,
    retire_gesture,
    schedule_check_in,
    set_cadence,
)
from core.models import Community, Contact, Household

NOW = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
CATALOGUE = load_catalogue()
GESTURES = [g for content in CATALOGUE for g in content.gestures]
ALERT_GESTURES = [g for g in GESTURES if g.during_alert]
MY_TABLES = {"gesture", "commitment", "checkin", "gestureoffer", "appliancerating"}

# How an alert message may introduce the resident's gesture (the wording itself belongs to
# the alert-time flow's catalogs; here we only measure that the line fits).
GESTURE_LINE = {"fr": "Votre geste : {}", "nl": "Jouw gebaar: {}", "en": "Your gesture: {}",
                "ar": "خطوتك: {}", "es": "Tu gesto: {}"}


def texts(word: str) -> dict[str, str]:
    return {locale: f"{word} ({locale})" for locale in SUPPORTED_LOCALES}


def sample(**changes: Any) -> dict[str, Any]:
    gesture: dict[str, Any] = {
        "slug": "sample_gesture", "category": "cooking", "helps": "both", "effort": 2,
        "text": texts("Sample"), "why": texts("Because"), "alert": texts("sample"),
        "sources": [{"publisher": "ADEME", "title": "A guide"}],
    }
    gesture.update(changes)
    return gesture


# --------------------------------------------------------------------------------------------
# The content
# --------------------------------------------------------------------------------------------

def test_catalogue_has_24_gestures_or_more_and_two_in_every_category() -> None:
    assert len(GESTURES) >= 24
    assert {c.category for c in CATALOGUE} == set(Category)
    for content in CATALOGUE:
        assert len(content.gestures) >= 2, content.category
    assert len({g.slug for g in GESTURES}) == len(GESTURES)


@pytest.mark.parametrize("gesture", GESTURES, ids=lambda g: g.slug)
def test_every_gesture_in_five_languages_short_and_sourced(gesture: Any) -> None:
    for field, limit in (("text", MAX_TEXT), ("why", MAX_WHY)):
        values = getattr(gesture, field)
        assert set(values) == set(SUPPORTED_LOCALES), field
        for locale, value in values.items():
            assert value.strip() and len(value) <= limit, (field, locale, value)
    assert gesture.sources
    for source in gesture.sources:
        assert source.publisher and source.title
        assert source.url is None or source.url.startswith("https://")
    assert isinstance(gesture.category, Category) and isinstance(gesture.helps, Helps)
    assert 1 <= gesture.effort <= 3


@pytest.mark.parametrize("gesture", GESTURES, ids=lambda g: g.slug)
def test_alert_gestures_have_a_short_alert_form(gesture: Any) -> None:
    if not gesture.during_alert:
        assert gesture.alert is None
        return
    assert gesture.alert is not None and set(gesture.alert) == set(SUPPORTED_LOCALES)
    for locale, value in gesture.alert.items():
        assert 0 < len(value) <= MAX_ALERT_TEXT, (locale, value)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_alert_line_fits_one_sms_segment(locale: str) -> None:
    """"Your gesture: ..." alone takes at most one segment: GSM-7 in the Latin languages (no
    character without a GSM-7 stand-in), at most 70 UTF-16 units in Arabic."""
    for gesture in ALERT_GESTURES:
        assert gesture.alert is not None
        line = GESTURE_LINE[locale].format(gesture.alert[locale])
        if locale == "ar":
            count = count_segments(line)
            assert count.units <= UCS2_SINGLE, (gesture.slug, count)
            continue
        plain = to_gsm7(line)
        assert plain is not None, (gesture.slug, line)
        assert count_segments(plain).segments == 1, (gesture.slug, line)


def test_gesture_texts_can_go_as_gsm7_in_latin_languages() -> None:
    for gesture in GESTURES:
        for field in ("text", "why"):
            for locale, value in getattr(gesture, field).items():
                if locale != "ar":
                    assert to_gsm7(value) is not None, (gesture.slug, field, locale, value)


def test_the_seeds_lessons_are_kept() -> None:
    by_slug = {g.slug: g for g in GESTURES}
    # What tenants already do is valued (ACTELOS): shutters, layers, doors, rugs, lights.
    for slug in ("curtains_at_night", "warm_layer", "close_doors", "rugs_and_blankets"):
        assert by_slug[slug].common, slug
    # Load shifted out of the alert, said "after the alert", never "at night".
    for slug in ("washer_after_alert", "dishwasher_after_alert", "cook_ahead",
                 "charge_before_alert"):
        assert by_slug[slug].helps is Helps.ALERT
    night = {"fr": "nuit", "nl": "nacht", "en": "night", "es": "noche", "ar": "ليل"}
    laundry = [g for g in GESTURES if g.category is Category.LAUNDRY_DISHES]
    for gesture in laundry:
        for values in (gesture.text, gesture.why, gesture.alert or {}):
            for locale, value in values.items():
                assert night[locale] not in value.lower(), (gesture.slug, locale)
    assert "after the alert" in (by_slug["washer_after_alert"].alert or {})["en"]
    # Both kinds are there: gestures for every day and for alerts.
    assert {g.helps for g in GESTURES} == set(Helps)


def test_a_gesture_round_trips_through_json() -> None:
    for gesture in GESTURES:
        assert parse_gesture(gesture_to_dict(gesture)) == gesture


@pytest.mark.parametrize(("change", "problem"), [
    ({"slug": "Bad Slug"}, "slug"),
    ({"category": "garden"}, "category"),
    ({"helps": "sometimes"}, "helps"),
    ({"effort": 4}, "effort"),
    ({"text": {**texts("x"), "fr": "x" * (MAX_TEXT + 1)}}, "characters"),
    ({"why": {"fr": "Parce que"}}, "missing"),
    ({"alert": {**texts("x"), "nl": "x" * (MAX_ALERT_TEXT + 1)}}, r"alert \(nl\): 61"),
    ({"alert": None}, "alert-time form"),
    ({"helps": "everyday"}, "only for gestures that help during an alert"),
    ({"sources": []}, "source"),
    ({"sources": [{"publisher": "ADEME"}]}, "publisher and title"),
    ({"sources": [{"publisher": "ADEME", "title": "x", "url": "ftp://x"}]}, "https"),
])
def test_bad_gestures_are_refused_with_the_reason(change: dict[str, Any], problem: str) -> None:
    with pytest.raises(ContentError, match=problem):
        parse_gesture(sample(**change))


def test_a_file_and_the_catalogue_refuse_duplicates(tmp_path: Path) -> None:
    one = {"category": "cooking", "title": texts("Cooking"),
           "gestures": [sample(), sample()]}
    with pytest.raises(ContentError, match="slug used twice"):
        parse_category(one)
    other = {"category": "cold", "title": texts("Cold"),
             "gestures": [sample(category="cold")]}
    with pytest.raises(ContentError, match="this file holds cold"):
        parse_category({**other, "gestures": [sample()]})
    one["gestures"] = [sample()]
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(one, allow_unicode=True), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(other, allow_unicode=True),
                                     encoding="utf-8")
    with pytest.raises(ContentError, match="sample_gesture: in cooking and cold"):
        load_catalogue(tmp_path)


def test_texts_fall_back_to_the_community_language_then_french() -> None:
    partial = {"fr": "Bonjour", "es": "Hola"}
    assert localized(partial, "es") == "Hola"
    assert localized(partial, "nl", fallback="es") == "Hola"
    assert localized(partial, "nl") == "Bonjour"
    assert localized({"ar": "مرحبا"}, "nl") == "مرحبا"
    assert category_title(Category.HOT_WATER, "nl") == "Warm water"
    assert category_title("during_alert", "ar") == "أثناء التنبيه"


def test_the_appliance_exercise_content() -> None:
    exercise = appliance_exercise()
    slugs = {a.slug for a in exercise.appliances}
    assert len(slugs) >= 8
    assert slugs >= {"fridge", "washing_machine", "oven", "electric_heater", "water_heater",
                     "tv", "computer", "dryer"}
    assert set(exercise.ratings) == set(Rating)
    for labels in exercise.ratings.values():
        assert set(labels) == set(SUPPORTED_LOCALES)
    known = {g.slug: g for g in GESTURES}
    for appliance in exercise.appliances:
        assert set(appliance.name) == set(SUPPORTED_LOCALES)
        assert 0 < appliance.power_w[0] <= appliance.power_w[1]
        for slug in appliance.suggest:
            assert known[slug].during_alert, (appliance.slug, slug)
    said = {"fridge": Rating.INDISPENSABLE, "dryer": Rating.COMFORTABLE, "oven": "useful",
            "tv": Rating.INDISPENSABLE}
    assert exercise.suggestions(said) == ["cook_ahead", "hob_not_oven", "dry_on_rack",
                                          "pause_big_appliances"]
    with pytest.raises(ContentError, match="unknown gesture nope"):
        parse_exercise({"ratings": [{"code": r.value, "label": texts(r.value)} for r in Rating],
                        "appliances": [{"slug": "fan", "name": texts("Fan"),
                                        "power_w": [20, 60], "suggest": ["nope"]}]},
                       known_gestures=set(known))


# --------------------------------------------------------------------------------------------
# The catalogue in the database
# --------------------------------------------------------------------------------------------

def test_migration_matches_the_tables(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    mine = [d for d in differences if any(f"'{t}'" in str(d) or f"table=<{t}>" in str(d)
                                          for t in MY_TABLES)]
    assert mine == []


def test_loading_is_idempotent_and_a_changed_text_is_a_new_version(engine: Engine,
                                                                    tmp_path: Path) -> None:
    for path in CONTENT_DIR.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    with session_scope(engine) as session:
        loaded = load_gestures(session, NOW, tmp_path)
        assert len(loaded) == len(GESTURES)
        assert {r.version for r in loaded} == {1}
        again = load_gestures(session, NOW + timedelta(days=1), tmp_path)
        assert [r.id for r in again] == [r.id for r in loaded]
        contact = _contacts(session, 1)[0]
        chosen = choose_gesture(session, contact.id or 0, "lid_on_pan", NOW)
        assert chosen.outcome is ChooseOutcome.CHOSEN
    cooking = tmp_path / "cooking.yaml"
    raw = yaml.safe_load(cooking.read_text(encoding="utf-8"))
    raw["gestures"][0]["text"]["en"] = "Cover the pan"
    cooking.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with session_scope(engine) as session:
        reloaded = {r.slug: r for r in load_gestures(session, NOW, tmp_path)}
        assert reloaded["lid_on_pan"].version == 2
        assert {r.version for s, r in reloaded.items() if s != "lid_on_pan"} == {1}
        first = gesture_version(session, "lid_on_pan", 1)
        assert first is not None and not first.active
        assert latest_gesture(session, "lid_on_pan") == reloaded["lid_on_pan"]
        # The commitment keeps the version it was chosen in.
        ((commitment, gesture),) = my_gestures(session, contact.id or 0)
        assert (commitment.gesture_version, gesture.version) == (1, 1)
        assert gesture_text(gesture, "en") == "Put a lid on the pan"
        assert load_gestures(session, NOW, tmp_path)[0].version == 1  # stable again


def test_an_api_edit_is_not_undone_by_the_next_start(engine: Engine) -> None:
    with session_scope(engine) as session:
        load_gestures(session, NOW)
        edited = gesture_to_dict(definition_of(latest_gesture(session, "short_shower")))  # type: ignore[arg-type]
        edited["text"]["en"] = "A shower of 4 or 5 minutes"
        row = new_gesture_version(session, "short_shower", edited, NOW)
        assert (row.version, row.origin) == (2, Origin.API.value)
        load_gestures(session, NOW)
        current = latest_gesture(session, "short_shower")
        assert current is not None and current.version == 2
        assert gesture_text(current, "en") == "A shower of 4 or 5 minutes"


def test_create_version_and_retire(engine: Engine) -> None:
    with session_scope(engine) as session:
        row = create_gesture(session, sample(), NOW)
        assert (row.version, row.active, row.origin) == (1, True, "api")
        with pytest.raises(ContentError, match="exists already"):
            create_gesture(session, sample(), NOW)
        with pytest.raises(ContentError, match="expected sample_gesture"):
            new_gesture_version(session, "sample_gesture", sample(slug="other"), NOW)
        second = new_gesture_version(session, "sample_gesture",
                                     sample(text=texts("Better")), NOW)
        assert second.version == 2 and not row.active
        assert gesture_alert_text(second, "fr") == "sample (fr)"
        assert retire_gesture(session, "sample_gesture")
        assert latest_gesture(session, "sample_gesture") is None
        assert latest_gesture(session, "sample_gesture", active_only=False) == second
        assert not retire_gesture(session, "nothing_here")


def test_catalogue_queries(engine: Engine) -> None:
    with session_scope(engine) as session:
        load_gestures(session, NOW)
        rows = catalogue(session)
        assert [r.slug for r in rows] == [g.slug for g in GESTURES]
        assert categories_in_use(session) == list(Category)
        cold = catalogue(session, "cold")
        assert [r.slug for r in cold] == [g.slug for g in GESTURES
                                          if g.category is Category.COLD]
        alert_rows = catalogue(session, during_alert=True)
        assert {r.slug for r in alert_rows} == {g.slug for g in ALERT_GESTURES}
        assert all(r.helps == "everyday" for r in catalogue(session, during_alert=False))
        easier = easier_gestures(session, "defrost_freezer")
        assert easier and all(r.category == "cold" and r.effort < 2 for r in easier)
        assert easier_gestures(session, "lid_on_pan") == []
        assert easier_gestures(session, "unknown") == []
        washer = latest_gesture(session, "washer_after_alert")
        assert washer is not None
        assert gesture_alert_text(washer, "es") == "poner la lavadora después de la alerta"
        lid = latest_gesture(session, "lid_on_pan")
        assert lid is not None and gesture_alert_text(lid, "fr") is None
        washer.text = {"fr": "Lancer après l'alerte"}
        assert gesture_text(washer, "nl", fallback="fr") == "Lancer après l'alerte"


# --------------------------------------------------------------------------------------------
# Commitments, check-ins, offers
# --------------------------------------------------------------------------------------------

def _community(session: Session, k: int = 5) -> Community:
    community = create_community(session, f"c{k}", "Voisins test", privacy_k=k,
                                 clock=lambda: NOW)
    return community


def _contacts(session: Session, count: int, community: Community | None = None,
              households: int | None = None) -> list[Contact]:
    """``count`` residents; with ``households``, spread over that many homes."""
    community = community or _community(session)
    assert community.id is not None
    existing = len(session.exec(select(Household).where(
        Household.community_id == community.id)).all())
    homes = [add_household(session, community, ref=f"H{existing + n}", clock=lambda: NOW).id
             for n in range(households or 0)]
    contacts = []
    for index in range(count):
        contact = Contact(community_id=community.id, locale="fr", consented_at=NOW,
                          household_id=homes[index % len(homes)] if homes else None)
        session.add(contact)
        contacts.append(contact)
    session.flush()
    return contacts


def _alert(session: Session, community_id: int, days: int = 0) -> int:
    alert = Alert(community_id=community_id, starts_at=NOW + timedelta(days=days),
                  ends_at=NOW + timedelta(days=days, hours=2),
                  status=AlertStatus.RECORDED.value)
    session.add(alert)
    session.flush()
    assert alert.id is not None
    return alert.id


def test_three_commitments_at_most(engine: Engine) -> None:
    with session_scope(engine) as session:
        load_gestures(session, NOW)
        alice, bob = (c.id or 0 for c in _contacts(session, 2))
        slugs = ["lid_on_pan", "washer_after_alert", "warm_layer", "standby_off"]
        for slug in slugs[:MAX_ACTIVE_COMMITMENTS]:
            result = choose_gesture(session, alice, slug, NOW, context="menu")
            assert result.outcome is ChooseOutcome.CHOSEN
        again = choose_gesture(session, alice, "lid_on_pan", NOW)
        assert again.outcome is ChooseOutcome.ALREADY_CHOSEN
        assert again.commitment is not None and again.commitment.gesture_slug == "lid_on_pan"
        full = choose_gesture(session, alice, "standby_off", NOW)
        assert (full.outcome, full.commitment, len(full.active)) == (
            ChooseOutcome.LIMIT_REACHED, None, 3)
        assert choose_gesture(session, bob, "no_such", NOW).outcome is \
            ChooseOutcome.UNKNOWN_GESTURE
        first = active_commitments(session, alice)[0]
        assert first.id is not None
        assert drop_commitment(session, bob, first.id, NOW) is None  # not his
        dropped = drop_commitment(session, alice, first.id, NOW + timedelta(hours=1))
        assert dropped is not None and dropped.dropped_at is not None
        assert drop_commitment(session, alice, first.id, NOW + timedelta(days=3)) is not None
        assert dropped.dropped_at == NOW + timedelta(hours=1)  # the first time stays
        later = choose_gesture(session, alice, "standby_off", NOW + timedelta(hours=2),
                               cadence=CheckInCadence.BIWEEKLY)
        assert later.outcome is ChooseOutcome.CHOSEN and later.commitment is not None
        assert later.commitment.cadence == "biweekly"
        # Chosen again after dropping it: a new commitment, the old one kept.
        assert choose_gesture(session, alice, "lid_on_pan", NOW).outcome is \
            ChooseOutcome.LIMIT_REACHED
        assert [c.gesture_slug for c in active_commitments(session, alice)] == [
            "washer_after_alert", "warm_layer", "standby_off"]
        assert [c.gesture_slug for c in active_commitments(session, alice, at=NOW)] == [
            "lid_on_pan", "washer_after_alert", "warm_layer"]
        assert later.commitment.id is not None
        assert set_cadence(session, alice, later.commitment.id, "after_alert") is not None
        assert set_cadence(session, bob, later.commitment.id, "biweekly") is None
        with pytest.raises(ValueError):
            set_cadence(session, alice, later.commitment.id, "daily")


def test_one_gesture_is_never_active_twice_in_the_database(engine: Engine) -> None:
    with session_scope(engine) as session:
        load_gestures(session, NOW)
        (alice,) = (c.id or 0 for c in _contacts(session, 1))
        chosen = choose_gesture(session, alice, "lid_on_pan", NOW).commitment
        assert chosen is not None
        twin = Commitment(contact_id=alice, gesture_id=chosen.gesture_id,
                          gesture_slug="lid_on_pan", gesture_version=1, chosen_at=NOW)
        with pytest.raises(IntegrityError), session.begin_nested():
            session.add(twin)
        assert chosen.id is not None
        drop_commitment(session, alice, chosen.id, NOW)
        again = choose_gesture(session, alice, "lid_on_pan", NOW + timedelta(days=1))
        assert again.outcome is ChooseOutcome.CHOSEN


def test_check_ins_are_scheduled_once_asked_and_answered_kindly(engine: Engine) -> None:
    with session_scope(engine) as session:
        load_gestures(session, NOW)
        community = _community(session)
        alice, bob = (c.id or 0 for c in _contacts(session, 2, community))
        assert community.id is not None
        alert_id = _alert(session, community.id)
        commitment = choose_gesture(session, alice, "washer_after_alert", NOW).commitment
        assert commitment is not None and commitment.id is not None
        due = NOW + timedelta(hours=14)
        check_in = schedule_check_in(session, commitment.id, due, alert_id)
        assert check_in is not None and check_in.status == "scheduled"
        assert schedule_check_in(session, commitment.id, due + timedelta(hours=1), alert_id) \
            == check_in
        fortnight = schedule_check_in(session, commitment.id, NOW + timedelta(days=14))
        assert fortnight is not None and fortnight.id != check_in.id
        assert check_in.id is not None and fortnight.id is not None
        # Not asked yet: no answer can be recorded.
        assert record_check_in(session, alice, check_in.id, "yes", due) is None
        assert mark_check_in_asked(session, check_in.id, due)
        assert not mark_check_in_asked(session, check_in.id, due)
        assert record_check_in(session, bob, check_in.id, "yes", due) is None  # not his
        answered = record_check_in(session, alice, check_in.id, CheckInAnswer.NOT_THIS_TIME,
                                   due + timedelta(minutes=5))
        assert answered is not None and answered.answer == "not_this_time"
        assert answered.status == CheckInStatus.ANSWERED.value
        with pytest.raises(ValueError):
            record_check_in(session, alice, check_in.id, "maybe", due)
        stopped = record_check_in(session, alice, check_in.id, "stop", due + timedelta(hours=1))
        assert stopped is not None and stopped.answer == "stop"
        assert active_commitments(session, alice) == []
        assert session.get(CheckIn, fortnight.id).status == "cancelled"  # type: ignore[union-attr]
        assert schedule_check_in(session, commitment.id, NOW + timedelta(days=28)) is None


def test_the_offer_is_made_once_per_alert_never_after_two_noes(engine: Engine) -> None:
    with session_scope(engine) as session:
        load_gestures(session, NOW)
        community = _community(session)
        assert community.id is not None
        alice, bob = (c.id or 0 for c in _contacts(session, 2, community))
        first, second, third = (_alert(session, community.id, days) for days in (0, 7, 14))
        offer = record_gesture_offer(session, alice, first, NOW)
        assert offer is not None and offer.id is not None
        assert not may_offer_gesture(session, alice, first)
        assert record_gesture_offer(session, alice, first, NOW) is None  # once per alert
        assert answer_gesture_offer(session, bob, offer.id, "declined", NOW) is None
        assert answer_gesture_offer(session, alice, offer.id, OfferAnswer.DECLINED, NOW)
        again = record_gesture_offer(session, alice, second, NOW + timedelta(days=7))
        assert again is not None and again.id is not None
        answer_gesture_offer(session, alice, again.id, "declined", NOW + timedelta(days=7))
        assert not may_offer_gesture(session, alice, third)  # said no twice
        assert record_gesture_offer(session, alice, third, NOW + timedelta(days=14)) is None
        # Someone who already has a gesture is not offered one.
        choose_gesture(session, bob, "cook_ahead", NOW)
        assert not may_offer_gesture(session, bob, first)
        with pytest.raises(IntegrityError), session.begin_nested():
            session.add(GestureOffer(contact_id=alice, alert_id=first, offered_at=NOW))


def test_the_alert_time_gesture_is_the_residents_own(engine: Engine) -> None:
    with session_scope(engine) as session:
        load_gestures(session, NOW)
        community = _community(session)
        alice, bob = _contacts(session, 2, community, households=2)
        assert alice.id is not None and bob.id is not None and community.id is not None
        choose_gesture(session, alice.id, "lid_on_pan", NOW)
        assert alert_time_gesture(session, alice.id) is None  # an everyday gesture only
        choose_gesture(session, alice.id, "dishwasher_after_alert", NOW + timedelta(minutes=1))
        choose_gesture(session, alice.id, "cook_ahead", NOW + timedelta(minutes=2))
        gesture = alert_time_gesture(session, alice.id)
        assert gesture is not None and gesture.slug == "dishwasher_after_alert"
        assert gesture_alert_text(gesture, "en") == "start the dishwasher after the alert"
        assert alert_time_gesture(session, bob.id) is None
        assert alert_time_gesture(session, alice.id, at=NOW - timedelta(days=1)) is None
        assert households_with_alert_gesture(session, community.id, NOW + timedelta(hours=1)) \
            == {alice.household_id}


# --------------------------------------------------------------------------------------------
# Counts together: only from k households
# --------------------------------------------------------------------------------------------

def test_gesture_counts_appear_at_k_households_not_before(engine: Engine) -> None:
    with session_scope(engine) as session:
        load_gestures(session, NOW)
        community = _community(session, k=5)
        assert community.id is not None
        # Six residents in four homes (two homes with two residents each), and a fifth home.
        residents = _contacts(session, 6, community, households=4)
        fifth = _contacts(session, 1, community, households=1)[0]
        alert_id = _alert(session, community.id)
        for contact in residents:
            choose_gesture(session, contact.id or 0, "washer_after_alert", NOW)
        stats = commitment_stats(session, community.id, NOW)
        assert set(stats) >= {g.slug for g in GESTURES}
        assert stats["washer_after_alert"] is None  # six people, but k-1 = 4 households
        assert commitment_tally(session, community.id, NOW) is None
        assert commitment_stats(session, community.id, NOW, k=4)["washer_after_alert"] is not None
        chosen = choose_gesture(session, fifth.id or 0, "washer_after_alert", NOW).commitment
        assert chosen is not None
        stats = commitment_stats(session, community.id, NOW)
        washer = stats["washer_after_alert"]
        assert washer is not None
        assert (washer.households, washer.active_households) == (5, 5)
        assert washer.check_ins is None  # nobody answered a check-in yet
        assert stats["lid_on_pan"] is None
        tally = commitment_tally(session, community.id, NOW)
        assert tally is not None and (tally.households, tally.most_chosen) == (
            5, ("washer_after_alert",))
        # Check-in answers: shown once k households answered.
        everyone = [*residents, fifth]
        answers = ["yes", "yes", "sometimes", "not_this_time", "yes", "yes", "sometimes"]
        for index, contact in enumerate(everyone):
            (commitment,) = active_commitments(session, contact.id or 0)
            assert commitment.id is not None
            check_in = schedule_check_in(session, commitment.id, NOW + timedelta(hours=3),
                                         alert_id)
            assert check_in is not None and check_in.id is not None
            mark_check_in_asked(session, check_in.id, NOW + timedelta(hours=3))
            if contact is not fifth:
                record_check_in(session, contact.id or 0, check_in.id, answers[index], NOW)
        washer = commitment_stats(session, community.id, NOW)["washer_after_alert"]
        assert washer is not None and washer.check_ins is None  # 4 households answered
        (commitment,) = active_commitments(session, fifth.id or 0)
        last = session.exec(select(CheckIn).where(CheckIn.commitment_id == commitment.id)).one()
        record_check_in(session, fifth.id or 0, last.id or 0, "stop", NOW + timedelta(hours=4))
        later = NOW + timedelta(hours=5)
        washer = commitment_stats(session, community.id, later)["washer_after_alert"]
        assert washer is not None
        assert washer.check_ins == {"yes": 4, "sometimes": 1, "not_this_time": 1, "stop": 1}
        assert (washer.households, washer.active_households) == (5, 4)
        # The fifth home dropped it: fewer than k households have a gesture now.
        assert commitment_tally(session, community.id, later) is None


def test_the_exercise_summary_needs_k_households(engine: Engine) -> None:
    with session_scope(engine) as session:
        community = _community(session, k=3)
        assert community.id is not None
        a, b, c, d = _contacts(session, 4, community, households=3)  # a and d share a home
        for contact, rating in ((a, "comfortable"), (b, "useful"), (d, "indispensable")):
            record_appliance_rating(session, contact.id or 0, "dryer", rating, NOW)
        assert appliance_summary(session, community.id) is None  # two households so far
        record_appliance_rating(session, c.id or 0, "dryer", Rating.COMFORTABLE, NOW)
        record_appliance_rating(session, c.id or 0, "dryer", Rating.USEFUL,
                                NOW + timedelta(minutes=1))  # a second say replaces the first
        summary = appliance_summary(session, community.id)
        assert summary is not None
        # a's home counts once, with d's later say (same time: the later row).
        assert summary["dryer"] == {"indispensable": 1, "useful": 2, "comfortable": 0}
        assert summary["fridge"] == {"indispensable": 0, "useful": 0, "comfortable": 0}
        assert appliance_ratings(session, c.id or 0) == {"dryer": Rating.USEFUL}
        with pytest.raises(ValueError):
            record_appliance_rating(session, c.id or 0, "spaceship", "useful", NOW)
        with pytest.raises(ValueError):
            record_appliance_rating(session, c.id or 0, "dryer", "essential", NOW)


def test_erasure_takes_commitments_check_ins_offers_and_ratings(engine: Engine) -> None:
    with session_scope(engine) as session:
        load_gestures(session, NOW)
        community = _community(session)
        assert community.id is not None
        (alice,) = _contacts(session, 1, community)
        alert_id = _alert(session, community.id)
        commitment = choose_gesture(session, alice.id or 0, "cook_ahead", NOW).commitment
        assert commitment is not None and commitment.id is not None
        schedule_check_in(session, commitment.id, NOW, alert_id)
        record_gesture_offer(session, alice.id or 0, alert_id, NOW)
        record_appliance_rating(session, alice.id or 0, "oven", "useful", NOW)
        erase_contact(session, alice)
    with Session(engine) as session:
        for table in (Commitment, CheckIn, GestureOffer, ApplianceRating):
            assert session.exec(select(table)).all() == [], table
        assert session.exec(select(Gesture)).all()  # the catalogue stays


def test_db_upgrade_loads_the_catalogue_once(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from api.cli.main import app
    from core.db import make_engine

    url = f"sqlite:///{tmp_path}/cli.db"
    for _ in range(2):
        result = CliRunner().invoke(app, ["db", "upgrade", "--url", url])
        assert result.exit_code == 0, result.output
    engine = make_engine(url)
    with Session(engine) as session:
        rows = session.exec(select(Gesture)).all()
        assert len(rows) == len(GESTURES) and {r.version for r in rows} == {1}
    engine.dispose()
