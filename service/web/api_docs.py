"""/docs: Swagger UI for our OpenAPI schema, served from this process (no CDN), under the same
Content-Security-Policy as every other page.

FastAPI's own /docs page loads Swagger UI from a CDN (blank offline) and starts it with an
inline script (which our CSP forbids). The assets come from the fastapi-offline package,
which ships them; the page and its start-up script are ours.
"""

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.staticfiles import StaticFiles

from service.web.templating import render

SWAGGER_UI_ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_PATH = "/docs/assets"

router = APIRouter(include_in_schema=False)


def assets() -> StaticFiles:
    return StaticFiles(directory=SWAGGER_UI_ASSETS)


@router.get("/docs")
def api_docs(request: Request) -> Response:
    return render(request, "docs.html", {"assets": ASSETS_PATH})
