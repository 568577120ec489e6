"""Domain errors with a machine-readable code, mapped to HTTP once in app.py."""


class ModerationError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidComment(ModerationError):
    status_code = 422

    def __init__(self, code: str, message: str, *, field: str) -> None:
        super().__init__(message, field=field)
        self.code = code


class MissingCredentials(ModerationError):
    status_code = 401
    code = "missing_credentials"


class InvalidCredentials(ModerationError):
    status_code = 401
    code = "invalid_credentials"


class CommentNotFound(ModerationError):
    status_code = 404
    code = "comment_not_found"


class SiteNotFound(ModerationError):
    status_code = 404
    code = "site_not_found"


class IdempotencyConflict(ModerationError):
    status_code = 409
    code = "idempotency_key_reused"


class RequestTooLarge(ModerationError):
    status_code = 413
    code = "request_too_large"


class StoreUnavailable(ModerationError):
    status_code = 503
    code = "store_unavailable"
