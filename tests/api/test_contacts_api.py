"""Residents' data rights over the API: the contacts list (no names, no numbers), one
person's export (what "My data" shows) and erasure (as "Forget me"), audited without data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.app import create_app
from core.audit import AuditEntry
from core.config import Settings
from core.contacts import enrol_contact, link_household
from core.db import session_scope
from core.demo import seed_demo
from core.identities import touch_identity
from core.models import ChannelIdentity, Contact, Household
from core.personal_data import stored_facts
from core.tokens import TokenRole, create_token

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ADMIN = {"Authorization": "Bearer s3cret"}
PHONE = "+32470111222"


@pytest.fixture
def world(engine: Engine) -> Iterator[tuple[TestClient, Engine, int, str]]:
    with session_scope(engine) as session:
        demo = seed_demo(session, clock=lambda: NOW)
        assert demo.id is not None
        identity = touch_identity(session, "sms", PHONE, NOW, display_name="Nadia")
        contact = enrol_contact(session, identity, demo.id, "nl", "2026-11.3", NOW,
                                name="Nadia")
        household = session.exec(select(Household).where(Household.ref == "H02")).one()
        link_household(session, contact, household.id or 0)
        assert contact.id is not None
        contact_id = contact.id
        viewer = create_token(session, "viewer", TokenRole.FACILITATOR, "demo").secret
    settings = Settings(admin_token="s3cret", database_url="sqlite://",
                        _env_file=None)  # type: ignore[call-arg]
    with TestClient(create_app(engine, settings, clock=lambda: NOW)) as client:
        yield client, engine, contact_id, viewer


def test_the_list_has_no_names_or_numbers(world: tuple[TestClient, Engine, int, str]
                                          ) -> None:
    client, _, contact_id, _ = world
    listed = client.get("/api/v1/communities/demo/contacts", headers=ADMIN)
    assert listed.status_code == 200
    mine = [c for c in listed.json() if c["id"] == contact_id]
    assert mine == [{"id": contact_id, "role": "resident", "locale": "nl",
                     "channels": ["sms"], "consent_version": "2026-11.3",
                     "consented_at": "2026-12-01T09:00:00+00:00", "stopped": False}]
    assert "Nadia" not in listed.text and PHONE not in listed.text
    assert "Awa" not in listed.text


def test_the_export_is_my_data_and_erasure_is_forget_me(
        world: tuple[TestClient, Engine, int, str]) -> None:
    client, engine, contact_id, facilitator = world
    # Residents' data rights are an admin's: a facilitator token may not.
    assert client.get(f"/api/v1/contacts/{contact_id}/export", headers={
        "Authorization": f"Bearer {facilitator}"}).status_code == 403
    exported = client.get(f"/api/v1/contacts/{contact_id}/export", headers=ADMIN)
    assert exported.status_code == 200
    body = exported.json()
    with Session(engine) as session:
        facts = stored_facts(session, contact_id)
    assert facts is not None
    assert body["name"] == facts.name == "Nadia" and body["household"] == "H02"
    assert body["channels"] == [{"channel": "sms", "address": PHONE}]
    assert body["consent_version"] == facts.consent_version and body["locale"] == "nl"
    assert client.delete(f"/api/v1/contacts/{contact_id}", headers=ADMIN).status_code == 204
    assert client.get(f"/api/v1/contacts/{contact_id}/export",
                      headers=ADMIN).status_code == 404
    assert client.delete(f"/api/v1/contacts/{contact_id}", headers=ADMIN).status_code == 404
    with Session(engine) as session:
        assert session.get(Contact, contact_id) is None
        identity = session.exec(select(ChannelIdentity).where(
            ChannelIdentity.address == PHONE)).one()
        assert identity.contact_id is None and identity.display_name is None
        audit = [repr(e) for e in session.exec(select(AuditEntry)).all()]
    assert any(f"contact_id={contact_id}" in e and "status=204" in e for e in audit)
    assert not any("Nadia" in e or PHONE in e for e in audit)
