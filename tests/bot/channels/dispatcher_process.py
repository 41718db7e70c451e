"""A dispatcher in its own process, for the crash test: ``python -m ... DB_URL API_URL TOKEN``."""

from __future__ import annotations

import sys
import threading
from datetime import timedelta

from bot.channels.telegram import TelegramSender
from bot.outbound.dispatch import dispatch_forever
from core.db import make_engine


def main(database_url: str, api_url: str, token: str, batch: int) -> None:
    engine = make_engine(database_url)
    sender = TelegramSender(token, api_url, engine=engine)
    # A short lease: a restarted dispatcher takes back what the killed one had claimed
    # two seconds after its last renewal.
    dispatch_forever(engine, {"telegram": sender}, threading.Event(), batch=batch,
                     idle_wait=0.05, lease=timedelta(seconds=2))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
