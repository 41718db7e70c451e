"""A workshop invitation to 10,000 residents: from "send" to the last row queued, then to
the last message sent (Telegram Bot API fake on loopback, in its own process; SQLite).

"Queued" is ``scheduler.workshops.send_invitations`` as ``POST /api/v1/workshops/{id}/send``
runs it: the audience resolved, the invitation worded once per language, one outbox row and
one open conversation per person, in one transaction. "Sent" drains those rows with the
dispatcher and no provider limit (the bot's own throughput); under Telegram's 30 messages/s
the same rows take N/30 s (see fanout.py's limited run for how close the dispatcher keeps
to that).

    PYTHONPATH=. .venv/bin/python benchmarks/workshop_fanout.py [--recipients 10000]
        [--workers 8]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.channels.telegram import TelegramSender
from bot.outbound.dispatch import dispatch_due
from bot.rendering.workshops import WorkshopMessages
from core.communities import create_community
from core.config import SUPPORTED_LOCALES
from core.db import make_engine, migrate, session_scope
from core.models import ChannelIdentity, Contact
from core.workshop_tables import Workshop
from core.workshops import create_workshop
from scheduler.workshops import send_invitations

# The provider fake of fanout.py, run the same way (in its own process).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from fanout import fake_provider

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def seeded(folder: str, recipients: int) -> tuple[Engine, int]:
    engine = make_engine(f"sqlite:///{folder}/workshop.db")
    migrate(engine)
    with session_scope(engine) as session:
        community = create_community(session, "bench", "Bench", join_code="BENCH",
                                     quiet_hours="00:00-00:00")
        assert community.id is not None
        session.execute(insert(Contact), [
            {"community_id": community.id, "locale": SUPPORTED_LOCALES[n % 5],
             "role": "resident", "consented_at": T0, "consent_version": "v1", "created_at": T0}
            for n in range(recipients)])
        contact_ids = session.exec(select(Contact.id)).all()
        session.execute(insert(ChannelIdentity), [
            {"channel": "telegram", "address": str(100000 + n), "contact_id": contact_id,
             "reachable": True, "created_at": T0, "last_inbound_at": T0}
            for n, contact_id in enumerate(contact_ids)])
        workshop = create_workshop(
            session, community, title={"fr": "Atelier vélo", "nl": "Fietsatelier"},
            description={"fr": "On répare ensemble."}, place="Salle des fêtes",
            starts_at=T0 + timedelta(days=3), ends_at=T0 + timedelta(days=3, hours=2), now=T0,
            capacity=40)
        assert workshop.id is not None
        return engine, workshop.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    with fake_provider(False) as provider, tempfile.TemporaryDirectory() as folder:
        engine, workshop_id = seeded(folder, args.recipients)
        start = time.perf_counter()
        with session_scope(engine) as session:
            workshop = session.get(Workshop, workshop_id)
            assert workshop is not None
            queued = send_invitations(session, workshop, WorkshopMessages(), T0)
        queued_after = time.perf_counter() - start
        assert queued == args.recipients
        sender = TelegramSender(provider.token, provider.api_url, engine=engine)
        while dispatch_due(engine, {"telegram": sender}, clock=lambda: T0, limit=100,
                           workers=args.workers).total:
            pass
        sent_after = time.perf_counter() - start
        sender.close()
        assert provider.sent() == args.recipients
    print(f"send -> last row queued: {args.recipients} invitations in {queued_after:.2f} s "
          f"({args.recipients / queued_after:,.0f} rows/s)")
    print(f"send -> last message sent (no provider limit, {args.workers} workers): "
          f"{sent_after:.2f} s ({args.recipients / (sent_after - queued_after):,.0f} "
          f"messages/s after queueing)")
    print(f"under Telegram's 30 messages/s: about {args.recipients / 30 / 60:.1f} min")


if __name__ == "__main__":
    main()
