"""Alembic environment: runs on the connection handed over by ``core.db.migrate``."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import core.alerts
import core.audit
import core.broadcasts
import core.campaigns
import core.gestures
import core.groups
import core.media
import core.metering
import core.models
import core.progress
import core.questionnaires.storage
import core.results
import core.staff
import core.tokens
import core.topics
import core.workshop_tables  # noqa: F401
from core.db import make_engine

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        with make_engine().begin() as own_connection:
            _run(own_connection)
    else:
        _run(connection)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
