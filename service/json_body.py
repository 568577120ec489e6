"""JSON request bodies parsed strictly: an object that holds a key twice is refused.

Python's parser (like most) silently keeps the last of two equal keys, so {"body": "nice",
"body": "<abuse>"} would be read as one thing by a proxy or a site's own logs that keep the
first and as another by us. Every router uses StrictJsonRoute; its request parses the body
once, as FastAPI would, with a hook that sees each object's pairs before they become a dict.
"""

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute


class DuplicateJsonKey(HTTPException):
    """Raised while FastAPI parses the body; mapped to 400 duplicate_json_key in app.py."""

    code = "duplicate_json_key"


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    built = dict(pairs)
    if len(built) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateJsonKey(400, f"the JSON body holds the key {key!r} more than once")
            seen.add(key)
    return built


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = json.loads(await self.body(), object_pairs_hook=_object)
        return self._json


class StrictJsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict
