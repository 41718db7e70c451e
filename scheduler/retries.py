"""A scheduled job that raises is tried again later, then given up on with its reason.

It never holds up the others: the failing row gets a ``retry_at`` and the tick moves on to
the next due row, whatever its community.
"""

from __future__ import annotations

from datetime import timedelta

# Tries before a step is marked failed: 30 s, 1 min, 2 min, 4 min apart.
MAX_ATTEMPTS = 5
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(minutes=30)


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), MAX_RETRY)


def reason_of(exc: BaseException) -> str:
    text = str(exc)
    return (f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__)[:500]
