"""The compose file's reverse proxy (deploy/proxy.conf), run in Debian's nginx in front of a
real API process: slow clients are cut off, big bodies are refused in the API's error format,
and requests pass through."""

import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, free_port, wait_until

NGINX = "/usr/sbin/nginx"


@pytest.fixture
def proxy(api_server: str, tmp_path: Path) -> Iterator[str]:
    """deploy/proxy.conf as written, but pointing at this test's API and ports and folders."""
    api_port = api_server.rsplit(":", 1)[1]
    port = free_port()
    conf = (ROOT / "deploy" / "proxy.conf").read_text()
    conf = conf.replace("server api:8000;", f"server 127.0.0.1:{api_port};")
    conf = conf.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    conf = conf.replace("/tmp/nginx", str(tmp_path / "nginx"))
    # Debian's nginx runs its workers as nobody unless told; the test's folders are root's.
    conf = "user root;\n" + conf
    assert "api:8000" not in conf
    path = tmp_path / "proxy.conf"
    path.write_text(conf)
    check = subprocess.run([NGINX, "-t", "-c", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen(
        [NGINX, "-c", str(path), "-g", "daemon off;"], stderr=subprocess.PIPE, cwd=tmp_path
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(up, timeout=30, what="nginx in front of the API")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_requests_pass_and_oversized_bodies_are_refused_in_the_api_format(proxy: str) -> None:
    assert httpx.get(f"{proxy}/readyz", timeout=10).json()["checks"]["store"] == "ok"
    too_big = httpx.post(
        f"{proxy}/v1/comments",
        content=b"x" * (100 * 1024),
        headers={"Content-Type": "application/json", "Authorization": "Bearer cm_x"},
        timeout=10,
    )
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "request_too_large"


def test_a_client_dribbling_its_headers_is_cut_off(proxy: str) -> None:
    """Before (no proxy): a connection sending a header byte every 8 s stayed open 77 s and
    more. The proxy gives a client 10 s for its headers."""
    host, port = re.match(r"http://(.+):(\d+)", proxy).groups()  # type: ignore[union-attr]
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        closed = False
        for _ in range(30):  # one byte every 2 s, for up to a minute
            try:
                sock.sendall(b"X")
                sock.settimeout(2)
                if sock.recv(1024) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
            except OSError:
                closed = True
                break
    held = time.monotonic() - started
    print(f"the proxy closed a dribbling client after {held:.1f} s")
    assert closed, "the proxy kept a client that never finished its headers for a minute"
