"""Settings from the environment (prefix ``VOISINS_``), also read from ``.env``."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict

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
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_sms_from: str | None = None
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
    # when the wording changes.
    consent_version: str = "2026-11.2"
    # The largest CSV body POST .../readings accepts (bytes); larger is a 413.
    max_import_bytes: int = 64 * 1024 * 1024
    # Wrong admin tokens one address may send within the window before it gets 429s.
    admin_auth_failures: int = 5
    admin_auth_window_seconds: float = 60.0


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
