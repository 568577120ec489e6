"""Liveness and readiness for orchestrators."""

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from service.db import get_engine
from service.queue import broker_reachable
from service.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    return Health(status="ok")


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
def readyz() -> Health | JSONResponse:
    checks: dict[str, str] = {}
    try:
        with get_engine().connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["store"] = "ok"
    except Exception as exc:  # any failure means "not ready", whatever the driver raised
        checks["store"] = f"unreachable: {type(exc).__name__}"
    checks["broker"] = "ok" if broker_reachable() else "unreachable"
    if all(value == "ok" for value in checks.values()):
        return Health(status="ok", checks=checks)
    return JSONResponse(
        status_code=503,
        content=Health(status="unavailable", checks=checks).model_dump(),
        headers={"Retry-After": "5"},
    )
