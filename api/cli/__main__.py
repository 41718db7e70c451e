"""`python -m api.cli ...` runs the `voisins` command."""

from api.cli.main import app

app()
