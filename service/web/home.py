"""`/`: a small page that says what this service is and links the places a newcomer wants."""

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse

from service.web.templating import STATIC_DIR, render

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request) -> Response:
    return render(request, "home.html", {})


@router.get("/favicon.ico")
def favicon() -> Response:
    # Browsers ask for /favicon.ico before reading a page's <link rel="icon">.
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")
