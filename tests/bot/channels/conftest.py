"""Provider fakes on loopback and settings pointing at them."""

from __future__ import annotations

from core.config import Settings
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

PUBLIC_URL = "https://voisins.example.org"
SMS_FROM = "+3225550100"
WHATSAPP_FROM = "whatsapp:+3225550199"
TELEGRAM_SECRET = "s3cret-token_for-webhooks"


def settings_for(telegram: FakeTelegram | None = None, twilio: FakeTwilio | None = None,
                 **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": "sqlite://", "public_url": PUBLIC_URL,
        "telegram_webhook_secret": TELEGRAM_SECRET,
        "twilio_account_sid": ACCOUNT_SID, "twilio_auth_token": AUTH_TOKEN,
        "twilio_sms_from": SMS_FROM, "twilio_whatsapp_from": WHATSAPP_FROM,
    }
    if telegram is not None:
        values.update(telegram_token=telegram.token, telegram_api_url=telegram.api_url)
    if twilio is not None:
        values["twilio_api_url"] = twilio.api_url
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg,arg-type]
