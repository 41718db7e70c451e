"""What each ``--role`` runs, and the jobs workers must not run twice at once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli_app
from api.roles import ServeRole
from api.serve import RoleNeedsPostgres, one_at_a_time, serve
from core.config import Settings, get_settings


def _settings() -> Settings:
    return Settings(_env_file=None, database_url="sqlite://", admin_token="s3cret")  # type: ignore[call-arg]


def test_a_workers_port_answers_its_health_check_only(sqlite_engine: Engine) -> None:
    worker = create_app(sqlite_engine, _settings(), role=ServeRole.WORKER)
    with TestClient(worker) as client:
        assert client.get("/healthz").status_code == 200
        for path in ("/api/v1/alerts/1", "/media/x.png", "/openapi.json", "/docs"):
            assert client.get(path).status_code == 404, path
        assert client.post("/webhooks/twilio").status_code == 404
    web = create_app(sqlite_engine, _settings(), role=ServeRole.WEB)
    with TestClient(web) as client:
        assert client.get("/openapi.json").status_code == 200
        assert client.get("/api/v1/alerts/1",
                          headers={"Authorization": "Bearer s3cret"}).status_code == 404
        assert client.get("/healthz").json()["dispatcher"]["running"] is False


def test_roles_other_than_all_need_postgresql(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RoleNeedsPostgres, match="needs PostgreSQL"):
        serve(settings=Settings(_env_file=None,  # type: ignore[call-arg]
                                database_url=f"sqlite:///{tmp_path}/x.db"),
              role=ServeRole.WORKER)
    monkeypatch.setenv("VOISINS_DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["serve", "--role", "web"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and "--role web needs PostgreSQL" in result.output
    assert CliRunner().invoke(cli_app, ["serve", "--role", "cook"]).exit_code == 2


def test_a_guarded_job_runs_in_one_worker_at_a_time(pg_engine: Engine) -> None:
    running = threading.Event()
    release = threading.Event()
    runs: list[str] = []

    def slow_job() -> None:
        runs.append("run")
        running.set()
        release.wait(10)

    first_worker = one_at_a_time(pg_engine, "results", slow_job)
    second_worker = one_at_a_time(pg_engine, "results", slow_job)
    thread = threading.Thread(target=first_worker)
    thread.start()
    assert running.wait(10)
    second_worker()  # the same tick in another worker: skipped, not waited for
    assert runs == ["run"]
    release.set()
    thread.join()
    second_worker()  # the next tick: free again
    assert runs == ["run", "run"]
