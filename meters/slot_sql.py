"""Slot times to and from the database without a Python datetime per row.

Meter tables hold a row per 15-minute slot, and an import writes (and reads back) tens of
thousands of them. Converting each ``slot_start`` through SQLAlchemy's DateTime type costs
more than the rest of the import together (a parse and a format per value on SQLite), so:
reads ask the database for whole epoch seconds (``EpochSeconds``), and writes hand the
driver what it stores natively, through one ``executemany`` per chunk.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import BigInteger, Table
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session

from core.metering import SLOT_SECONDS
from meters.cleaning import slot_to_utc

# Rows per INSERT statement: large enough to be quick, small enough for SQLite's limits.
INSERT_CHUNK = 2000


class EpochSeconds(FunctionElement[int]):
    """``EpochSeconds(column)``: a timestamp column as whole UTC seconds since 1970."""

    type = BigInteger()
    name = "epoch_seconds"
    inherit_cache = True


@compiles(EpochSeconds, "sqlite")
def _epoch_sqlite(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps UTC text ('2026-11-27 10:15:00.000000'); strftime reads it as UTC.
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(EpochSeconds)
def _epoch_default(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS BIGINT)"


def slot_starts_for(session: Session, slots: npt.NDArray[np.int64]) -> list[Any]:
    """The ``slot_start`` values of these slots as the driver stores them: SQLAlchemy's
    SQLite text ('YYYY-MM-DD HH:MM:SS.ffffff', UTC), datetimes for PostgreSQL."""
    if session.get_bind().dialect.name == "sqlite":
        seconds = (np.asarray(slots, dtype=np.int64) * SLOT_SECONDS).astype("datetime64[s]")
        return [text.replace("T", " ") for text in
                np.datetime_as_string(seconds.astype("datetime64[us]"), unit="us").tolist()]
    return list(slot_to_utc(slots).to_pydatetime())


def insert_many(session: Session, table: Table, columns: Sequence[str],
                rows: Sequence[Sequence[Any]]) -> None:
    """Plain ``executemany`` INSERTs of driver-ready values (see ``slot_starts_for``)."""
    if not rows:
        return
    connection = session.connection()
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) "
           f"VALUES ({', '.join([marker] * len(columns))})")
    for i in range(0, len(rows), INSERT_CHUNK):
        connection.exec_driver_sql(sql, list(rows[i:i + INSERT_CHUNK]))
