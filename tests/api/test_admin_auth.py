"""Admin authentication: wrong tokens from one address are slowed down (429, Retry-After),
other addresses are not; and the request's session commits before the answer is sent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.app import create_app
from api.auth import FailedLogins
from core.config import Settings
from core.db import session_scope
from core.demo import seed_demo
from core.models import Household

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
GOOD = {"Authorization": "Bearer s3cret"}
WRONG = {"Authorization": "Bearer guess"}


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


def _app(engine: Engine, ticks: Ticks) -> TestClient:
    settings = Settings(admin_token="s3cret", database_url="sqlite://", admin_auth_failures=5,
                        admin_auth_window_seconds=60, _env_file=None)  # type: ignore[call-arg]
    app = create_app(engine, settings, clock=lambda: NOW)
    app.state.failed_logins = FailedLogins(5, 60, clock=ticks)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def client(engine: Engine, ticks: Ticks) -> Iterator[TestClient]:
    with session_scope(engine) as session:
        seed_demo(session, clock=lambda: NOW)
    with _app(engine, ticks) as test_client:
        yield test_client


URL = "/api/v1/communities/demo/households"


def test_repeated_wrong_tokens_get_429_with_retry_after(client: TestClient,
                                                        ticks: Ticks) -> None:
    for _ in range(5):
        assert client.get(URL, headers=WRONG).status_code == 401
        ticks.now += 1
    blocked = client.get(URL, headers=WRONG)
    assert blocked.status_code == 429
    assert blocked.headers["Retry-After"] == "55"  # the first failure leaves the window then
    assert "retry in 55 s" in blocked.json()["detail"]
    # Blocked means blocked: even the right token waits, so guessing gains nothing.
    assert client.get(URL, headers=GOOD).status_code == 429
    # Another address is not held back.
    elsewhere = TestClient(client.app, client=("192.0.2.7", 40000))
    assert elsewhere.get(URL, headers=GOOD).status_code == 200
    assert elsewhere.get(URL, headers=WRONG).status_code == 401
    ticks.now += 55
    assert client.get(URL, headers=GOOD).status_code == 200
    # One more wrong try fills the window again.
    assert client.get(URL, headers=WRONG).status_code == 401
    assert client.get(URL, headers=WRONG).status_code == 429


def test_a_missing_header_is_not_counted(client: TestClient) -> None:
    for _ in range(10):
        assert client.get(URL).status_code == 401
    assert client.get(URL, headers=GOOD).status_code == 200


def test_failures_are_counted_per_address() -> None:
    ticks = Ticks()
    logins = FailedLogins(limit=3, window=60, clock=ticks, max_addresses=2)
    for _ in range(3):
        logins.failed("10.0.0.1")
    assert logins.retry_after("10.0.0.1") == 60
    assert logins.retry_after("10.0.0.2") is None
    logins.failed("10.0.0.2")
    logins.failed("10.0.0.3")  # only two addresses are kept: the stalest is forgotten
    assert logins.retry_after("10.0.0.1") is None
    ticks.now += 61
    assert logins.retry_after("10.0.0.2") is None


def test_a_failed_commit_is_never_answered_2xx(client: TestClient, engine: Engine) -> None:
    def refuse(session: Session) -> None:
        raise RuntimeError("the disk is full")

    event.listen(Session, "before_commit", refuse)
    try:
        response = client.post(URL, headers=GOOD, json={"ref": "H77"})
    finally:
        event.remove(Session, "before_commit", refuse)
    assert response.status_code == 500
    assert response.json() == {"detail": "internal server error"}  # JSON, like every error
    with Session(engine) as session:
        assert session.exec(select(Household).where(Household.ref == "H77")).first() is None
    created = client.post(URL, headers=GOOD, json={"ref": "H77"})
    assert created.status_code == 201
    with Session(engine) as session:
        assert session.exec(select(Household).where(Household.ref == "H77")).first()
