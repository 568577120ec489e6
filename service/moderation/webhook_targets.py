"""Where a webhook may point: public addresses only, unless a range is explicitly allowed.

A webhook URL is typed by a site admin and then fetched by our workers from inside the
deployment, so without this it reaches what only the deployment can reach (PostgreSQL on
127.0.0.1:5432, a cloud's metadata service at 169.254.169.254, the admin UI of a router).
Checked when the URL is set and again when each delivery is sent: the name is resolved first
and the request goes to the address that was checked (not to a second lookup an attacker's
DNS could answer differently), with no proxy from the environment and no redirects followed.
"""

import socket
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from urllib.parse import urlsplit

from service.moderation.errors import InvalidPolicy
from service.moderation.settings import get_moderation_settings

Address = IPv4Address | IPv6Address


class TargetNotAllowed(InvalidPolicy):
    """The webhook points at an address the workers must not reach."""

    code = "webhook_target_not_allowed"


@dataclass(frozen=True)
class Target:
    """A webhook URL checked and pinned to the address the request will go to."""

    url: str  # the URL with the checked address in place of the name
    host: str  # for the Host header and TLS (SNI and the certificate's name)
    host_header: str


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    # IPv4-mapped (::ffff:127.0.0.1), 6to4 (2002::/16) and Teredo addresses carry an IPv4
    # address that the network may deliver to.
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def _is_public(address: Address) -> bool:
    if isinstance(address, IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return _is_public(embedded)
    return address.is_global and not (
        address.is_multicast
        or address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_reserved
        or address.is_unspecified
    )


def _allowed(address: Address) -> bool:
    if _is_public(address):
        return True
    for cidr in get_moderation_settings().webhook_allowed_private_networks:
        network = ip_network(cidr, strict=False)
        if address.version == network.version and address in network:
            return True
        if isinstance(address, IPv6Address):
            embedded = _embedded_ipv4(address)
            if embedded is not None and network.version == 4 and embedded in network:
                return True
    return False


def _literal(host: str) -> Address | None:
    """The address a host names by itself, in any spelling a resolver accepts: dotted, but
    also decimal (2130706433), hex (0x7f000001), octal (0177.0.0.1) or short (127.1)."""
    try:
        return ip_address(host)
    except ValueError:
        pass
    try:
        return IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _resolve(host: str, port: int) -> list[Address]:
    literal = _literal(host)
    if literal is not None:
        return [literal]
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def _parts(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidPolicy("the webhook is an http(s) URL", field="webhook_url")
    if parts.username or parts.password:
        raise InvalidPolicy(
            "the webhook URL must not hold a user name or password", field="webhook_url"
        )
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InvalidPolicy("the webhook URL has an invalid port", field="webhook_url") from None
    return parts.scheme, parts.hostname, port


def _refuse(address: Address, host: str) -> TargetNotAllowed:
    return TargetNotAllowed(
        f"the webhook's host {host!r} is {address}, not a public address; allow its range with "
        "MODERATION_WEBHOOK_ALLOWED_PRIVATE_NETWORKS if the site really is there",
        field="webhook_url",
    )


def check_when_set(url: str) -> None:
    """Refuse a URL whose host is, or resolves to, an address that is not allowed. A name that
    does not resolve now is accepted: it is resolved and checked again at every delivery."""
    _, host, port = _parts(url)
    try:
        addresses = _resolve(host, port)
    except OSError:
        return
    for address in addresses:
        if not _allowed(address):
            raise _refuse(address, host)


def pin(url: str) -> Target:
    """Resolve the URL's host now and return where to send: TargetNotAllowed if any of its
    addresses is not allowed (an answer that mixes one public and one internal address is
    refused whole), OSError if it does not resolve."""
    scheme, host, port = _parts(url)
    addresses = _resolve(host, port)
    if not addresses:
        raise OSError(f"{host!r} has no address")
    for address in addresses:
        if not _allowed(address):
            raise _refuse(address, host)
    chosen = addresses[0]
    netloc = f"[{chosen}]:{port}" if chosen.version == 6 else f"{chosen}:{port}"
    parts = urlsplit(url)
    default_port = 443 if scheme == "https" else 80
    host_header = host if port == default_port else f"{host}:{port}"
    if ":" in host:
        host_header = f"[{host}]" if port == default_port else f"[{host}]:{port}"
    return Target(url=parts._replace(netloc=netloc).geturl(), host=host, host_header=host_header)
