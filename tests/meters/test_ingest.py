"""Importing the real Flukso exports: report of rejections, three-phase and reversed clamps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.communities import add_household, create_community
from core.db import session_scope
from meters.ingest import import_readings
from meters.sources.csv_import import sensor_columns
from meters.store import add_meter, load_household_energy, rebuild_household_energy

TZ = "Europe/Brussels"


def configure_all_sensors(session: Session, folder: Path) -> None:
    """One household per home of the group exports, one consumption meter per sensor."""
    community = create_community(session, "pilots", "Voisins d'Energie")
    for group in sorted(folder.glob("*/group_*.csv")):
        header = group.read_text().split("\n", 1)[0].split(",")[1:]
        pairs, _ = sensor_columns(header)
        homes: dict[str, list[str]] = {}
        for sensor in pairs:
            homes.setdefault(sensor.split("_", 1)[0], []).append(sensor)
        for home, sensors in homes.items():
            household = add_household(session, community, home)
            for sensor in sensors:
                role = "production" if "PV" in sensor else "consumption"
                add_meter(session, household, sensor, role=role)


def backend_15min_kwh(path: Path, column: str, slot_starts: pd.Series) -> np.ndarray:
    """The backend's own sum (P_cons, ...) integrated exactly over each 15-minute slot.

    Power is constant between readings, so cumulative energy is piecewise linear in time and
    ``np.interp`` at the slot boundaries integrates it exactly (an independent method).
    """
    frame = pd.read_csv(path, index_col=0)
    seconds = pd.to_datetime(frame.index, utc=True).as_unit("s").asi8.astype(float)
    watts = frame[column].to_numpy()
    cumulative_wh = np.concatenate(([0.0], np.cumsum(watts[1:] * np.diff(seconds)) / 3600))
    starts = (slot_starts - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()
    at = np.interp(np.concatenate((starts, [starts[-1] + 900])), seconds, cumulative_wh)
    return np.diff(at) / 1000


def test_sample_data_imports_with_a_report(engine: Engine, sample_data: Path) -> None:
    with session_scope(engine) as session:
        configure_all_sensors(session, sample_data)
    reports = {}
    with session_scope(engine) as session:
        for path in sorted(sample_data.rglob("*.csv")):
            if path.name.startswith("group"):
                continue
            reports[path.name] = import_readings(session, "pilots", path)
    for name, report in reports.items():
        assert report.accepted + report.rejected > 0, name
        assert len(report.errors) <= 20
        assert sum(report.rejected_by_reason.values()) == report.rejected
    # The low-voltage cabin's RTU log is not a meter export: rejected whole, with the reason.
    rtu = reports["rtu_cabine_basse_tension.csv"]
    assert rtu.accepted == 0 and rtu.rejected == 42
    assert "unrecognised format" in rtu.errors[0].reason
    # CDB011's third phase reads about -25 W (a mis-measured phase): negative consumption.
    cdb011 = reports["CDB011.csv"]
    assert cdb011.ignored_columns == ["P_cons", "P_prod", "P_tot"]
    negative = [r for r in cdb011.rejected_by_reason if r.startswith("negative consumption")]
    assert negative and cdb011.rejected_by_reason[negative[0]] > 100
    assert {e.sensor for e in cdb011.errors} == {"CDB011_Mains phase 3"}
    # 1.csv belongs to no configured home: every reading rejected as an unknown sensor.
    assert reports["1.csv"].accepted == 0
    assert any("unknown sensor" in e.reason for e in reports["1.csv"].errors)
    # ECHBUA is clean: 10,801 rows x 6 sensors, nothing rejected.
    assert reports["ECHBUA.csv"].rejected == 0
    assert reports["ECHBUA.csv"].accepted == 10_801 * 6


def test_three_phase_home_matches_backend_sum(engine: Engine, sample_data: Path) -> None:
    path = sample_data / "17dec2021" / "ECHBUA.csv"
    with session_scope(engine) as session:
        community = create_community(session, "ech", "L'Echappee")
        home = add_household(session, community, "ECHBUA")
        for phase, colour in enumerate(("Brun", "Gris", "Noir"), start=1):
            add_meter(session, home, f"ECHBUA_{colour}", phase=phase)
        report = import_readings(session, "ech", path)
        # Only the (idle) PV clamps, which are not configured here, are rejected.
        assert report.accepted == 3 * 10_801
        assert {e.sensor for e in report.errors} <= {"ECHBUA_PV_Brun", "ECHBUA_PV_Gris",
                                                      "ECHBUA_PV_Noir"}
        energy = load_household_energy(session, [home.id or 0])
    day = energy[energy["slot_start"].dt.tz_convert(TZ).dt.date.astype(str) == "2021-12-17"]
    assert len(day) == 96 and day["kwh"].notna().all()
    # The first slot also gets the first row's 8 s, which the backend's series cannot have.
    backend = backend_15min_kwh(path, "P_cons", day["slot_start"].iloc[1:])
    np.testing.assert_allclose(day["kwh"].to_numpy()[1:], backend, rtol=1e-6)


def test_reversed_pv_clamps_come_out_right_once_signed(engine: Engine,
                                                       sample_data: Path) -> None:
    """ECHASC: three phases (grid exchange) and three PV clamps wired the wrong way round."""
    path = sample_data / "17dec2021" / "ECHASC.csv"
    with session_scope(engine) as session:
        community = create_community(session, "ech", "L'Echappee")
        home = add_household(session, community, "ECHASC")
        pv_meters = []
        for phase, colour in enumerate(("Brun", "Gris", "Noir"), start=1):
            add_meter(session, home, f"ECHASC_{colour}", role="net", phase=phase)
            pv_meters.append(add_meter(session, home, f"ECHASC_PV_{colour}", role="production",
                                       phase=phase))
        import_readings(session, "ech", path)
        wrong = load_household_energy(session, [home.id or 0], role="production")
        # Fix the signs afterwards: no re-import needed, the household series is rebuilt.
        for meter in pv_meters:
            meter.sign = -1
        session.flush()
        slots = wrong["slot"]
        rebuild_household_energy(session, [home.id or 0], int(slots.min()), int(slots.max()))
        right = load_household_energy(session, [home.id or 0], role="production")
        net = load_household_energy(session, [home.id or 0], role="net")
        consumption = load_household_energy(session, [home.id or 0], role="consumption")
    local_hour = right["slot_start"].dt.tz_convert(TZ).dt.hour
    daytime = (local_hour >= 10) & (local_hour < 14)
    assert wrong.loc[daytime, "kwh"].sum() < 0  # before: negative production at noon
    assert right.loc[daytime, "kwh"].sum() > 0.5  # after: ~200 W for four hours
    assert (right["kwh"].dropna() > -0.01).all()
    # consumption = net + production, slot by slot.
    merged = net.merge(right, on="slot", suffixes=("_net", "_prod")).merge(consumption,
                                                                          on="slot")
    np.testing.assert_allclose(merged["kwh"], merged["kwh_net"] + merged["kwh_prod"])


def test_importing_the_group_file_after_the_home_file_does_not_double(
        engine: Engine, sample_data: Path) -> None:
    with session_scope(engine) as session:
        community = create_community(session, "ech", "L'Echappee")
        home = add_household(session, community, "ECHL16")
        add_meter(session, home, "ECHL16_L16")
        import_readings(session, "ech", sample_data / "17dec2021" / "ECHL16.csv")
        once = load_household_energy(session, [home.id or 0])
        report = import_readings(session, "ech", sample_data / "17dec2021" / "group_2.csv")
        twice = load_household_energy(session, [home.id or 0])
    assert report.accepted == 10_801
    np.testing.assert_allclose(once["kwh"].to_numpy(), twice["kwh"].to_numpy())


def test_canonical_csv_and_live_chunks(engine: Engine) -> None:
    """Also on PostgreSQL: the same code must work on both back ends."""
    with session_scope(engine) as session:
        community = create_community(session, "c", "C")
        home = add_household(session, community, "H1")
        add_meter(session, home, "abc")
        lines = ["sensor,timestamp,watts"]
        lines += [f"abc,{1_700_000_100 - 1_700_000_100 % 900 + 8 * i},1000" for i in range(1, 226)]
        lines += ["abc,2023-11-14T22:15:00,5", "abc,yesterday,5", "zzz,1700000000,5",
                  "abc,1700001000,lots", "abc,2023-11-14T22:00:00+00:00,nan"]
        first, second = lines[:120], [lines[0], *lines[120:]]
        r1 = import_readings(session, "c", "\n".join(first))
        r2 = import_readings(session, "c", "\n".join(second))
        energy = load_household_energy(session, [home.id or 0])
    assert r1.accepted == 119 and r1.rejected == 0
    reasons = {e.reason for e in r2.errors}
    assert any("without a UTC offset" in r for r in reasons)
    assert any("not ISO-8601" in r for r in reasons)
    assert any("unknown sensor" in r for r in reasons)
    assert any("not a number" in r for r in reasons)
    assert any("no value" in r for r in reasons)
    # Two chunks of one stream fill the same slots: both slots complete, 0.25 kWh each.
    assert list(energy["kwh"].round(6)[:2]) == [0.25, 0.25]
