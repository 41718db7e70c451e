"""Meter health on the real sample day of L'Echappee and on synthetic silence."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

from core.communities import add_household, create_community
from core.db import session_scope
from meters.health import Flag, community_meter_health, daily_digest, meter_flags
from meters.ingest import import_readings
from meters.store import add_meter


def test_sample_day_flags(engine: Engine, sample_data: Path) -> None:
    with session_scope(engine) as session:
        community = create_community(session, "ech", "L'Echappee")
        asc = add_household(session, community, "ECHASC")
        for colour in ("Brun", "Gris", "Noir"):
            add_meter(session, asc, f"ECHASC_{colour}", role="net")
            # As installed: the PV clamps are the wrong way round (sign left at +1).
            add_meter(session, asc, f"ECHASC_PV_{colour}", role="production")
        add_meter(session, add_household(session, community, "ECHL05"), "ECHL05_L5")
        add_meter(session, add_household(session, community, "ECHL16"), "ECHL16_L16")
        for name in ("ECHASC", "ECHL05", "ECHL16"):
            import_readings(session, "ech", sample_data / "17dec2021" / f"{name}.csv")
        now = datetime(2021, 12, 18, 0, 30, tzinfo=UTC)  # 01:30 local, 90 min after the data
        health = {h.sensor: h for h in community_meter_health(session, community.id or 0,
                                                              now=now)}
        later = community_meter_health(session, community.id or 0,
                                       now=datetime(2021, 12, 18, 3, 0, tzinfo=UTC))
    assert health["ECHL05_L5"].flags == [Flag.ALL_ZERO_DAY.value]
    assert health["ECHL16_L16"].ok
    assert Flag.PRODUCTION_AT_NIGHT.value in health["ECHASC_PV_Gris"].flags
    assert health["ECHASC_Brun"].ok
    assert all(Flag.SILENT.value in h.flags for h in later)
    digest = daily_digest(community.id or 0, list(health.values()), date(2021, 12, 17))
    # ECHL05 and the PV clamps on Gris and Noir (Brun's clamp hovers around zero at night).
    assert {i.sensor for i in digest.items} == {"ECHL05_L5", "ECHASC_PV_Gris",
                                                 "ECHASC_PV_Noir"}
    assert digest.count == 3
    item = digest.to_dict()["items"][0]
    assert {"sensor", "household_ref", "flags", "last_seen"} <= set(item)


def test_silent_threshold_is_configurable() -> None:
    slot = int(datetime(2024, 5, 1, 10, tzinfo=UTC).timestamp()) // 900
    slots = pd.DataFrame({"meter_id": [1], "slot": [slot], "wh": [10.0], "covered_s": [900.0],
                          "last_s": [900.0]})
    meters = pd.DataFrame({"meter_id": [1, 2], "sensor": ["a", "b"], "household_id": [1, 1],
                           "role": ["consumption"] * 2, "sign": [1, 1]})
    now = datetime(2024, 5, 1, 13, tzinfo=UTC)  # 2 h 45 after the last reading
    flags = meter_flags(slots, meters, now=now, timezone="Europe/Brussels")
    assert flags[0].flags == [Flag.SILENT.value]
    assert flags[1].flags == [Flag.SILENT.value] and flags[1].last_seen is None
    relaxed = meter_flags(slots, meters, now=now, timezone="Europe/Brussels",
                          silent_after=pd.Timedelta(hours=3).to_pytimedelta())
    assert relaxed[0].ok
