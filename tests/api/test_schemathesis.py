"""A bounded schemathesis run over ``/openapi.json`` (CI=true only: it takes a few minutes).

In-process against the ASGI app, with the admin token, on a seeded demo database (SQLite and
PostgreSQL): requests generated from the schema, valid and invalid, for every operation. The
bar: no 5xx, and every answer matches the schema documented for its status.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance
from sqlalchemy.engine import Engine
from sqlmodel import select

from api.app import create_app
from core.alerts import AlertKind, plan_alert
from core.communities import community_by_slug
from core.config import Settings
from core.db import session_scope
from core.demo import seed_demo
from core.gestures import load_gestures
from core.models import Household
from meters.store import add_meter
from tests.conftest import IN_CI

pytestmark = pytest.mark.skipif(not IN_CI, reason="the schemathesis run is for CI=true")

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TOKEN = "schemathesis-admin-token"
# Examples per operation and generation mode (~80 operations x 2 modes x 2 databases): enough
# to find the 4xx-instead-of-500 cases, short enough to keep `make test` under 10 minutes.
EXAMPLES = int(os.environ.get("VOISINS_SCHEMATHESIS_EXAMPLES", "15"))
CHECKS: list[Callable[..., Any]] = [not_a_server_error, response_schema_conformance,
                                    content_type_conformance]


def _seed(engine: Engine) -> None:
    with session_scope(engine) as session:
        seed_demo(session, clock=lambda: NOW)
        load_gestures(session, NOW)
        community = community_by_slug(session, "demo")
        assert community is not None
        plan_alert(session, community, starts_at=datetime(2026, 12, 3, 16, tzinfo=UTC),
                   duration_minutes=120, kind=AlertKind.PLANNED, now=NOW)
        household = session.exec(select(Household).where(Household.ref == "H01")).one()
        add_meter(session, household, "sensor-h01", role="consumption", clock=lambda: NOW)


def _exercise(operation: APIOperation, mode: GenerationMode, failures: list[str],
              statuses: Counter[int]) -> None:
    """EXAMPLES requests for one operation in one mode; failures are noted, never raised."""
    # Random slugs only ever meet a 404: the demo community gets past it.
    slug = {"slug": "demo"} if "/communities/{slug}" in operation.path else None
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=slug,
                                     headers={"Authorization": f"Bearer {TOKEN}"})

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case: schemathesis.Case) -> None:
        where = f"{case.method} {case.formatted_path} ({mode.value})"
        try:
            response = case.call()
        except Exception as exc:  # the app raised: the client would have had a 500
            statuses[500] += 1
            failures.append(f"{where} -> raised {exc!r:.600}")
            return
        statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except Exception as exc:  # every failure is recorded, the run goes on
            failures.append(f"{where} -> {response.status_code}: {str(exc)[:600]}")

    run()


def test_no_server_error_and_every_answer_as_documented(engine: Engine) -> None:
    _seed(engine)
    app = create_app(engine, Settings(admin_token=TOKEN, database_url="sqlite://",
                                      admin_auth_failures=10**9,
                                      _env_file=None),  # type: ignore[call-arg]
                     clock=lambda: NOW)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    operations = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()  # the schema itself is valid
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _exercise(operation, mode, failures, statuses)
            except Unsatisfiable:
                # Nothing to make invalid (no parameters, no body): the valid run covers it.
                assert mode == GenerationMode.NEGATIVE, operation.label
    assert operations >= 20
    # The token went through: real answers, not a wall of 401s.
    assert sum(n for code, n in statuses.items() if code < 300) > operations, statuses
    assert statuses[401] == 0, statuses
    print(f"schemathesis: {sum(statuses.values())} requests, statuses {dict(statuses)}")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(sorted(set(failures))[:40])
