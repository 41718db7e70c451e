"""The daily meter digest: technicians and facilitators only, once a day, never at night."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.channels.sms_segments import count_segments
from bot.flows.meter_digest import MeterDigestMessages, digest_text
from bot.i18n import translator
from core.communities import add_household, create_community
from core.config import SUPPORTED_LOCALES
from core.contacts import enrol_contact
from core.db import session_scope
from core.identities import touch_identity
from core.metering import SLOT_SECONDS, MeterEnergy15
from core.models import OutboxMessage, Role
from meters.health import MeterDigest, MeterHealth
from meters.store import add_meter
from scheduler.digests import send_meter_digests
from tests.fakes.community import CONSENT

NOW = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # 17:00 in Brussels


def _slots(meter_id: int, start: datetime, end: datetime) -> list[dict[str, object]]:
    first = int(start.timestamp()) // SLOT_SECONDS
    last = int(end.timestamp()) // SLOT_SECONDS
    rows: list[dict[str, object]] = []
    for slot in range(first, last + 1):
        slot_start = datetime.fromtimestamp(slot * SLOT_SECONDS, UTC)
        covered_to = min(SLOT_SECONDS, (end - slot_start).total_seconds())
        rows.append({"meter_id": meter_id, "slot_start": slot_start, "wh": 50.0,
                     "covered_s": covered_to, "first_s": 0.0, "last_s": covered_to})
    return rows


def _community(engine: Engine, silent: int = 2) -> dict[str, int]:
    """H01 reports fine; H02 went silent at 14:20 local; H03.. never reported."""
    contacts: dict[str, int] = {}
    with session_scope(engine) as session:
        community = create_community(session, "coin", "Coin du Balai", join_code="COIN")
        assert community.id is not None
        rows: list[dict[str, object]] = []
        for index in range(1, silent + 2):
            household = add_household(session, community, f"H{index:02d}")
            meter = add_meter(session, household, f"H{index:02d}_Mains")
            assert meter.id is not None
            if index == 1:
                rows += _slots(meter.id, NOW - timedelta(hours=3), NOW - timedelta(minutes=5))
            elif index == 2:
                rows += _slots(meter.id, NOW - timedelta(hours=5),
                               datetime(2026, 12, 1, 13, 20, tzinfo=UTC))
        session.execute(insert(MeterEnergy15), rows)
        for name, channel, address, locale, role in (
                ("technician", "sms", "+32470000101", "fr", Role.TECHNICIAN),
                ("facilitator", "telegram", "200000102", "en", Role.FACILITATOR),
                ("resident", "sms", "+32470000103", "nl", Role.RESIDENT)):
            identity = touch_identity(session, channel, address, NOW)
            contact = enrol_contact(session, identity, community.id, locale, CONSENT, NOW,
                                    role=role)
            assert contact.id is not None
            contacts[name] = contact.id
    return contacts


def _digests(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).where(
            col(OutboxMessage.dedupe_key).startswith("digest:meters:"))
            .order_by(col(OutboxMessage.id))).all())


def _run(engine: Engine, at: datetime) -> object:
    return send_meter_digests(engine, lambda: at, MeterDigestMessages())


def test_staff_get_one_digest_a_day_naming_each_meter(engine: Engine) -> None:
    contacts = _community(engine)
    _run(engine, NOW)
    rows = _digests(engine)
    assert sorted(row.contact_id or 0 for row in rows) == sorted(
        [contacts["technician"], contacts["facilitator"]])
    assert {row.dedupe_key for row in rows} == {
        f"digest:meters:1:2026-12-01:{contacts[name]}" for name in ("technician", "facilitator")}
    english = next(row for row in rows if row.payload["locale"] == "en").payload["text"]
    assert english == ("Voisins: 2 meters need a look: H02 Mains silent since 14:20; "
                       "H03 Mains never sent data.")
    french = next(row for row in rows if row.payload["locale"] == "fr").payload["text"]
    assert "H02 Mains" in french and "14:20" in french
    _run(engine, NOW + timedelta(hours=3))  # the same day again: nothing new
    assert len(_digests(engine)) == 2
    _run(engine, NOW + timedelta(days=1))  # the next day: a new digest
    assert len(_digests(engine)) == 4


def test_no_digest_during_quiet_hours_or_when_every_meter_is_fine(engine: Engine) -> None:
    _community(engine, silent=0)
    _run(engine, NOW)
    assert _digests(engine) == []  # H01 is fine
    _run(engine, datetime(2026, 12, 1, 22, 30, tzinfo=UTC))  # 23:30 local, H01 silent by now
    assert _digests(engine) == []
    _run(engine, datetime(2026, 12, 2, 7, 0, tzinfo=UTC))  # 08:00: quiet hours are over
    texts = [row.payload["text"] for row in _digests(engine)]
    assert len(texts) == 2
    assert any("H01 Mains silent since 1 Dec" in text for text in texts)


def test_a_long_list_names_five_meters_then_counts_the_rest(engine: Engine) -> None:
    _community(engine, silent=7)
    _run(engine, NOW)
    english = next(row.payload["text"] for row in _digests(engine)
                   if row.payload["locale"] == "en")
    assert english.startswith("Voisins: 7 meters need a look: H02 Mains silent since 14:20; ")
    assert english.endswith("H06 Mains never sent data; and 2 more.")


def _item(flags: list[str], sensor: str = "H07_PV", last_seen: datetime | None = None,
          ref: str = "H07") -> MeterHealth:
    return MeterHealth(meter_id=1, sensor=sensor, household_id=1, flags=flags,
                       last_seen=last_seen, household_ref=ref)


def test_each_flag_reads_plainly() -> None:
    digest = MeterDigest(community_id=1, day=NOW.date(), count=2, items=[
        _item(["production_at_night"]),
        _item(["all_zero_day", "silent"], sensor="0123456789abcdef0123456789abcdef",
              last_seen=datetime(2026, 11, 28, 9, 0, tzinfo=UTC))])
    text = digest_text(translator("en"), digest, "Europe/Brussels")
    assert text == ("Voisins: 2 meters need a look: H07 PV produces at night (clamp reversed?); "
                    "H07 01234567 all zeros for a day; H07 01234567 silent since 28 Nov.")


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize("flag", ["silent", "production_at_night", "all_zero_day"])
def test_a_one_meter_digest_fits_two_sms_segments_in_every_language(locale: str, flag: str
                                                                    ) -> None:
    """Longer digests may take more: a technician would rather read every meter."""
    digest = MeterDigest(community_id=1, day=NOW.date(), count=1, items=[
        _item([flag], sensor="H13_Mains phase 3", last_seen=NOW - timedelta(hours=3),
              ref="H13")])
    text = digest_text(translator(locale), digest, "Europe/Brussels")
    assert "{" not in text and count_segments(text).segments <= 2, (len(text), text)
