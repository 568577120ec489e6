"""The API's server cuts off clients that send their request too slowly, bounds a head that
never ends, and refuses requests past its concurrency limit (a real `moderation serve`)."""

import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_QUEUE, free_port, moderation, start_process, wait_until

HEADER_TIMEOUT = 2.0


@pytest.fixture(scope="module")
def server(
    pg_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, int]]:
    """One server for the module (starting one takes a while on a shared machine)."""
    tmp_path = tmp_path_factory.mktemp("http-server")
    env = {
        "DATABASE_URL": pg_url,
        "REDIS_URL": redis_url,
        "MODERATION_DATA_DIR": str(tmp_path),
        "MODERATION_SCORING_QUEUE": TEST_QUEUE,
        "MODERATION_HTTP_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
        "MODERATION_HTTP_BODY_TIMEOUT_SECONDS": "2",
        "MODERATION_HTTP_MAX_CONCURRENCY": "12",
    }
    port = free_port()
    process = start_process(moderation("serve", "--port", str(port)), env, tmp_path / "api.log")

    def healthy() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(healthy, timeout=60, what="the API", process=process)
        yield "127.0.0.1", port
    finally:
        process.stop()


def _dribble(
    address: tuple[str, int], head: bytes, body: bytes, give_up: float
) -> tuple[float, bytes]:
    """Send head (then body) one byte every 0.25 s; (seconds until the server closed the
    connection, what it answered). give_up seconds means it never closed it."""
    started = time.monotonic()
    with socket.create_connection(address, timeout=give_up) as sock:
        sock.setblocking(False)
        answer = b""
        for byte in head + body:
            if time.monotonic() - started > give_up:
                return give_up, answer
            try:
                sock.send(bytes([byte]))
            except OSError:
                break
            time.sleep(0.25)
            try:
                chunk = sock.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                break
            if not chunk:
                break
            answer += chunk
        else:
            return give_up, answer
        return time.monotonic() - started, answer


HEAD = (
    b"POST /v1/comments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    + b"X-A: b\r\n" * 40
)


def test_slow_clients_are_cut_off_and_others_are_served(server: tuple[str, int]) -> None:
    """Six clients dribbling their request heads a byte at a time, and one dribbling its body
    (before: six such connections stayed open for 77 s and more)."""
    results: list[tuple[float, bytes]] = []
    shapes = [(HEAD, b"")] * 6 + [
        (b"POST /v1/comments HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n", b"{" * 500)
    ]

    def run(head: bytes, body: bytes) -> None:
        results.append(_dribble(server, head, body, give_up=20))

    threads = [threading.Thread(target=run, args=shape) for shape in shapes]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    # Meanwhile an ordinary client is served.
    assert httpx.get(f"http://{server[0]}:{server[1]}/healthz", timeout=5).status_code == 200
    for thread in threads:
        thread.join()
    assert len(results) == 7
    for seconds, answer in results:
        assert seconds < 20, "the server never cut the slow client off"
        assert b" 408 " in answer and b"request_timeout" in answer


def _google_error(answer: bytes) -> dict[str, Any]:
    """The error of a raw HTTP answer, checked to be in Google's envelope."""
    head, _, body = answer.partition(b"\r\n\r\n")
    error: dict[str, Any] = json.loads(body)["error"]
    assert set(error) == {"code", "message", "status", "details"} and error["details"]
    assert head.startswith(b"HTTP/1.1 %d " % error["code"])
    return error


@pytest.mark.parametrize(
    "sent",
    [
        b"Host: x\r\nX-A: b",  # a head that stops arriving
        # A body that stops arriving; chunked, so that the request limit waits for all of it
        # before the route (which would refuse the key "k" without reading the body).
        b"Host: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{",
    ],
    ids=["head", "body"],
)
def test_a_slow_perspective_client_gets_googles_envelope(
    server: tuple[str, int], sent: bytes
) -> None:
    with socket.create_connection(server, timeout=20) as sock:
        sock.sendall(b"POST /v1alpha1/comments:analyze?key=k HTTP/1.1\r\n" + sent)
        answer = sock.recv(4096)  # what the server says at its deadline
    assert _google_error(answer)["status"] == "DEADLINE_EXCEEDED"


def _endless_head(server: tuple[str, int], request_line: bytes) -> bytes:
    """The server's answer to a head that keeps growing. Filler is sent only until the answer
    is there to read; should the server's close still reset the connection before the answer
    is read (filler it never read makes the kernel send a reset), the exchange is tried again:
    a reset says nothing about what the server answered."""
    for _ in range(3):
        with socket.create_connection(server, timeout=10) as sock:
            sock.sendall(request_line + b"Host: x\r\n")
            try:
                for _ in range(200):
                    if select.select([sock], [], [], 0)[0]:
                        break  # the server has answered
                    sock.sendall(b"X-Filler: " + b"a" * 1000 + b"\r\n")
            except OSError:
                pass  # closed by the server while we were still sending: what we want
            try:
                answer = sock.recv(4096)
            except ConnectionResetError:
                continue
            if answer:
                return answer
    raise AssertionError("the server reset the connection three times without an answer")


def test_a_head_that_never_ends_is_refused(server: tuple[str, int]) -> None:
    assert b" 431 " in _endless_head(server, b"GET /healthz HTTP/1.1\r\n")
    perspective = _endless_head(server, b"POST /v1alpha1/comments:analyze HTTP/1.1\r\n")
    assert _google_error(perspective)["status"] == "INVALID_ARGUMENT"


def test_past_the_concurrency_limit_requests_get_503(server: tuple[str, int]) -> None:
    idle = [socket.create_connection(server, timeout=5) for _ in range(12)]
    try:
        response = httpx.get(f"http://{server[0]}:{server[1]}/healthz", timeout=5)
        assert response.status_code == 503
        perspective = httpx.post(
            f"http://{server[0]}:{server[1]}/v1alpha1/comments:analyze", json={}, timeout=5
        )
        assert perspective.status_code == 503
        assert perspective.json()["error"]["status"] == "UNAVAILABLE"
        assert perspective.json()["error"]["details"]
    finally:
        for sock in idle:
            sock.close()
    wait_until(
        lambda: httpx.get(f"http://{server[0]}:{server[1]}/healthz", timeout=5).status_code == 200,
        timeout=10,
        what="the API to serve again",
    )
