"""Hostile and broken requests against the real server (uvicorn): a clear 4xx every time,
never a 5xx, and nothing stored half-way."""

import json
import socket

import httpx
import pytest
from sqlalchemy import func, select

from service.db import session_scope
from service.tables import Comment
from tests.conftest import make_site


def raw_request(base: str, request: bytes) -> tuple[int, bytes]:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
    return int(head.split(b" ")[1]), rest


@pytest.fixture
def site_key(api_server: str) -> str:
    with session_scope() as session:
        _, key = make_site(session, name="hostile")
    return key


def chunked_post(key: str, body: bytes) -> bytes:
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + 8192]), body[i : i + 8192])
        for i in range(0, len(body), 8192)
    )
    return (
        b"POST /v1/comments HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer "
        + key.encode()
        + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunks
        + b"0\r\n\r\n"
    )


def test_oversized_headers_are_431(api_server: str) -> None:
    one_big = b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n"
    many = (
        b"GET /healthz HTTP/1.1\r\nHost: t\r\n"
        + b"".join(b"X-H%d: v\r\n" % i for i in range(5000))
        + b"\r\n"
    )
    for request in (one_big, many):
        status, body = raw_request(api_server, request)
        assert status == 431
        assert json.loads(body)["error"]["code"] == "headers_too_large"


def test_chunked_bodies_are_limited_and_still_work(api_server: str, site_key: str) -> None:
    status, body = raw_request(api_server, chunked_post(site_key, b"[" + b"1," * 70_000 + b"1]"))
    assert status == 413
    assert json.loads(body)["error"]["code"] == "request_too_large"
    ok = json.dumps({"article_id": "c", "author_name": "Chunk", "body": "Sent in pieces"})
    status, body = raw_request(api_server, chunked_post(site_key, ok.encode()))
    assert status == 202, body


BROKEN_BODIES = [
    (b"[" * 20_000 + b"]" * 20_000, "application/json", 400, "invalid_json"),
    (
        b'{"article_id": "a", "author_name": "A", "body": "\xc3\x28"}',
        "application/json",
        400,
        "invalid_json",
    ),
    (b"body=hello", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    (b"<comment>hi</comment>", "text/xml", 415, "unsupported_media_type"),
    (
        b'{"article_id": 1e999999, "author_name": "A", "body": "b"}',
        "application/json",
        422,
        "invalid_request",
    ),
    (
        b'{"article_id": "a", "author_name": "A", "body": "nul \\u0000 here"}',
        "application/json",
        422,
        "control_characters",
    ),
    (
        b'{"article_id": "a", "author_name": "A", "body": "i\\u200bdiot"}',
        "application/json",
        422,
        "invisible_characters",
    ),
    (
        b'{"article_id": "a", "author_name": "A", "body": "abc\\u202edef"}',
        "application/json",
        422,
        "bidi_control_characters",
    ),
    (
        b'{"article_id": "a", "author_name": "A\\nB", "body": "two-line name"}',
        "application/json",
        422,
        "control_characters",
    ),
    (
        b'{"article_id": "' + b"x" * 5000 + b'", "author_name": "A", "body": "b"}',
        "application/json",
        422,
        "too_long",
    ),
]


def test_broken_bodies_get_a_clear_4xx_and_store_nothing(api_server: str, site_key: str) -> None:
    # One server for every case: starting uvicorn per case would dominate the test's time.
    for content, content_type, status, code in BROKEN_BODIES:
        response = httpx.post(
            f"{api_server}/v1/comments",
            content=content,
            headers={"Authorization": f"Bearer {site_key}", "Content-Type": content_type},
        )
        assert response.status_code == status, (content[:60], response.text)
        assert response.json()["error"]["code"] == code
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Comment)) == 0


def test_enormous_ids_in_urls_are_4xx(api_server: str, site_key: str) -> None:
    long_article = httpx.get(
        f"{api_server}/v1/articles/{'a' * 5000}/comments", params={"site": "hostile"}
    )
    assert long_article.status_code == 422
    assert long_article.json()["error"]["code"] == "too_long"
    huge = (
        b"GET /v1/articles/"
        + b"a" * 100_000
        + b"/comments?site=hostile HTTP/1.1\r\nHost: t\r\n\r\n"
    )
    status, _ = raw_request(api_server, huge)
    assert 400 <= status < 500
    odd_id = httpx.get(
        f"{api_server}/v1/comments/{'9' * 3000}", headers={"Authorization": f"Bearer {site_key}"}
    )
    assert odd_id.status_code == 404
