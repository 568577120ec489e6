"""A user's mistake at the command line is one line saying what to do, not a traceback.

The mistakes met in practice: a store that is missing, unreachable or not migrated; a file
that is not there; a data file the classifier cannot learn from (a wrong column, labels with
only one class). Each arrives as an exception whose message already says what is wrong; this
adds what to do. `MODERATION_DEBUG=1` shows the traceback for a report.
"""

import os

from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError

from service.config import get_settings

USER_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    ProgrammingError,
    FileNotFoundError,
    IsADirectoryError,
    PermissionError,
    UnicodeDecodeError,
    ValueError,
)


def debugging() -> bool:
    return os.environ.get("MODERATION_DEBUG", "") not in ("", "0")


def _store() -> str:
    return make_url(get_settings().database_url).render_as_string(hide_password=True)


def explain(exc: BaseException) -> str:
    """One line for the terminal."""
    if isinstance(exc, OperationalError | InterfaceError | ProgrammingError):
        detail = str(exc.orig or exc).strip().splitlines()[0]
        if "no such table" in detail or ("relation" in detail and "does not exist" in detail):
            return f"the store at {_store()} has no schema yet: run `moderation migrate` first"
        if "unable to open database file" in detail:
            return (
                f"cannot open the store at {_store()}: does its folder exist? "
                "`moderation migrate` creates it (or set MODERATION_DATA_DIR / DATABASE_URL)"
            )
        return f"cannot use the store at {_store()} ({detail}): check DATABASE_URL and the server"
    if isinstance(exc, FileNotFoundError | IsADirectoryError | PermissionError):
        where = f": {exc.filename}" if exc.filename else ""
        reason = exc.strerror or str(exc)
        return f"{reason}{where}"
    if isinstance(exc, UnicodeDecodeError):
        return f"a file is not UTF-8 text ({exc.reason}); save it as UTF-8 and try again"
    return str(exc)
