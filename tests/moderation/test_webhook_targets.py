"""Webhooks reach public addresses only (issue 15 item 8): internal targets in every spelling
are refused when set and again when sent; a range can be allowed explicitly."""

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from service.app import create_app
from service.moderation.site_admin import set_webhook
from service.moderation.webhooks import deliver
from service.tables import WebhookDelivery
from tests.conftest import make_moderator, make_site, reset_caches
from tests.moderation.test_webhooks import Receiver, _decided_with_delivery

INTERNAL = [
    "http://127.0.0.1:5432/",
    "http://169.254.169.254/latest/meta-data/",
    "http://0x7f000001/hook",
    "http://2130706433/hook",
    "http://0177.0.0.1/hook",
    "http://127.1/hook",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:7f00:1]/hook",
    "http://[2002:7f00:1::1]/hook",
    "http://10.0.0.5/hook",
    "http://172.16.0.1/hook",
    "http://192.168.1.1/hook",
    "http://100.64.0.1/hook",
    "http://[fe80::1]/hook",
    "http://[fc00::1]/hook",
    "http://224.0.0.1/hook",
    "http://0.0.0.0/hook",
    "http://localhost:8000/hook",
]


@pytest.fixture
def no_private(pg_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("MODERATION_WEBHOOK_ALLOWED_PRIVATE_NETWORKS", "[]")
    reset_caches()
    return pg_env


@pytest.fixture
def admin_client(
    no_private: dict[str, str], sessions: sessionmaker[Session]
) -> Iterator[tuple[TestClient, str]]:
    with sessions() as session:
        site, _ = make_site(session)
        _, token = make_moderator(session, admin=True)
        name = site.name
    client = TestClient(create_app())
    client.headers["Authorization"] = f"Bearer {token}"
    yield client, name


@pytest.mark.parametrize("url", INTERNAL)
def test_internal_targets_are_refused_when_set(
    admin_client: tuple[TestClient, str], url: str
) -> None:
    client, site = admin_client
    response = client.put(f"/v1/admin/sites/{site}/webhook", json={"url": url})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "webhook_target_not_allowed"


@pytest.mark.parametrize(
    "url", ["https://93.184.215.14/hook", "https://news.example/hooks/moderation"]
)
def test_public_and_not_yet_resolvable_targets_are_accepted(
    admin_client: tuple[TestClient, str], url: str
) -> None:
    client, site = admin_client
    assert client.put(f"/v1/admin/sites/{site}/webhook", json={"url": url}).status_code == 200


def test_an_allowed_range_is_accepted(
    pg_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, sessions: sessionmaker[Session]
) -> None:
    monkeypatch.setenv("MODERATION_WEBHOOK_ALLOWED_PRIVATE_NETWORKS", '["10.20.0.0/16"]')
    reset_caches()
    with sessions() as session:
        site, _ = make_site(session)
        assert set_webhook(session=session, site=site, actor="t", url="http://10.20.3.4/hook")
        with pytest.raises(Exception, match="not a public address"):
            set_webhook(session=session, site=site, actor="t", url="http://10.21.0.1/hook")


def test_a_name_that_resolves_inside_is_refused_when_sent(
    pg_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, sessions: sessionmaker[Session]
) -> None:
    """Allowed when it was set; not allowed any more (or its name now resolves inside) when
    the delivery is sent: nothing is sent and the delivery fails for good."""
    hook = Receiver()
    try:
        port = hook.server.server_address[1]
        with sessions() as session:
            site, _ = make_site(session)
            set_webhook(session=session, site=site, actor="t", url=f"http://localhost:{port}/h")
            session.commit()
            delivery_id = _decided_with_delivery(session, site, author="Ann", body="Fine.")
        monkeypatch.setenv("MODERATION_WEBHOOK_ALLOWED_PRIVATE_NETWORKS", "[]")
        reset_caches()
        assert deliver(sessions=sessions, delivery_id=delivery_id)
        assert hook.received == []
        with sessions() as session:
            delivery = session.get(WebhookDelivery, delivery_id)
            assert delivery is not None and delivery.status == "failed"
            assert "not a public address" in (delivery.last_error or "")
    finally:
        hook.server.shutdown()


def test_sent_to_the_checked_address_without_proxies_or_redirects(
    pg_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, sessions: sessionmaker[Session]
) -> None:
    """The name is resolved once and the request goes to that address with the name in the
    Host header; a proxy from the environment is not used; a redirect is not followed."""
    hook, proxy, inner = Receiver(), Receiver(), Receiver()
    try:
        port = hook.server.server_address[1]
        resolved: list[str] = []
        real = socket.getaddrinfo

        def resolver(host: str, *args: Any, **kwargs: Any) -> Any:
            if host == "hooks.paper.test":
                resolved.append(host)
                return real("127.0.0.1", *args, **kwargs)
            return real(host, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", resolver)
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy.url.rsplit("/", 2)[0])
        monkeypatch.setenv("HTTPS_PROXY", proxy.url.rsplit("/", 2)[0])
        with sessions() as session:
            site, _ = make_site(session)
            url = f"http://hooks.paper.test:{port}/h"
            set_webhook(session=session, site=site, actor="t", url=url)
            session.commit()
            delivery_id = _decided_with_delivery(session, site, author="Ann", body="Fine.")
        resolved.clear()
        assert deliver(sessions=sessions, delivery_id=delivery_id)
        assert resolved == ["hooks.paper.test"], "resolved once, at send time"
        assert len(hook.received) == 1 and proxy.received == []
        headers, body = hook.received[0]
        assert headers["Host"] == f"hooks.paper.test:{port}"
        assert json.loads(body)["delivery_id"] == delivery_id
    finally:
        for receiver in (hook, proxy, inner):
            receiver.server.shutdown()


def test_a_redirect_is_not_followed(
    pg_env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    inner = Receiver()
    redirecting = Receiver(redirect_to=inner.url)
    try:
        with sessions() as session:
            site, _ = make_site(session)
            set_webhook(session=session, site=site, actor="t", url=redirecting.url)
            session.commit()
            delivery_id = _decided_with_delivery(session, site, author="Ann", body="Fine.")
        assert not deliver(sessions=sessions, delivery_id=delivery_id), "a 302 is a failure"
        assert inner.received == []
        with sessions() as session:
            delivery = session.get(WebhookDelivery, delivery_id)
            assert delivery is not None and delivery.last_error == "HTTP 302"
    finally:
        inner.server.shutdown()
        redirecting.server.shutdown()
