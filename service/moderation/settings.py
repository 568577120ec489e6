"""Settings only the moderator UI and webhooks need, read from the same MODERATION_ env."""

import secrets
from functools import cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from service.config import get_settings


class ModerationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MODERATION_", extra="ignore")

    # Signs the moderator session cookie. Unset: a random one kept in the data folder, so
    # sessions survive restarts and every API process of one deployment agrees on it.
    session_secret: str | None = None
    # Send the session cookie over HTTPS only; turn off only for plain-HTTP trials.
    secure_cookies: bool = False
    session_max_age_seconds: int = 12 * 3600
    # How many held comments the queue ranks at once (ranking by uncertainty is done here).
    queue_window: int = 2000
    webhook_timeout_seconds: float = 5.0
    webhook_max_attempts: int = 8
    # Webhooks reach public addresses only; ranges listed here (CIDRs, as a JSON list, e.g.
    # '["10.20.0.0/16"]') are allowed too, for a site whose endpoint is on a private network.
    webhook_allowed_private_networks: list[str] = []


@cache
def get_moderation_settings() -> ModerationSettings:
    return ModerationSettings()


def session_secret() -> str:
    configured = get_moderation_settings().session_secret
    if configured:
        return configured
    path: Path = get_settings().data_dir / "session-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()
