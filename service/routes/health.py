"""Liveness and readiness for orchestrators, and the Prometheus scrape."""

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from service.db import get_engine
from service.queue import broker_reachable
from service.schemas import Health
from service.stack_status import stack_status

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, response_model_exclude_none=True)
def healthz() -> Health:
    return Health(status="ok")


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
def readyz() -> Health | JSONResponse:
    """503 when this process cannot take a comment (store or broker unreachable). With no
    worker alive it still answers 200, "degraded": comments are stored and will be decided once
    a worker is back, and taking every API replica out of a load balancer for it would turn
    a scoring outage into an intake outage. Alert on the status, or on the metrics."""
    checks: dict[str, str] = {}
    try:
        with get_engine().connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["store"] = "ok"
    except Exception as exc:  # any failure means "not ready", whatever the driver raised
        checks["store"] = f"unreachable: {type(exc).__name__}"
    checks["broker"] = "ok" if broker_reachable() else "unreachable"
    if not all(value == "ok" for value in checks.values()):
        return JSONResponse(
            status_code=503,
            content=Health(status="unavailable", checks=checks).model_dump(),
            headers={"Retry-After": "5"},
        )
    status = stack_status()
    checks["workers"] = status.workers_check
    return Health(
        status="ok" if status.workers_alive else "degraded",
        checks=checks,
        workers_alive=status.workers_alive,
        pending_comments=status.pending,
        oldest_pending_seconds=status.oldest_pending_seconds,
    )
