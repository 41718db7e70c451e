"""The example deployment in ``deploy/`` holds together: the systemd units run ``voisins serve``
with a role the command accepts, read a settings file that names a PostgreSQL database, and
the reverse proxy sends the public paths to the web role's port."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

from api.cli import app
from api.roles import ServeRole
from core.config import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PUBLIC_PATHS = {"/webhooks/*", "/media/*", "/api/*", "/healthz"}


def _unit(name: str) -> configparser.ConfigParser:
    # systemd's syntax is INI enough: no interpolation ("%i" is systemd's), keys keep case.
    unit = configparser.ConfigParser(interpolation=None, strict=True)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string((DEPLOY / name).read_text())
    return unit


def _serve_options(exec_start: str, instance: str = "1") -> dict[str, object]:
    """The options ``voisins serve`` would run with, parsed by the command itself."""
    program, *arguments = shlex.split(exec_start.replace("%i", instance))
    assert Path(program).name == "voisins"
    name, *options = arguments
    group: Any = typer.main.get_command(app)  # typer's own click
    context = group.make_context("voisins", [name])
    command = group.get_command(context, name)
    assert name == "serve" and command is not None
    # Parsing checks every option and value, as running the command would.
    return dict(command.make_context(name, options, parent=context).params)


@pytest.mark.parametrize(("name", "role"), [("voisins-web.service", ServeRole.WEB),
                                            ("voisins-worker@.service", ServeRole.WORKER)])
def test_each_unit_runs_voisins_serve_with_its_role(name: str, role: ServeRole) -> None:
    unit = _unit(name)
    assert set(unit.sections()) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    options = _serve_options(service["ExecStart"])
    assert options["role"] is role
    assert options["host"] == "127.0.0.1"  # only the proxy, on this host, reaches it
    assert service["Restart"] == "on-failure"
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    assert "postgresql.service" in unit["Unit"]["After"]


def test_workers_of_one_host_listen_on_ports_of_their_own() -> None:
    exec_start = _unit("voisins-worker@.service")["Service"]["ExecStart"]
    web_port = _serve_options(_unit("voisins-web.service")["Service"]["ExecStart"])["port"]
    ports = {_serve_options(exec_start, str(n))["port"] for n in range(1, 10)}
    assert len(ports) == 9 and web_port not in ports


def test_the_units_read_a_settings_file_naming_a_postgresql_database() -> None:
    for name in ("voisins-web.service", "voisins-worker@.service"):
        assert _unit(name)["Service"]["EnvironmentFile"] == "/etc/voisins/voisins.env"
    example = (DEPLOY / "voisins.env.example").read_text()
    names = {line.split("=", 1)[0] for line in example.splitlines()
             if line and not line.startswith("#")}
    assert "VOISINS_DATABASE_URL" in names
    settings = Settings(_env_file=DEPLOY / "voisins.env.example")  # type: ignore[call-arg]
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.public_url is not None and settings.public_url.startswith("https://")


def test_the_proxy_sends_the_public_paths_to_the_web_role() -> None:
    caddyfile = (DEPLOY / "Caddyfile").read_text()
    matcher = re.search(r"@voisins path (.+)", caddyfile)
    upstream = re.search(r"reverse_proxy @voisins 127\.0\.0\.1:(\d+)", caddyfile)
    assert matcher is not None and upstream is not None
    assert set(matcher.group(1).split()) == PUBLIC_PATHS
    web = _serve_options(_unit("voisins-web.service")["Service"]["ExecStart"])
    assert int(upstream.group(1)) == web["port"]
    assert "respond 404" in caddyfile  # nothing else is served


def test_the_readme_describes_this_deployment() -> None:
    readme = (DEPLOY.parent / "README.md").read_text()
    section = readme.split("## Deploying", 1)[1].split("\n## ", 1)[0]
    for named in ("voisins-web.service", "voisins-worker@.service", "Caddyfile",
                  "--role worker", "VOISINS_DATABASE_URL", "PostgreSQL"):
        assert named in section, named
