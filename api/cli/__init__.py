"""The `voisins` command line: one typer app over the same core as the HTTP API."""

from api.cli.main import app

__all__ = ["app"]
