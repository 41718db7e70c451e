"""Scoped access: tokens in the database (hashed), roles, communities, revocation, the audit
log; and the walk over every route of ``/openapi.json`` with another community's token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from api.access import admin_routes, declared_access
from api.app import create_app
from api.auth import admin_router
from core.alerts import AlertKind, plan_alert
from core.audit import AuditEntry
from core.broadcasts import create_broadcast
from core.campaigns import create_campaign
from core.communities import add_household, community_by_slug, create_community
from core.config import Settings
from core.db import session_scope
from core.demo import seed_demo
from core.models import Contact
from core.questionnaires.content import load_content
from core.tokens import ApiToken, TokenRole, create_token
from core.workshops import create_workshop
from tests.api.helpers import detail_text

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
BOOTSTRAP = {"Authorization": "Bearer s3cret"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class World:
    client: TestClient
    engine: Engine
    tokens: dict[str, str]  # "demo-admin", "demo-facilitator", "demo-viewer", "other-admin"
    ids: dict[str, int]  # path parameters naming the demo community's things


@pytest.fixture
def world(engine: Engine) -> Iterator[World]:
    tokens: dict[str, str] = {}
    with session_scope(engine) as session:
        demo = seed_demo(session, clock=lambda: NOW)
        other = create_community(session, "other", "Other place", clock=lambda: NOW)
        add_household(session, other, "O1", code="OTHER1", clock=lambda: NOW)
        load_content(session, NOW)
        alert = plan_alert(session, demo, starts_at=datetime(2026, 12, 3, 16, tzinfo=UTC),
                           duration_minutes=60, kind=AlertKind.PLANNED, now=NOW)
        campaign = create_campaign(session, demo, "general_survey", NOW)
        workshop = create_workshop(session, demo, title={"fr": "Atelier"}, place="Salle",
                                   starts_at=datetime(2026, 12, 10, 17, tzinfo=UTC),
                                   ends_at=datetime(2026, 12, 10, 19, tzinfo=UTC), now=NOW)
        broadcast = create_broadcast(session, demo, {"fr": "Nouvelles"}, NOW)
        for community, role in (("demo", TokenRole.ADMIN), ("demo", TokenRole.FACILITATOR),
                                ("demo", TokenRole.VIEWER), ("other", TokenRole.ADMIN)):
            made = create_token(session, f"{community} {role.value}", role, community,
                                clock=lambda: NOW)
            tokens[f"{community}-{role.value}"] = made.secret
        contact = session.exec(select(Contact).where(Contact.community_id == demo.id)).first()
        demo_token = session.exec(select(ApiToken).where(ApiToken.community_id == demo.id)
                                  ).first()
        assert alert.id and campaign.id and workshop.id and broadcast.id and contact \
            and contact.id
        assert demo_token
        # One of each thing a path names, all of the demo community: a route naming a new
        # kind of thing must add it here (the walk below fails on an unknown parameter).
        ids = {"alert_id": alert.id, "campaign_id": campaign.id, "workshop_id": workshop.id,
               "questionnaire_id": campaign.questionnaire_id, "contact_id": contact.id,
               "token_id": demo_token.id or 0, "broadcast_id": broadcast.id}
    settings = Settings(admin_token="s3cret", database_url="sqlite://",
                        _env_file=None)  # type: ignore[call-arg]
    with TestClient(create_app(engine, settings, clock=lambda: NOW),
                    raise_server_exceptions=False) as client:
        yield World(client, engine, tokens, ids)


def test_every_admin_route_declares_its_access(world: World) -> None:
    """A new route under /api/v1 must say who may call it (``api/access.py``)."""
    routes = admin_routes(world.client.app)  # type: ignore[arg-type]
    assert len(routes) >= 25
    undeclared = [f"{sorted(methods)} {path}" for path, methods, route in routes
                  if declared_access(route) is None]
    assert undeclared == []


def _filled(path: str, ids: dict[str, int]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "slug":
            return "demo"
        assert name in ids, f"{path}: add a demo {name} to the world fixture"
        return str(ids[name])
    return re.sub(r"\{(\w+)\}", value, path)


def test_another_communitys_token_gets_403_or_404_on_every_route(world: World) -> None:
    """Walks /openapi.json: with the admin token of another community, every route that names
    the demo community's things answers 403 or 404; the lists any token may read (declared
    ``any_token``) answer without a trace of the demo community."""
    paths = world.client.get("/openapi.json").json()["paths"]
    declared = {(method, path): declared_access(route)
                for path, methods, route in admin_routes(world.client.app)  # type: ignore[arg-type]
                for method in methods}
    walked = 0
    for path, operations in paths.items():
        if not path.startswith("/api/v1/"):
            continue
        for method in operations:
            url = _filled(path, world.ids)
            response = world.client.request(method.upper(), url,
                                            headers=bearer(world.tokens["other-admin"]))
            access = declared[(method.upper(), path)]
            walked += 1
            where = f"{method.upper()} {url} -> {response.status_code} {response.text[:200]}"
            if access is not None and access.filtered:
                assert response.status_code in (200, 201, 403, 404, 422), where
                assert '"demo"' not in response.text and "demo " not in response.text, where
            else:
                assert response.status_code in (403, 404), where
    assert walked >= 25


@pytest.mark.parametrize("url", [
    "/api/v1/questionnaires/{questionnaire_id}/results",
    "/api/v1/questionnaires/{questionnaire_id}/results?community=demo",
    "/api/v1/questionnaires/{questionnaire_id}/results.csv?community=demo",
    "/api/v1/audit", "/api/v1/audit?community=demo",
])
def test_a_communitys_token_cannot_read_across_communities(world: World, url: str) -> None:
    response = world.client.get(_filled(url, world.ids),
                                headers=bearer(world.tokens["other-admin"]))
    assert response.status_code == 403, response.text


def test_its_own_community_with_the_query(world: World) -> None:
    url = _filled("/api/v1/questionnaires/{questionnaire_id}/results?community=demo",
                  world.ids)
    assert world.client.get(url, headers=bearer(world.tokens["demo-viewer"])
                            ).status_code == 200
    assert world.client.get("/api/v1/audit?community=demo",
                            headers=bearer(world.tokens["demo-admin"])).status_code == 200


def test_a_viewer_reads_but_cannot_write(world: World) -> None:
    viewer = bearer(world.tokens["demo-viewer"])
    households = "/api/v1/communities/demo/households"
    assert world.client.get(households, headers=viewer).status_code == 200
    refused = world.client.post(households, json={"ref": "H99"}, headers=viewer)
    assert refused.status_code == 403
    assert "viewer token may not" in detail_text(refused)
    cancel = f"/api/v1/alerts/{world.ids['alert_id']}/cancel"
    assert world.client.post(cancel, headers=viewer).status_code == 403
    facilitator = bearer(world.tokens["demo-facilitator"])
    assert world.client.post(households, json={"ref": "H99"},
                             headers=facilitator).status_code == 201
    assert world.client.post(cancel, headers=facilitator).status_code == 200


def test_a_facilitator_manages_no_tokens_and_reads_no_audit(world: World) -> None:
    facilitator = bearer(world.tokens["demo-facilitator"])
    assert world.client.get("/api/v1/tokens", headers=facilitator).status_code == 403
    assert world.client.post("/api/v1/tokens", json={"name": "x", "role": "viewer",
                                                     "community": "demo"},
                             headers=facilitator).status_code == 403
    assert world.client.get("/api/v1/audit?community=demo",
                            headers=facilitator).status_code == 403


def test_what_spans_every_community_needs_an_unscoped_admin(world: World) -> None:
    admin = bearer(world.tokens["demo-admin"])
    qid = world.ids["questionnaire_id"]
    assert world.client.get(f"/api/v1/questionnaires/{qid}/responses.csv",
                            headers=admin).status_code == 403
    assert world.client.post("/api/v1/tokens", json={"name": "x", "role": "admin"},
                             headers=admin).status_code == 403
    # Questionnaire definitions are content: any token lists them.
    assert world.client.get("/api/v1/questionnaires", headers=admin).status_code == 200


def test_a_token_is_shown_once_stored_hashed_and_revoked(world: World) -> None:
    made = world.client.post("/api/v1/tokens", json={"name": "Cité Jardin viewers",
                                                     "community": "demo", "role": "viewer"},
                             headers=BOOTSTRAP)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["community"] == "demo" and body["role"] == "viewer"
    secret = body["token"]
    assert world.client.get("/api/v1/communities/demo/households",
                            headers=bearer(secret)).status_code == 200
    listed = world.client.get("/api/v1/tokens", headers=BOOTSTRAP)
    assert secret not in listed.text
    assert body["id"] in [t["id"] for t in listed.json()]
    with session_scope(world.engine) as session:
        row = session.get(ApiToken, body["id"])
        assert row is not None and secret not in row.token_hash and len(row.token_hash) == 64
    assert world.client.delete(f"/api/v1/tokens/{body['id']}",
                               headers=BOOTSTRAP).status_code == 204
    assert world.client.get("/api/v1/communities/demo/households",
                            headers=bearer(secret)).status_code == 401
    revoked = [t for t in world.client.get("/api/v1/tokens", headers=BOOTSTRAP).json()
               if t["id"] == body["id"]]
    assert revoked[0]["revoked_at"] is not None


def test_a_communitys_admin_manages_its_own_tokens_only(world: World) -> None:
    admin = bearer(world.tokens["demo-admin"])
    listed = world.client.get("/api/v1/tokens", headers=admin).json()
    assert {t["community"] for t in listed} == {"demo"}
    made = world.client.post("/api/v1/tokens", json={"name": "helper", "community": "demo",
                                                     "role": "facilitator"}, headers=admin)
    assert made.status_code == 201
    assert world.client.post("/api/v1/tokens", json={"name": "x", "community": "other",
                                                     "role": "viewer"},
                             headers=admin).status_code == 403
    with session_scope(world.engine) as session:
        other = community_by_slug(session, "other")
        theirs = session.exec(select(ApiToken).where(
            ApiToken.community_id == (other.id if other else 0))).first()
        assert theirs is not None
    assert world.client.delete(f"/api/v1/tokens/{theirs.id}",
                               headers=admin).status_code == 403
    assert world.client.delete(f"/api/v1/tokens/{made.json()['id']}",
                               headers=admin).status_code == 204


@pytest.mark.parametrize(("body", "status", "reason"), [
    ({"name": "x", "role": "boss"}, 422, "admin"),
    ({"name": "  ", "role": "admin"}, 422, "blank"),
    ({"name": "x" * 81, "role": "admin"}, 422, "80"),
    ({"role": "admin"}, 422, "required"),
    ({"name": "x", "role": "viewer"}, 422, "needs a community"),
    ({"name": "x", "role": "viewer", "community": "nowhere"}, 404, "nowhere"),
])
def test_bad_token_requests_say_why(world: World, body: dict[str, Any], status: int,
                                    reason: str) -> None:
    response = world.client.post("/api/v1/tokens", json=body, headers=BOOTSTRAP)
    assert response.status_code == status, response.text
    assert reason in detail_text(response)


def test_every_admin_write_is_audited_without_its_body(world: World) -> None:
    facilitator = bearer(world.tokens["demo-facilitator"])
    viewer = bearer(world.tokens["demo-viewer"])
    client = world.client
    assert client.post("/api/v1/communities/demo/households",
                       json={"ref": "SECRET-REF", "cluster": "Cabine Z"},
                       headers=facilitator).status_code == 201
    assert client.post("/api/v1/communities/demo/households", json={"ref": "SECRET-REF"},
                       headers=facilitator).status_code == 409
    assert client.post("/api/v1/communities/demo/households", json={"ref": "X"},
                       headers=viewer).status_code == 403
    assert client.get("/api/v1/communities/demo/households",
                      headers=facilitator).status_code == 200  # a read: not audited
    assert client.post("/api/v1/communities/demo/households", json={"ref": "X"},
                       headers=bearer("wrong")).status_code == 401  # no token: not audited
    entries = client.get("/api/v1/audit?community=demo",
                         headers=bearer(world.tokens["demo-admin"])).json()
    assert [(e["token"], e["method"], e["route"], e["target"], e["status"])
            for e in entries] == [
        ("demo viewer", "POST", "/api/v1/communities/{slug}/households", "slug=demo", 403),
        ("demo facilitator", "POST", "/api/v1/communities/{slug}/households", "slug=demo", 409),
        ("demo facilitator", "POST", "/api/v1/communities/{slug}/households", "slug=demo", 201),
    ]
    assert all(e["community"] == "demo" and e["at"].startswith("2026-12-01") for e in entries)
    with session_scope(world.engine) as session:
        stored = " ".join(repr(e) for e in session.exec(select(AuditEntry)).all())
    assert "SECRET" not in stored and "Cabine Z" not in stored
    # The other community's audit log does not show them.
    assert client.get("/api/v1/audit?community=other", headers=bearer(
        world.tokens["other-admin"])).json() == []
    everything = client.get("/api/v1/audit", headers=BOOTSTRAP).json()
    assert len(everything) == 3


def test_ids_and_tokens_of_a_revoked_or_unknown_kind(world: World) -> None:
    assert world.client.delete("/api/v1/tokens/999999", headers=BOOTSTRAP).status_code == 404
    assert world.client.delete("/api/v1/tokens/abc", headers=BOOTSTRAP).status_code == 422
    assert world.client.get("/api/v1/tokens", headers=bearer("vt_guess")).status_code == 401


def test_a_route_that_forgets_to_declare_its_access_is_caught(world: World) -> None:
    """What the two tests above catch: a new admin route without a declaration."""
    app = world.client.app
    careless = admin_router("careless")

    @careless.get("/communities/{slug}/secrets")
    def secrets(slug: str) -> dict[str, str]:
        return {"slug": slug}

    app.include_router(careless)  # type: ignore[attr-defined]
    found = [path for path, _, route in admin_routes(app)  # type: ignore[arg-type]
             if declared_access(route) is None]
    assert found == ["/api/v1/communities/{slug}/secrets"]
