"""Settings from the environment (prefix ``VOISINS_``), also read from ``.env``."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SUPPORTED_LOCALES: tuple[str, ...] = ("fr", "nl", "en", "ar", "es")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VOISINS_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./voisins.db"
    timezone: str = "Europe/Brussels"
    default_locale: str = "fr"
    public_url: str | None = None
    admin_token: str | None = None
    telegram_token: str | None = None
    telegram_webhook_secret: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    # Telegram's overall limit for a bot (messages/s), shared by every worker of the
    # deployment; raise it only if Telegram raised it for your bot (paid broadcasts).
    telegram_per_second: float = Field(default=30.0, gt=0)
    # The bot's @username, for t.me links in the WhatsApp share kit (without it, no link).
    telegram_bot_username: str | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_sms_from: str | None = None
    # More SMS throughput than one number gives: a pool of sender numbers (comma-separated
    # E.164), each paced at ``sms_per_second_per_sender``; and/or a Messaging Service, sent
    # as MessagingServiceSid instead of From (Twilio picks the number; the pool, when given,
    # lists the service's numbers so that we pace for as many).
    twilio_sms_pool: str | None = None
    twilio_messaging_service_sid: str | None = None
    # A long code sends about one SMS segment per second.
    sms_per_second_per_sender: float = 1.0
    twilio_whatsapp_from: str | None = None
    twilio_api_url: str = "https://api.twilio.com"
    # WhatsApp templates for messages outside the 24 h window: a JSON file path or a JSON
    # value mapping message kind → locale → ContentSid.
    whatsapp_templates: str | None = None
    quiet_hours: str = "22:00-08:00"
    # How long an unfinished conversation waits for the resident before it is closed.
    conversation_ttl_hours: int = 72
    # How often the scheduler looks for due steps (seconds).
    scheduler_tick_seconds: float = 5.0
    # The consent text residents agree to (bot/flows/enrolment.py, consent_parts); bump it
    # when the wording changes. 2026-11.3: it names the home's meter readings.
    consent_version: str = "2026-11.3"
    # The consent versions (comma-separated) whose text tells residents that their answers may
    # be exported, under a pseudonym, for research. Only residents who agreed to one of them
    # are in the row-level survey export; none of the texts so far says so, hence none.
    research_consent_versions: Annotated[frozenset[str], NoDecode] = frozenset()

    @field_validator("research_consent_versions", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(part.strip() for part in value.split(",") if part.strip())
        return value
    # The largest CSV body POST .../readings accepts (bytes); larger is a 413.
    max_import_bytes: int = 64 * 1024 * 1024
    # Wrong admin tokens one address may send within the window before it gets 429s.
    admin_auth_failures: int = 5
    admin_auth_window_seconds: float = 60.0

    def sms_senders(self) -> tuple[str, ...]:
        """The SMS sender numbers: the pool, else the one ``twilio_sms_from``."""
        pool = [n.strip() for n in (self.twilio_sms_pool or "").split(",") if n.strip()]
        if not pool and self.twilio_sms_from:
            pool = [self.twilio_sms_from]
        return tuple(dict.fromkeys(pool))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
