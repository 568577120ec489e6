"""Settings only the moderator UI and webhooks need, read from the same MODERATION_ env."""

import logging
import os
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
    created = not path.exists() and _create_secret_file(path)
    secret = path.read_text().strip()
    if not secret:
        raise RuntimeError(
            f"{path} is empty: delete it (a new secret is made) or set MODERATION_SESSION_SECRET"
        )
    _announce_generated_secret(path, created=created)
    return secret


def _create_secret_file(path: Path) -> bool:
    """Write a new secret to ``path`` unless another process got there first; True if this one
    did. `moderation serve --workers N` starts N processes that all ask at the same moment: the
    secret is written whole to a file of this process's own and then linked into place, which
    fails for all but one, so no process ever reads a half-written (empty) file or keeps a
    secret the others do not have."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
        os.link(draft, path)
        return True
    except FileExistsError:
        return False
    finally:
        draft.unlink(missing_ok=True)


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
