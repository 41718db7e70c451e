"""Logging for ``voisins serve``: uvicorn's set-up, plus our loggers, with secrets redacted.

The token of ``/media/<token>.png`` is the only key to a resident's chart, and a Telegram
bot token sits in every Bot API URL: neither may reach a log line (the access log records
every path; httpx records every URL it calls).
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Mapping
from typing import Any

from uvicorn.config import LOGGING_CONFIG

REDACTIONS = (
    (re.compile(r"(/media/)[^/\s?#\"']+(\.png)"), r"\1<redacted>\2"),
    (re.compile(r"(/bot)\d+:[A-Za-z0-9_-]+"), r"\1<redacted>"),
)


def redact(text: str) -> str:
    for pattern, replacement in REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def _redacted_arg(value: Any) -> Any:
    if isinstance(value, int | float) or value is None:
        return value  # numbers stay numbers for %d
    text = str(value)
    cleaned = redact(text)
    return value if cleaned == text else cleaned


class RedactSecrets(logging.Filter):
    """Rewrites a record's message and arguments; the access log's formatter reads the
    arguments one by one, so they keep their places."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted_arg(arg) for arg in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {key: _redacted_arg(arg) for key, arg in record.args.items()}
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging, a handler for ours (INFO and up), every handler redacting."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": "api.logs.RedactSecrets"}}
    config["formatters"]["app"] = {"()": "uvicorn.logging.DefaultFormatter",
                                   "fmt": "%(levelprefix)s %(name)s: %(message)s"}
    config["handlers"]["app"] = {"formatter": "app", "class": "logging.StreamHandler",
                                 "stream": "ext://sys.stderr"}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact"]
    config["root"] = {"handlers": ["app"], "level": "INFO"}
    # A line per HTTP call and per scheduler tick would bury what matters.
    for name in ("httpx", "httpcore", "apscheduler"):
        config["loggers"][name] = {"level": "WARNING"}
    return config
