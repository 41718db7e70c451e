"""Field types the admin API's answers share."""

from __future__ import annotations

from typing import Annotated

from pydantic import WithJsonSchema

# A moment as ISO-8601 text with its offset ("2026-12-03T16:00:00+00:00"), as the core
# services already format it.
IsoDateTime = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
OptionalIsoDateTime = Annotated[str | None, WithJsonSchema(
    {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]})]
