"""The `voisins` command as installed: the bot's commands plus `serve` (which needs `api`)."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli import app

__all__ = ["app"]


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
) -> None:
    """API + webhooks + outbox dispatcher + scheduler. Channels without credentials are off;
    Telegram uses a webhook when VOISINS_PUBLIC_URL is set, long polling otherwise."""
    from api.serve import serve as run

    run(host=host, port=port)


if __name__ == "__main__":
    app()
