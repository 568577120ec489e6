"""The ceiling for the HTTP layer: the same JSON in, 202 out, nothing else.

Served by uvicorn with the API's own options (uvloop, httptools, no access log, same worker
count), so the gap between this and ``POST /v1/comments`` is what the service's own work costs:
validation, the site lookup, the insert and commit, the nudge.
"""

import uuid

from fastapi import FastAPI, Header, status

# The service's own request and response models: the same JSON in, the same shape out.
from service.schemas import CommentAccepted as Accepted
from service.schemas import CommentSubmission as Submission


def create_app() -> FastAPI:
    app = FastAPI(title="bare ceiling")

    @app.post("/v1/comments", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted)
    async def accept(submission: Submission, authorization: str = Header()) -> Accepted:
        return Accepted(id=str(uuid.uuid4()), status="pending")

    # The same, as a plain `def` run in the threadpool like the service's handler: the gap
    # between the two is the cost of the threadpool hop alone.
    @app.post("/v1/comments-sync", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted)
    def accept_sync(submission: Submission, authorization: str = Header()) -> Accepted:
        return Accepted(id=str(uuid.uuid4()), status="pending")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
