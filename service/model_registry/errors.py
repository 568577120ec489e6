"""The registry's errors: ModerationErrors, so app.py maps them to HTTP like any other."""

from service.errors import ModerationError


class UnknownModelVersion(ModerationError):
    status_code = 404
    code = "unknown_model_version"

    def __init__(self, version: str) -> None:
        super().__init__(
            f"no model version {version!r} in the store (`moderation model list` shows them)"
        )


class ModelChangeRefused(ModerationError):
    status_code = 409
    code = "model_change_refused"


class ModelFileMismatch(ModerationError):
    """The stored bytes are not the file that was registered (or not the version it says)."""

    status_code = 500
    code = "model_file_mismatch"
