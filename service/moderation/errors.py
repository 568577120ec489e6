"""The moderation domain's errors; app.py maps every ModerationError to HTTP once."""

from service.errors import ModerationError


class Forbidden(ModerationError):
    status_code = 403
    code = "forbidden"


class SiteKeyNotAllowed(ModerationError):
    """A site key is a machine credential for submitting; it never acts as a moderator."""

    status_code = 403
    code = "site_key_not_allowed"


class CsrfFailed(ModerationError):
    status_code = 403
    code = "csrf_failed"


class OriginNotAllowed(ModerationError):
    status_code = 403
    code = "origin_not_allowed"


class InvalidTransition(ModerationError):
    status_code = 409
    code = "invalid_transition"


class ModeratorExists(ModerationError):
    status_code = 409
    code = "moderator_exists"


class ModeratorNotFound(ModerationError):
    status_code = 404
    code = "moderator_not_found"


class InvalidPolicy(ModerationError):
    status_code = 422
    code = "invalid_policy"


class ReasonRequired(ModerationError):
    status_code = 422
    code = "reason_required"


class TuningRefused(ModerationError):
    """Thresholds cannot be tuned from this site's decisions (too few, or a bad target)."""

    status_code = 422
    code = "tuning_refused"
