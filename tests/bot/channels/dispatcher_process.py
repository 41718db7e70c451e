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
    # A restarted dispatcher takes back at once whatever the killed one had claimed.
    dispatch_forever(engine, {"telegram": sender}, threading.Event(), batch=batch,
                     idle_wait=0.05, stale_after=timedelta(0))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
