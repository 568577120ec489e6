"""Size limits on a request, enforced before any route or JSON parser sees it."""

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.integrations.coral.schemas import PREMOD_ANSWER, is_coral_path
from service.integrations.perspective.errors import google_error_for, is_perspective_path


def _refuse(scope: Scope, status: int, code: str, message: str) -> JSONResponse:
    # Perspective's clients parse only Google's envelope: a body over the limit is, to them,
    # a comment too long (as one over Perspective's own 20 KB is).
    if is_perspective_path(scope["path"]):
        return google_error_for(status, code, message).response()
    # Coral publishes a comment its moderation phase answers with an error: one too large to
    # read is held for Coral's moderators instead (saying so needs no signature check).
    if is_coral_path(scope["path"]):
        return JSONResponse(PREMOD_ANSWER)
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


class RequestLimits:
    """431 for oversized headers, 413 for oversized bodies (declared or chunked)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_header_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        if sum(len(name) + len(value) + 4 for name, value in headers) > self.max_header_bytes:
            response = _refuse(
                scope,
                431,
                "headers_too_large",
                f"request headers are limited to {self.max_header_bytes} bytes in all",
            )
            await response(scope, receive, send)
            return
        declared = dict(headers).get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > self.max_body_bytes:
                await self._too_large(scope, receive, send)
                return
            # The server holds the client to its declared length.
            await self.app(scope, receive, send)
            return
        # No declared length (chunked): read at most the limit, then replay it to the app, so
        # an oversized body is refused as such rather than failing inside the JSON parser.
        body, complete = await self._read_body(receive)
        if not complete:
            await self._too_large(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _read_body(self, receive: Receive) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks), True
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return b"", False
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), True

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = _refuse(
            scope,
            413,
            "request_too_large",
            f"request bodies are limited to {self.max_body_bytes} bytes",
        )
        await response(scope, receive, send)
