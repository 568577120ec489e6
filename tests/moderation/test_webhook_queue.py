"""A site whose webhook endpoint hangs does not hold up scoring: deliveries have their own
queue and worker (real worker processes, PostgreSQL and Redis)."""

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy.orm import Session, sessionmaker

from service.moderation.site_admin import set_webhook
from tests.conftest import Process, make_site
from tests.workers.test_word_list_cost import _seconds_to_decide, _submit


class HangingEndpoint:
    """Takes the request and answers only after `hang` seconds (past the delivery timeout)."""

    def __init__(self, hang: float) -> None:
        self.requests = 0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                endpoint.requests += 1
                time.sleep(hang)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def short_webhook_timeout(pg_env: dict[str, str]) -> dict[str, str]:
    pg_env["MODERATION_WEBHOOK_TIMEOUT_SECONDS"] = "4"
    return pg_env


@pytest.fixture
def hanging() -> Iterator[HangingEndpoint]:
    endpoint = HangingEndpoint(hang=8)
    yield endpoint
    endpoint.server.shutdown()


def test_a_hanging_webhook_does_not_delay_scoring(
    short_webhook_timeout: dict[str, str],
    hanging: HangingEndpoint,
    worker_process: Process,
    webhook_worker_process: Process,
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        hooked, _ = make_site(session)
        set_webhook(session=session, site=hooked, actor="admin:test", url=hanging.url)
        session.commit()
        other, _ = make_site(session)
        session.expunge_all()
    plain = "Thanks for the careful reporting on the harbour."
    _seconds_to_decide(sessions, _submit(sessions, [(other, plain)])[0])
    alone = min(
        _seconds_to_decide(sessions, _submit(sessions, [(other, plain)])[0]) for _ in range(3)
    )
    # Six decisions to announce to an endpoint that hangs past the 4 s timeout (sharing the
    # scoring worker, they held it ~24 s), then another site's comment.
    _submit(sessions, [(hooked, plain)] * 6)
    deadline = time.monotonic() + 60
    while hanging.requests == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert hanging.requests > 0, "no delivery reached the endpoint"
    behind = _seconds_to_decide(sessions, _submit(sessions, [(other, plain)])[0])
    print(f"\nalone {alone:.3f} s, while the webhook hangs {behind:.3f} s")
    assert behind < 10 * alone + 2.0, f"scoring waited {behind:.2f} s behind the hanging webhook"
