"""Settings only the moderator UI and webhooks need, read from the same MODERATION_ env."""

import logging
import secrets
from functools import cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from service.config import get_settings

log = logging.getLogger(__name__)


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
    created = not path.exists()
    if created:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    _announce_generated_secret(path, created=created)
    return path.read_text().strip()


# Secret files already named in this process's log: session_secret() runs on every CSRF check.
_announced: set[Path] = set()


def _announce_generated_secret(path: Path, *, created: bool) -> None:
    """Say once per process where the secret came from. Right for the trial (one process, one
    data folder); but API replicas started without MODERATION_SESSION_SECRET and with data
    folders of their own each sign with their own secret, and refuse each other's sessions
    (a moderator signed out on every other request), which the log should explain."""
    if path in _announced:
        return
    _announced.add(path)
    # A warning so it shows under uvicorn's default logging, which prints nothing lower from
    # the service's own loggers.
    log.warning(
        "MODERATION_SESSION_SECRET is not set: moderator sessions are signed with the secret "
        "%s %s. Fine for one API process; API processes with another data folder refuse these "
        "sessions, so give every replica the same MODERATION_SESSION_SECRET.",
        "just created in" if created else "kept in",
        path,
    )
