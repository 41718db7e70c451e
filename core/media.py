"""Images behind unguessable, expiring URLs (``/media/{token}.png``) for WhatsApp and MMS.

WhatsApp and MMS fetch an image from a public URL; Telegram gets the bytes directly. The
token is the only key: 32 random bytes, so a URL cannot be guessed from another one.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import Column, DateTime, LargeBinary
from sqlmodel import Field, Session, SQLModel, select

from core.clock import as_utc

MEDIA_TTL = timedelta(days=7)


class MediaFile(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(unique=True, index=True)
    content_type: str = "image/png"
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime | None = Field(default=None,
                                        sa_column=Column(DateTime(timezone=True)))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False,
                                                  index=True))


def store_png(session: Session, png: bytes, now: datetime, ttl: timedelta = MEDIA_TTL) -> str:
    """Keep the image and return its token."""
    return store_file(session, png, "image/png", now, ttl)


def store_file(session: Session, data: bytes, content_type: str, now: datetime,
               ttl: timedelta = MEDIA_TTL) -> str:
    """Keep a file (an image, a calendar file) and return its token."""
    token = secrets.token_urlsafe(32)
    session.add(MediaFile(token=token, content_type=content_type, data=data, created_at=now,
                          expires_at=now + ttl))
    session.flush()
    return token


def load_file(session: Session, token: str, content_type: str, now: datetime
              ) -> bytes | None:
    """The file of that type for a live token; None for an unknown or expired one."""
    media = session.exec(select(MediaFile).where(MediaFile.token == token)).first()
    if media is None or media.content_type != content_type or as_utc(media.expires_at) <= now:
        return None
    return media.data


def load_png(session: Session, token: str, now: datetime) -> bytes | None:
    """The image for a live token; None for an unknown or expired one."""
    return load_file(session, token, "image/png", now)


def media_path(token: str, extension: str = "png") -> str:
    return f"/media/{token}.{extension}"
