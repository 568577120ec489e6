"""The API's HTTP server: uvicorn with limits on how long a client may take to send a request.

uvicorn times out only idle keep-alive connections: a client that opens a connection and
sends its request head (or body) a byte at a time is never cut off, and each such client
holds a connection and its buffers for as long as it likes. This protocol adds the two read
deadlines uvicorn lacks: the whole request head within `header_timeout` of its first byte
(or of the connection opening), and the whole body within `body_timeout` of the head. Past a
deadline the client gets 408 and the connection is closed. The head's size is also bounded
while it arrives (httptools keeps every header in memory until the head is complete).

These answers, and uvicorn's own 503 past its concurrency limit, never reach the app, so on
Perspective's paths they are put in Google's envelope here (Perspective's clients parse
nothing else).
"""

import asyncio
import json
from http import HTTPStatus
from typing import Any, NamedTuple, cast

from starlette.types import Receive, Scope, Send
from uvicorn._types import ASGI3Application
from uvicorn.protocols.http.flow_control import service_unavailable
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from service.config import Settings, get_settings
from service.integrations.perspective.errors import google_error_for, is_perspective_path


def _answer(status: int, body: dict[str, Any]) -> bytes:
    content = json.dumps(body).encode()
    return (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n".encode()
        + b"content-type: application/json\r\nconnection: close\r\n"
        + b"content-length: "
        + str(len(content)).encode()
        + b"\r\n\r\n"
        + content
    )


class _Refusal(NamedTuple):
    ours: bytes
    google: bytes  # on Perspective's paths


def _refusal(status: int, code: str, message: str) -> _Refusal:
    google = google_error_for(status, code, message)
    return _Refusal(
        ours=_answer(status, {"error": {"code": code, "message": message}}),
        google=_answer(google.code, google.body()),
    )


_TIMED_OUT = _refusal(408, "request_timeout", "the request did not arrive in time")
_HEAD_TOO_LARGE = _refusal(431, "headers_too_large", "request headers are too large")


async def _google_service_unavailable(scope: Scope, receive: Receive, send: Send) -> None:
    """uvicorn's 503 past the concurrency limit (flow_control.service_unavailable), in
    Google's envelope."""
    error = google_error_for(
        503,
        "service_unavailable",
        "the server is at its connection limit; try again shortly",
        {"Retry-After": "1", "Connection": "close"},
    )
    await error.response()(scope, receive, send)


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with read deadlines for the head and the body."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = get_settings()
        self._header_timeout = settings.http_header_timeout_seconds
        self._body_timeout = settings.http_body_timeout_seconds
        # Our own limit (RequestLimits, 431) applies once the head is parsed; this one only
        # stops a head that never ends. Request line and header names count too, hence slack.
        self._max_head_bytes = settings.max_header_bytes + 8 * 1024
        self._deadline: asyncio.TimerHandle | None = None
        self._reading_head = True
        self._head_bytes = 0

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        self._refuse(_TIMED_OUT)

    def _refuse(self, refusal: _Refusal) -> None:
        if self.transport.is_closing():
            return
        if self.cycle is None or not self.cycle.response_started:
            self.transport.write(refusal.google if self._on_perspective_path() else refusal.ours)
        self.transport.close()

    def _on_perspective_path(self) -> bool:
        # The request target as far as it has arrived (uvicorn gathers it in on_url, and
        # clears it when the next request begins), in the origin form clients send a server.
        return is_perspective_path(getattr(self, "url", b"").decode("latin-1"))

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        # Every request's app passes here, uvicorn's 503 past the concurrency limit included.
        if app is service_unavailable and is_perspective_path(cycle.scope["path"]):
            # Starlette's ASGI types and uvicorn's describe the same calls.
            app = cast(ASGI3Application, _google_service_unavailable)
        super()._start_asgi_task(cycle, app)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self._header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        was_reading_head = self._reading_head
        super().data_received(data)
        # Counted only when the whole chunk belonged to a head still unfinished: a chunk that
        # also holds the end of the head and the body (the usual case) is not head bytes.
        if was_reading_head and self._reading_head:
            self._head_bytes += len(data)
            if self._head_bytes > self._max_head_bytes:
                self._refuse(_HEAD_TOO_LARGE)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading_head = True
        # The first byte of a keep-alive connection's next request starts its head's clock.
        if self._deadline is None:
            self._arm(self._header_timeout)

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._head_bytes = 0
        self._arm(self._body_timeout)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's own limits, from the settings, for `moderation serve`."""
    return {
        # As an import path: with --workers N each process is spawned and imports it itself.
        "http": f"{__name__}:{BoundedHttpToolsProtocol.__name__}",
        "timeout_keep_alive": settings.http_keep_alive_seconds,
        "limit_concurrency": settings.http_max_concurrency,
        # With --workers N, a process that is not ready within this is killed and replaced; at
        # uvicorn's 5 s a busy machine (importing the app took longer) never got one started.
        "timeout_worker_healthcheck": 60,
        # Only used by uvicorn's h11 protocol; set so the bound holds if that one is chosen.
        "h11_max_incomplete_event_size": settings.max_header_bytes + 8 * 1024,
    }
