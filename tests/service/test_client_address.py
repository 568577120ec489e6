"""Which address a request is counted under: X-Forwarded-For is believed only from a trusted
proxy (issue 15 item 21; every other test trusts its test client)."""

import pytest
from starlette.requests import Request

from service.deps import client_ip
from tests.conftest import reset_caches


def _request(peer: str, forwarded: str | None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded is not None else []
    return Request({"type": "http", "client": (peer, 40000), "headers": headers})


@pytest.fixture(autouse=True)
def _trusted_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODERATION_TRUSTED_PROXIES", '["10.0.0.2"]')
    reset_caches()


def test_an_untrusted_peers_forwarded_for_is_ignored() -> None:
    assert client_ip(_request("203.0.113.9", "198.51.100.1")) == "203.0.113.9"
    assert client_ip(_request("203.0.113.9", "10.0.0.2, 198.51.100.1")) == "203.0.113.9"


def test_a_trusted_proxy_reports_the_last_untrusted_hop() -> None:
    # The client may prepend anything; only what the trusted proxy appended counts.
    assert client_ip(_request("10.0.0.2", "6.6.6.6, 198.51.100.1")) == "198.51.100.1"
    assert client_ip(_request("10.0.0.2", "198.51.100.1, 10.0.0.2")) == "198.51.100.1"


def test_a_malformed_hop_stops_the_chain() -> None:
    assert client_ip(_request("10.0.0.2", "198.51.100.1, not-an-address")) == "10.0.0.2"
    assert client_ip(_request("10.0.0.2", None)) == "10.0.0.2"
