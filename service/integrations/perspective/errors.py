"""Errors in Google's envelope, which Perspective clients parse:
{"error": {"code", "message", "status", "details": [...]}}, details never empty (some
clients read details[0] unconditionally)."""

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

ANALYZER_ERROR = "type.googleapis.com/google.commentanalyzer.v1alpha1.Error"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
SERVICE = "commentanalyzer.googleapis.com"


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


async def google_error_response(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GoogleError)
    return JSONResponse(status_code=exc.code, content=exc.body(), headers=exc.headers)
