"""The demo site of the one-command trial; its key is kept in the data folder so it stays
the same across restarts of a trial (a real site's key is shown once and never stored)."""

from pathlib import Path

from service.config import get_settings
from service.db import session_scope
from service.policy import default_policy
from service.sites import create_site, get_site_by_name, hash_key, new_site_key

DEMO_SITE = "demo"


def _key_file() -> Path:
    return get_settings().data_dir / "demo-site-key"


def ensure_demo_site() -> tuple[str, str]:
    settings = get_settings()
    key_file = _key_file()
    with session_scope() as session:
        site = get_site_by_name(session=session, name=DEMO_SITE)
        saved = key_file.read_text().strip() if key_file.exists() else None
        if site is not None and saved and site.key_hash == hash_key(saved):
            return DEMO_SITE, saved
        key = new_site_key()
        if site is None:
            create_site(
                session=session,
                name=DEMO_SITE,
                policy=default_policy(settings.default_approve_below, settings.default_reject_at),
                allowed_origins=[f"http://{settings.host}:{settings.port}"],
                key=key,
            )
        else:
            site.key_hash = hash_key(key)
            site.key_prefix = key[:10]
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.touch(mode=0o600)
    key_file.write_text(key + "\n")
    return DEMO_SITE, key
