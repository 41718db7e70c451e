"""Shared fixtures: a migrated SQLite database per test, PostgreSQL when present, no internet."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from core.db import make_engine, migrate
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_ADMIN_URL = os.environ.get(
    "VOISINS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def service_is_up(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip on a laptop without the service; in CI a missing service is a failure."""
    if service_is_up(host, port):
        return
    if IN_CI:
        pytest.fail(f"{name} is not running on {host}:{port} (CI=true requires it)")
    pytest.skip(f"{name} not running on {host}:{port}")


def _is_loopback(host: str) -> bool:
    return host.startswith("127.") or host in ("::1", "localhost")


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection outside loopback fails loudly (python-telegram-bot's OfflineRequest idea)."""
    real_connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        is_inet = self.family in (socket.AF_INET, socket.AF_INET6)
        if is_inet and isinstance(host, str) and not _is_loopback(host):
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A fresh SQLite database, migrated with Alembic like production."""
    db_engine = make_engine(f"sqlite:///{tmp_path}/voisins.db")
    migrate(db_engine)
    yield db_engine
    db_engine.dispose()


@pytest.fixture(scope="session")
def _pg_template() -> Iterator[str]:
    """One migrated PostgreSQL database per test run; each test gets a copy of it."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    name = f"voisins_template_{uuid.uuid4().hex[:8]}"
    admin = make_engine(POSTGRES_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    template = make_engine(_pg_url(name))
    migrate(template)
    template.dispose()
    try:
        yield name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _pg_url(name: str) -> str:
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def pg_engine(_pg_template: str) -> Iterator[Engine]:
    """A fresh PostgreSQL database on 127.0.0.1:5432, migrated, dropped afterwards."""
    name = f"voisins_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(POSTGRES_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{_pg_template}"'))
    db_engine = make_engine(_pg_url(name))
    try:
        yield db_engine
    finally:
        db_engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """Every database test runs on both back ends: the same code must work on both.

    The PostgreSQL half skips on a laptop without the server and fails in CI without it.
    """
    name = "sqlite_engine" if request.param == "sqlite" else "pg_engine"
    chosen: Engine = request.getfixturevalue(name)
    return chosen


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    """The Telegram Bot API, faked on loopback (tests/fakes/telegram_api.py)."""
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    """Twilio's Messages API, faked on loopback (tests/fakes/twilio_api.py)."""
    with FakeTwilio() as fake:
        yield fake
