"""Coral's signing secrets per site: make, rotate with an overlap, verify X-Coral-Signature.

Coral signs the raw body: `X-Coral-Signature: sha256=<hex>[,sha256=<hex>...]`, one HMAC-SHA256
per secret it holds (several while a rotation overlaps). Any one valid signature is enough.
"""

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, event, or_, select, update
from sqlalchemy.orm import Session

from service.db import utcnow
from service.tables import CoralSigningSecret, Site, SiteChange

SIGNATURE_HEADER = "X-Coral-Signature"
SECRET_PREFIX = "ssec_"
# More than Coral has ever sent (one per live secret); bounds the work a header can ask for.
MAX_SIGNATURES = 8
MAX_SECRET_CHARS = 200


def new_coral_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def rotate_coral_secret(
    *,
    session: Session,
    site: Site,
    actor: str,
    keep_previous: timedelta = timedelta(0),
    secret: str | None = None,
) -> str:
    """A new signing secret for the site, returned once. The ones valid until now stay valid
    for keep_previous (0: they stop at once), so Coral can be switched over meanwhile.
    `secret` imports one that Coral generated instead of making a new one."""
    secret = (secret or new_coral_secret()).strip()
    if not 16 <= len(secret) <= MAX_SECRET_CHARS or not secret.isprintable():
        raise ValueError(f"a signing secret is 16 to {MAX_SECRET_CHARS} printable characters")
    now = utcnow()
    until = now + keep_previous
    # Secrets already ending sooner keep their end; none is lengthened by a rotation.
    session.execute(
        update(CoralSigningSecret)
        .where(
            CoralSigningSecret.site_id == site.id,
            or_(CoralSigningSecret.expires_at.is_(None), CoralSigningSecret.expires_at > until),
        )
        .values(expires_at=until)
    )
    session.execute(
        delete(CoralSigningSecret).where(
            CoralSigningSecret.site_id == site.id, CoralSigningSecret.expires_at <= now
        )
    )
    prefix = secret[:10]
    session.add(CoralSigningSecret(site_id=site.id, secret=secret, prefix=prefix, created_at=now))
    session.add(
        SiteChange(
            site_id=site.id,
            actor=actor,
            action="coral_secret",
            changes={
                "prefix": prefix,
                "previous_valid_seconds": int(keep_previous.total_seconds()),
            },
        )
    )
    session.flush()
    event.listen(session, "after_commit", lambda _: _forget_cached_coral_sites(), once=True)
    return secret


def _forget_cached_coral_sites() -> None:
    # The API process's cache of sites and secrets (coral/routes.py) sees the new secret now.
    from service.integrations.coral.routes import forget_coral_sites

    forget_coral_sites()


def live_secrets(
    *, session: Session, site_id: str, now: datetime | None = None
) -> list[tuple[str, datetime | None]]:
    """The site's valid secrets and when each ends (None: at the next rotation)."""
    now = now or utcnow()
    rows = session.execute(
        select(CoralSigningSecret.secret, CoralSigningSecret.expires_at).where(
            CoralSigningSecret.site_id == site_id,
            or_(CoralSigningSecret.expires_at.is_(None), CoralSigningSecret.expires_at > now),
        )
    )
    return [(row.secret, row.expires_at) for row in rows]


def sign(body: bytes, secrets_: Sequence[str]) -> str:
    """The header Coral would send for body with these secrets (tests and the benchmark)."""
    return ",".join(
        "sha256=" + hmac.new(s.encode(), body, hashlib.sha256).hexdigest() for s in secrets_
    )


def signature_matches(body: bytes, header: str | None, secrets_: Sequence[str]) -> bool:
    """True if any sha256= value in the header is the HMAC of body with any live secret.
    Every pair is compared in constant time; a header of more than MAX_SIGNATURES values
    is refused whole."""
    if not header or not secrets_:
        return False
    values = [part.strip() for part in header.split(",")]
    if len(values) > MAX_SIGNATURES:
        return False
    presented = [v[len("sha256=") :].lower().encode() for v in values if v.startswith("sha256=")]
    expected = [hmac.new(s.encode(), body, hashlib.sha256).hexdigest().encode() for s in secrets_]
    matched = False
    for candidate in presented:
        for digest in expected:
            matched |= hmac.compare_digest(candidate, digest)
    return matched
