"""Households in bulk from a CSV file: ``ref,cluster[,sensor,role,sign]``, one meter a row.

All or nothing: every row is checked against the file and the database before anything is
written, so a file with one bad row leaves the community as it was and the answer lists every
bad row with its line and reason; the facilitator fixes the file and sends it again.

A home with several clamps takes one row per sensor, the same ref (and cluster) on each. A
header line is optional (``ref,cluster,sensor,role,sign``, in any order); without one the
columns are read in that order. Semicolons work too (a spreadsheet saved in French or Dutch).
An unknown cluster is created, as in ``POST .../households``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from core.clock import Clock, utc_now
from core.communities import add_cluster, add_household, cluster_by_name, unused_household_code
from core.metering import Meter, MeterRole
from core.models import Cluster, Community, Household

COLUMNS = ("ref", "cluster", "sensor", "role", "sign")
MAX_REF = 64
MAX_CLUSTER = 64
MAX_SENSOR = 128
ROLES = tuple(role.value for role in MeterRole)
SIGNS = {"1": 1, "+1": 1, "-1": -1}


@dataclass(frozen=True)
class RowProblem:
    line: int
    column: str | None
    reason: str


@dataclass(frozen=True)
class MeterRow:
    sensor: str
    role: str
    sign: int


@dataclass
class HouseholdRow:
    line: int
    ref: str
    cluster: str | None
    meters: list[MeterRow] = field(default_factory=list)


@dataclass(frozen=True)
class ImportedHousehold:
    ref: str
    cluster: str | None
    code: str
    sensors: tuple[str, ...]


class HouseholdImportError(ValueError):
    """The file was refused whole; ``problems`` says where and why."""

    def __init__(self, problems: list[RowProblem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the file, nothing imported")
        self.problems = problems


def read_rows(text: str) -> tuple[list[HouseholdRow], list[RowProblem]]:
    """The households a file describes, and what is wrong in it (the database not asked)."""
    lines = text.lstrip("\ufeff").splitlines()
    first = next((line for line in lines if line.strip()), "")
    delimiter = ";" if ";" in first and "," not in first else ","
    reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)
    problems: list[RowProblem] = []
    columns = list(COLUMNS)
    households: dict[str, HouseholdRow] = {}
    sensors: dict[str, int] = {}
    header_seen = False
    for line, cells in enumerate(reader, start=1):
        cells = [cell.strip() for cell in cells]
        if not any(cells):
            continue
        if not header_seen:
            header_seen = True
            if cells[0].lower() == "ref":
                names = [cell.lower() for cell in cells]
                unknown = [name for name in names if name not in COLUMNS]
                if unknown or len(set(names)) != len(names):
                    problems.append(RowProblem(line, None, "the header names the columns "
                                               f"{', '.join(COLUMNS)}, each once; got "
                                               f"{', '.join(cells)}"))
                    return [], problems
                columns = names
                continue
        if len(cells) > len(columns):
            problems.append(RowProblem(line, None, f"{len(cells)} columns, expected at most "
                                       f"{len(columns)} ({','.join(columns)})"))
            continue
        row = dict(zip(columns, cells, strict=False))
        _read_row(line, row, households, sensors, problems)
    if not households and not problems:
        problems.append(RowProblem(1, None, "no households in the file"))
    return list(households.values()), problems


def _read_row(line: int, row: dict[str, str], households: dict[str, HouseholdRow],
              sensors: dict[str, int], problems: list[RowProblem]) -> None:
    ref, cluster = row.get("ref", ""), row.get("cluster", "") or None
    sensor, role, sign = row.get("sensor", ""), row.get("role", ""), row.get("sign", "")
    found = len(problems)
    if not ref:
        problems.append(RowProblem(line, "ref", "the ref is empty"))
    elif len(ref) > MAX_REF:
        problems.append(RowProblem(line, "ref", f"the ref is longer than {MAX_REF} characters"))
    if cluster and len(cluster) > MAX_CLUSTER:
        problems.append(RowProblem(line, "cluster",
                                   f"the cluster is longer than {MAX_CLUSTER} characters"))
    if not sensor and (role or sign):
        problems.append(RowProblem(line, "sensor", "a role or sign needs a sensor"))
    if len(sensor) > MAX_SENSOR:
        problems.append(RowProblem(line, "sensor",
                                   f"the sensor is longer than {MAX_SENSOR} characters"))
    elif sensor in sensors:
        problems.append(RowProblem(line, "sensor",
                                   f"sensor {sensor!r} is already on line {sensors[sensor]}"))
    if role and role.lower() not in ROLES:
        problems.append(RowProblem(line, "role", f"role {role!r} is not one of "
                                                 f"{', '.join(ROLES)}"))
    if sign and sign not in SIGNS:
        problems.append(RowProblem(line, "sign", f"sign {sign!r} is not 1 or -1"))
    if len(problems) > found:
        return
    household = households.get(ref)
    if household is None:
        household = households[ref] = HouseholdRow(line, ref, cluster)
    elif household.cluster != cluster:
        problems.append(RowProblem(line, "cluster", f"household {ref!r} is in cluster "
                                   f"{household.cluster!r} on line {household.line}"))
        return
    elif not sensor:
        problems.append(RowProblem(line, "ref", f"household {ref!r} is already on line "
                                                f"{household.line}"))
        return
    if sensor:
        sensors[sensor] = line
        household.meters.append(MeterRow(sensor, (role or MeterRole.CONSUMPTION.value).lower(),
                                         SIGNS[sign or "1"]))


def check_against_database(session: Session, community: Community,
                           households: list[HouseholdRow]) -> list[RowProblem]:
    """Refs the community already has and sensors already configured anywhere."""
    problems = []
    refs = {h.ref for h in households}
    existing = set(session.exec(select(Household.ref).where(
        Household.community_id == community.id, col(Household.ref).in_(refs))).all())
    sensors = {m.sensor: h.line for h in households for m in h.meters}
    taken = set(session.exec(select(Meter.sensor).where(
        col(Meter.sensor).in_(list(sensors)))).all()) if sensors else set()
    for household in households:
        if household.ref in existing:
            problems.append(RowProblem(household.line, "ref", f"household {household.ref!r} "
                                       f"already exists in {community.slug!r}"))
        for meter in household.meters:
            if meter.sensor in taken:
                problems.append(RowProblem(household.line, "sensor", f"sensor {meter.sensor!r} "
                                           "is already configured as a meter"))
    return problems


def import_households(session: Session, community: Community, text: str,
                      clock: Clock = utc_now,
                      progress: Callable[[int], None] | None = None,
                      progress_total: Callable[[int], None] | None = None,
                      ) -> list[ImportedHousehold]:
    """Add every household of the file with a new code, or none (``HouseholdImportError``).

    ``progress_total`` is told how many households will be written once the file is checked,
    ``progress`` of each one written. The caller commits."""
    households, problems = read_rows(text)
    if not problems:
        problems = check_against_database(session, community, households)
    if problems:
        raise HouseholdImportError(sorted(problems, key=lambda p: p.line))
    assert community.id is not None
    if progress_total is not None:
        progress_total(len(households))
    now = clock()
    clusters: dict[str, Cluster] = {}
    codes: set[str] = set()
    imported = []
    for row in households:
        cluster = None
        if row.cluster:
            cluster = clusters.get(row.cluster) or cluster_by_name(session, community,
                                                                   row.cluster)
            if cluster is None:
                cluster = add_cluster(session, community, row.cluster)
            clusters[row.cluster] = cluster
        code = unused_household_code(session, taken=codes)
        codes.add(code)
        household = add_household(session, community, row.ref, cluster, code=code,
                                  clock=lambda: now)
        assert household.id is not None
        for meter in row.meters:
            session.add(Meter(community_id=community.id, household_id=household.id,
                              sensor=meter.sensor, role=meter.role, sign=meter.sign,
                              created_at=now))
        imported.append(ImportedHousehold(row.ref, row.cluster, household.code,
                                          tuple(m.sensor for m in row.meters)))
        if progress is not None:
            progress(1)
    session.flush()
    return imported


def households_csv(households: list[ImportedHousehold]) -> str:
    """The answer: one line per household with the code a resident types to link to it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("ref", "cluster", "code", "sensors"))
    for household in households:
        writer.writerow((household.ref, household.cluster or "", household.code,
                         " ".join(household.sensors)))
    return out.getvalue()
