"""The pseudonymous commitments table (``GET /api/v1/communities/{slug}/commitments.csv``).

One row per commitment, for a workshop or an evaluation to count in a spreadsheet: which
gesture (and its version), when it was chosen and dropped (the day only), how its check-ins
were answered. Who made it is a pseudonym per household, drawn afresh for each export: rows
of one household share it within a file, but two files cannot be joined, nor a file joined
with the questionnaire exports. Only gestures chosen by at least ``k`` households (the
community's ``privacy_k``) have rows: a gesture one family chose says who it was.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import secrets
from collections import Counter, defaultdict
from datetime import datetime

from sqlmodel import Session, col, select

from core.clock import as_utc
from core.gestures import (
    CheckIn,
    CheckInAnswer,
    Commitment,
    HouseholdKey,
    commitment_stats,
    household_key,
)
from core.models import Contact

COLUMNS = ["household", "gesture", "version", "cadence", "chosen_on", "dropped_on",
           *(f"check_ins_{answer.value}" for answer in CheckInAnswer)]


def household_pseudonym(salt: str, household: HouseholdKey) -> str:
    digest = hmac.new(salt.encode(), f"{household[0]}:{household[1]}".encode(),
                      hashlib.sha256).hexdigest()
    return f"h-{digest[:12]}"


def _day(moment: datetime | None, now: datetime) -> str:
    # A commitment dropped "later than now" (a clock set back in a test) is still active.
    if moment is None or as_utc(moment) > as_utc(now):
        return ""
    return as_utc(moment).date().isoformat()


def commitments_csv(session: Session, community_id: int, now: datetime, k: int | None = None,
                    salt: str | None = None) -> str:
    """The table; only the header when no gesture has been chosen by ``k`` households."""
    shown = {slug for slug, stats in commitment_stats(session, community_id, now, k).items()
             if stats is not None}
    salt = salt or secrets.token_hex(16)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    if not shown:
        return buffer.getvalue()
    rows = session.exec(select(Commitment, Contact)
                        .join(Contact, col(Contact.id) == col(Commitment.contact_id))
                        .where(Contact.community_id == community_id,
                               col(Commitment.gesture_slug).in_(sorted(shown)))).all()
    answers: dict[int, Counter[str]] = defaultdict(Counter)
    ids = [commitment.id for commitment, _ in rows if commitment.id is not None]
    if ids:
        for commitment_id, answer in session.exec(
                select(CheckIn.commitment_id, CheckIn.answer)
                .where(col(CheckIn.commitment_id).in_(ids), col(CheckIn.answer).is_not(None))):
            answers[commitment_id][str(answer)] += 1
    lines: list[list[str | int]] = []
    for commitment, contact in rows:
        assert commitment.id is not None
        counts = answers[commitment.id]
        lines.append([household_pseudonym(salt, household_key(contact)),
                      commitment.gesture_slug, commitment.gesture_version, commitment.cadence,
                      _day(commitment.chosen_at, now), _day(commitment.dropped_at, now),
                      *(counts[answer.value] for answer in CheckInAnswer)])
    # Sorted by gesture then pseudonym: the order says nothing about who chose first.
    lines.sort(key=lambda line: (str(line[1]), str(line[0]), str(line[4])))
    writer.writerows(lines)
    return buffer.getvalue()
