"""Errors in Google's envelope, which Perspective clients parse:
{"error": {"code", "message", "status", "details": [...]}}, details never empty (some
clients read details[0] unconditionally)."""

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

ANALYZER_ERROR = "type.googleapis.com/google.commentanalyzer.v1alpha1.Error"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
SERVICE = "commentanalyzer.googleapis.com"
# Perspective's paths: every error answered under them is in Google's envelope, whichever
# part of the service answers it (request limits, validation, the store, a bug).
PATH_PREFIX = "/v1alpha1/"


class GoogleError(Exception):
    def __init__(
        self,
        code: int,
        status: str,
        message: str,
        details: list[dict[str, Any]],
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.details = details
        self.headers = headers

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "status": self.status,
                "details": self.details,
            }
        }

    def response(self) -> JSONResponse:
        return JSONResponse(status_code=self.code, content=self.body(), headers=self.headers)


def is_perspective_path(path: str) -> bool:
    return path.startswith(PATH_PREFIX)


def analyzer_error(error_type: str, message: str) -> GoogleError:
    """A request Perspective would refuse: errorType is one of COMMENT_EMPTY,
    COMMENT_TOO_LONG, NO_REQUESTED_ATTRIBUTES, LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE,
    INVALID_REQUEST."""
    return GoogleError(
        400,
        "INVALID_ARGUMENT",
        message,
        [{"@type": ANALYZER_ERROR, "errorType": error_type}],
    )


def _error_info(reason: str) -> dict[str, Any]:
    return {
        "@type": ERROR_INFO,
        "reason": reason,
        "domain": "googleapis.com",
        "metadata": {"service": SERVICE},
    }


def api_key_invalid() -> GoogleError:
    return GoogleError(
        400,
        "INVALID_ARGUMENT",
        "API key not valid. Please pass a valid API key.",
        [_error_info("API_KEY_INVALID")],
    )


def api_key_missing() -> GoogleError:
    return GoogleError(
        403,
        "PERMISSION_DENIED",
        "The request is missing a valid API key.",
        [_error_info("CREDENTIALS_MISSING")],
    )


def rate_limited(retry_after: int) -> GoogleError:
    return GoogleError(
        429,
        "RESOURCE_EXHAUSTED",
        "Quota exceeded for this site's analyze requests; retry after "
        f"{retry_after} second{'s' if retry_after != 1 else ''}.",
        [_error_info("RATE_LIMIT_EXCEEDED")],
        headers={"Retry-After": str(retry_after)},
    )


def unavailable(message: str) -> GoogleError:
    return GoogleError(
        503,
        "UNAVAILABLE",
        message,
        [{"@type": ANALYZER_ERROR, "errorType": "INTERNAL"}],
        headers={"Retry-After": "5"},
    )


def internal_error() -> GoogleError:
    return GoogleError(500, "INTERNAL", "Internal error encountered.", [_error_info("INTERNAL")])


# google.rpc.Code names by the HTTP status Google answers them with, for the statuses the
# service's own errors can have; the request's faults that Google has no status for (413,
# 415, 422, 431) are INVALID_ARGUMENT, as Perspective answered every bad request.
_RPC_STATUS = {
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def google_error_for(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> GoogleError:
    """One of the service's own errors (HTTP status, our error code, message) as Google
    would answer it. A body over the request limit is a comment too long to score."""
    if status == 413:
        error = analyzer_error("COMMENT_TOO_LONG", message)
    elif 400 <= status < 500 and status not in _RPC_STATUS:
        error = analyzer_error("INVALID_REQUEST", message)
    else:
        rpc_status = _RPC_STATUS.get(status, "INTERNAL")
        error = GoogleError(status, rpc_status, message, [_error_info(code.upper())])
    error.headers = dict(headers) if headers else None
    return error


def google_validation_error(errors: Sequence[Any]) -> GoogleError:
    """FastAPI's validation of a query or header value: a key that cannot be any site's is
    an invalid key, as for Google; any other value an invalid request."""
    where = [tuple(error.get("loc", ())) for error in errors]
    if ("query", "key") in where:
        return api_key_invalid()
    first = errors[0] if errors else {}
    name = ".".join(str(part) for part in first.get("loc", ())[1:]) or "(request)"
    return analyzer_error(
        "INVALID_REQUEST", f"Invalid value at '{name}': {first.get('msg', 'invalid')}"
    )


async def google_error_response(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GoogleError)
    return exc.response()
