"""Broadcasts through the admin API: draft, send, counts per channel, cancel mid-way."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.app import create_app
from bot.rendering.broadcasts import broadcast_message
from core.config import Settings
from core.db import session_scope
from core.groups import link_group
from core.models import OutboxMessage, OutboxStatus, SubjectKind
from core.outbox import mark_many_sent
from core.topics import Topic, set_muted
from scheduler.broadcasts import run_due_broadcasts
from tests.fakes.community import Resident, seed_residents

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 10:00 in Brussels: not quiet hours
AUTH = {"Authorization": "Bearer s3cret"}
NEWS = {"fr": "La salle de l'atelier change : rendez-vous au local B.",
        "nl": "De werkplaats verhuist: afspraak in lokaal B."}


@pytest.fixture
def residents(engine: Engine) -> list[Resident]:
    return seed_residents(engine, NOW)


@pytest.fixture
def client(engine: Engine, residents: list[Resident]) -> Iterator[TestClient]:
    app = create_app(engine, Settings(admin_token="s3cret", database_url="sqlite://"),
                     clock=lambda: NOW)
    with TestClient(app) as test_client:
        yield test_client


def _rows(engine: Engine, broadcast_id: int) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).where(
            OutboxMessage.subject_kind == SubjectKind.BROADCAST.value,
            OutboxMessage.subject_id == broadcast_id).order_by(col(OutboxMessage.id))).all())


def test_draft_send_fan_out_and_counts_per_channel(client: TestClient, engine: Engine,
                                                   residents: list[Resident]) -> None:
    with session_scope(engine) as session:
        # One Arabic reader muted news: not in the audience (alerts would still reach them).
        set_muted(session, residents[3].contact_id, Topic.NEWS, True, NOW)
        link_group(session, 1, "-100777", "Voisins", None, NOW)
    created = client.post("/api/v1/communities/echappee/broadcasts",
                          json={"text": NEWS}, headers=AUTH)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "draft" and body["source_locale"] == "fr"
    assert body["delivery"]["total"] == 0
    assert run_due_broadcasts(engine, broadcast_message, clock=lambda: NOW).queued == []
    sent = client.post(f"/api/v1/broadcasts/{body['id']}/send", headers=AUTH).json()
    assert sent["status"] == "scheduled"
    report = run_due_broadcasts(engine, broadcast_message, clock=lambda: NOW)
    assert report.queued == [(body["id"], 5)]
    rows = _rows(engine, body["id"])
    people = [row for row in rows if row.contact_id is not None]
    assert len(people) == 5 and residents[3].contact_id not in {r.contact_id for r in people}
    texts = {row.contact_id: row.payload["text"] for row in people}
    # Dutch readers get the Dutch text, Arabic ones the source (French) in an Arabic frame.
    assert "lokaal B" in texts[residents[1].contact_id]
    assert "local B" in texts[residents[2].contact_id]
    assert texts[residents[2].contact_id] != texts[residents[0].contact_id]
    # The linked group gets one post, without buttons, counted apart from residents.
    group = [row for row in rows if row.contact_id is None]
    assert len(group) == 1 and group[0].payload["choices"] == []
    with session_scope(engine) as session:
        mark_many_sent(session, [(people[0].id or 0, "p1"), (people[1].id or 0, "p2")], NOW)
    view = client.get(f"/api/v1/broadcasts/{body['id']}", headers=AUTH).json()
    assert view["status"] == "sending" and view["recipients"] == 5
    delivery = view["delivery"]
    assert (delivery["total"], delivery["sent"], delivery["waiting"]) == (5, 2, 3)
    assert delivery["by_channel"]["sms"]["total"] == 1
    assert delivery["by_channel"]["telegram"]["total"] == 2
    assert delivery["by_channel"]["whatsapp"]["total"] == 2
    # A replay of the fan-out writes nothing twice.
    assert client.post(f"/api/v1/broadcasts/{body['id']}/send", headers=AUTH).json()[
        "status"] == "sending"

    cancelled = client.post(f"/api/v1/broadcasts/{body['id']}/cancel", headers=AUTH).json()
    assert cancelled["status"] == "cancelled" and cancelled["held_back"] == 4
    statuses = {row.id: row.status for row in _rows(engine, body["id"])}
    assert statuses[people[0].id] == OutboxStatus.SENT.value
    assert statuses[people[4].id] == OutboxStatus.CANCELLED.value
    assert cancelled["delivery"]["held_back"] == 3 and cancelled["delivery"]["sent"] == 2
    again = client.post(f"/api/v1/broadcasts/{body['id']}/send", headers=AUTH)
    assert again.status_code == 409


def test_audience_by_cluster_and_language(client: TestClient, engine: Engine) -> None:
    created = client.post("/api/v1/communities/echappee/broadcasts", headers=AUTH, json={
        "text": {"ar": "مرحبا"}, "audience": {"cluster": "B", "languages": ["ar"]}}).json()
    client.post(f"/api/v1/broadcasts/{created['id']}/send", headers=AUTH)
    run_due_broadcasts(engine, broadcast_message, clock=lambda: NOW)
    assert client.get(f"/api/v1/broadcasts/{created['id']}", headers=AUTH).json()[
        "delivery"]["total"] == 2


def test_news_waits_for_the_end_of_quiet_hours(client: TestClient, engine: Engine) -> None:
    created = client.post("/api/v1/communities/echappee/broadcasts", headers=AUTH,
                          json={"text": NEWS}).json()
    client.post(f"/api/v1/broadcasts/{created['id']}/send", headers=AUTH)
    night = datetime(2026, 12, 1, 22, 30, tzinfo=UTC)
    report = run_due_broadcasts(engine, broadcast_message, clock=lambda: night)
    assert report.postponed == [created["id"]] and _rows(engine, created["id"]) == []
    morning = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)  # 08:00 in Brussels
    assert run_due_broadcasts(engine, broadcast_message, clock=lambda: morning).queued == [
        (created["id"], 6)]


@pytest.mark.parametrize(("payload", "where"), [
    ({"text": {}}, ["body", "text"]),
    ({"text": {"xx": "hi"}}, ["body", "text", "xx", "[key]"]),
    ({"text": {"fr": ""}}, ["body", "text", "fr"]),
    ({"text": {"fr": "a" * 601}}, ["body", "text", "fr"]),
    ({"text": {"fr": "hi"}, "audience": {"languages": ["xx"]}},
     ["body", "audience", "languages", 0]),
    ({"text": {"fr": "hi"}, "audience": {"who": "all"}}, ["body", "audience", "who"]),
    ({"text": {"fr": "hi"}, "source_locale": "nl"}, []),
    ({"text": {"fr": "hi"}, "audience": {"cluster": "Z"}}, []),
    ({"text": {"fr": "   "}}, []),
])
def test_bad_broadcasts_are_422_with_a_reason(client: TestClient, payload: dict[str, object],
                                              where: list[object]) -> None:
    response = client.post("/api/v1/communities/echappee/broadcasts", json=payload,
                           headers=AUTH)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == where


def test_unknown_things_are_404_and_the_token_is_needed(client: TestClient) -> None:
    assert client.post("/api/v1/communities/nowhere/broadcasts", json={"text": NEWS},
                       headers=AUTH).status_code == 404
    for path in ("/api/v1/broadcasts/999/send", "/api/v1/broadcasts/999/cancel"):
        assert client.post(path, headers=AUTH).status_code == 404
    assert client.get("/api/v1/broadcasts/999", headers=AUTH).status_code == 404
    assert client.get("/api/v1/broadcasts/1").status_code == 401


def test_a_finished_broadcast_cannot_be_cancelled(client: TestClient, engine: Engine) -> None:
    from scheduler.progress import report_progress
    created = client.post("/api/v1/communities/echappee/broadcasts", headers=AUTH,
                          json={"text": NEWS}).json()
    client.post(f"/api/v1/broadcasts/{created['id']}/send", headers=AUTH)
    run_due_broadcasts(engine, broadcast_message, clock=lambda: NOW)
    rows = [row for row in _rows(engine, created["id"]) if row.contact_id is not None]
    with session_scope(engine) as session:
        mark_many_sent(session, [(row.id or 0, None) for row in rows],
                       NOW + timedelta(seconds=1))
    report_progress(engine, lambda *_: "", clock=lambda: NOW)
    view = client.get(f"/api/v1/broadcasts/{created['id']}", headers=AUTH).json()
    assert view["status"] == "sent" and view["finished_at"]
    assert client.post(f"/api/v1/broadcasts/{created['id']}/cancel",
                       headers=AUTH).status_code == 409
