"""The guard against server-side request forgery: a webhook URL may only reach a public address.

Every hop is checked by us (redirects are never followed by `requests`), the host is resolved once
and the connection is made to that very address (the Host header and TLS name stay the URL's), so a
DNS answer that changes between the check and the connect (rebinding) cannot reach an inner address.

Refused: loopback, private (RFC 1918, IPv6 ULA fc00::/7), link-local (IPv4 and IPv6, which holds the
cloud metadata endpoints), CGNAT 100.64.0.0/10, multicast, reserved, unspecified, and anything else
that is not globally routable. An IPv6 address that carries an IPv4 address is refused when the IPv4
address would be: IPv4-mapped (::ffff:a.b.c.d) and IPv4-translated (::ffff:0:a.b.c.d), IPv4-compatible
(::a.b.c.d), 6to4 (2002::/16), Teredo (2001::/32, server and client) and NAT64 (64:ff9b::/96; the
local-use 64:ff9b:1::/48 is refused outright).
The allow-list (allow_list.py: host or CIDR, and a port) lets operators reach inner receivers on
purpose; the cloud metadata and credential endpoints (METADATA) are refused even then, in any form.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from services.errors import UnsafeDestination
from services.notifications.allow_list import AllowEntry, IPAddress, IPNetwork, parse_allow_list

# Cloud metadata and credential endpoints: refused even when allow-listed (and whatever wraps them).
METADATA: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(network)
    for network in (
        "169.254.169.0/24",  # instance metadata: AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean (.254)
        "169.254.170.0/24",  # container credentials: ECS task roles (.2), EKS Pod Identity (.23)
        "100.100.100.200/32",  # Alibaba Cloud metadata
        "168.63.129.16/32",  # Azure WireServer
        "192.0.0.192/32",  # Oracle Cloud legacy metadata
        "fd00:ec2::254/128",  # AWS instance metadata over IPv6
        "fd00:ec2::23/128",  # EKS Pod Identity over IPv6
        "fd20:ce::254/128",  # GCP metadata over IPv6
    )
)
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata", "instance-data.ec2.internal"})
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
REDIRECTS = {301, 302, 303, 307, 308}


class Resolver(Protocol):
    """Turns a host name into the addresses a connection could reach."""

    def resolve(self, host: str, port: int) -> list[str]: ...


class SystemResolver:
    """The operating system's resolver (DNS, /etc/hosts)."""

    def resolve(self, host: str, port: int) -> list[str]:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            raise UnsafeDestination(f"cannot resolve {host!r}: {error}") from None
        return list(dict.fromkeys(str(info[4][0]) for info in infos))


def wrapped_ipv4(address: IPAddress) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address carries, each with the name of the form that carries it."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    if address.ipv4_mapped is not None:
        return [("IPv4-mapped", address.ipv4_mapped)]
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in IPV4_TRANSLATED:
        return [("IPv4-translated", low32)]
    if address in NAT64:
        return [("NAT64", low32)]
    if address in IPV4_COMPATIBLE and int(address) > 1:  # not :: nor ::1, which are judged as they are
        return [("IPv4-compatible", low32)]
    if address.sixtofour is not None:
        return [("6to4", address.sixtofour)]
    if address.teredo is not None:
        server, client = address.teredo
        return [("Teredo server", server), ("Teredo client", client)]
    return []


def is_metadata(address: IPAddress) -> bool:
    """Whether `address` is (or wraps) a cloud metadata or credential endpoint."""
    candidates = [address, *(inner for _, inner in wrapped_ipv4(address))]
    return any(item.version == net.version and item in net for item in candidates for net in METADATA)


def refusal(address: IPAddress) -> str | None:
    """Why `address` may not be reached, or None when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return refusal(address.ipv4_mapped)
    if isinstance(address, ipaddress.IPv6Address) and address in NAT64_LOCAL:
        return "local-use NAT64"
    for form, inner in wrapped_ipv4(address):
        reason = refusal(inner)
        if reason is not None:
            return f"{form} for {inner}: {reason}"
    checks = [
        (is_metadata(address), "a cloud metadata address"),
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (isinstance(address, ipaddress.IPv4Address) and address in CGNAT, "carrier-grade NAT"),
        (address.is_multicast, "multicast"),
        (address.is_reserved, "reserved"),
        (address.is_private, "private"),
        (not address.is_global, "not globally routable"),
    ]
    return next((reason for hit, reason in checks if hit), None)


@dataclass(frozen=True)
class Target:
    """A checked hop: where the URL points and the one address we will connect to."""

    url: str
    scheme: str
    host: str
    port: int
    address: str


@dataclass
class SsrfGuard:
    """Checks a URL's host and pins the address; `allow` holds the host names and CIDRs let through,
    each on one port."""

    allow: tuple[AllowEntry, ...] = ()
    resolver: Resolver = field(default_factory=SystemResolver)

    @classmethod
    def from_setting(cls, allow: str, *, resolver: Resolver | None = None) -> SsrfGuard:
        """From `TICKWORK_SSRF_ALLOW`: comma-separated `host:port` and `cidr:port` entries."""
        return cls(parse_allow_list(allow), resolver or SystemResolver())

    def check(self, url: str) -> Target:
        """The target of `url`; raises UnsafeDestination when it may not be reached."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise UnsafeDestination(f"{url!r}: only http and https URLs are allowed")
        if parts.username or parts.password:
            raise UnsafeDestination(f"{_host_of(url)}: credentials in a URL are refused")
        host = (parts.hostname or "").lower().rstrip(".")
        if not host:
            raise UnsafeDestination(f"{url!r}: no host")
        if host in METADATA_HOSTS:
            raise UnsafeDestination(f"{host}: a cloud metadata host, never allowed")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise UnsafeDestination(f"{url!r}: bad port") from None
        addresses = _literal(host) or self.resolver.resolve(host, port)
        if not addresses:
            raise UnsafeDestination(f"{host}: resolves to no address")
        # Every address must pass: a name that also resolves inward could be steered there.
        for text in addresses:
            self._check_address(host, ipaddress.ip_address(text.split("%", 1)[0]), port)
        return Target(url, parts.scheme, host, port, addresses[0].split("%", 1)[0])

    def _check_address(self, host: str, address: IPAddress, port: int) -> None:
        reason = refusal(address)
        if reason is None:
            return
        if is_metadata(address):
            raise UnsafeDestination(f"{host} resolves to {address}: {reason}, never allowed")
        # An IPv4-mapped address reaches the IPv4 address itself; other wrapped forms go elsewhere
        # (a relay, a translator) and are allow-listed, if ever, as they are written.
        mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
        if any(entry.admits(host, mapped or address, port) for entry in self.allow):
            return
        raise UnsafeDestination(
            f"{host} resolves to {address}: {reason} (not allowed on port {port} by TICKWORK_SSRF_ALLOW)"
        )


def _literal(host: str) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        return []


def _host_of(url: str) -> str:
    return urlsplit(url).hostname or "?"


class PinnedAddressAdapter(HTTPAdapter):
    """Connects to the checked address, not to whatever the name resolves to at connect time; TLS
    still verifies the certificate against the URL's host name (SNI and hostname check)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        if self.target.scheme == "https":
            kwargs.update(server_hostname=self.target.host, assert_hostname=self.target.host)
        super().init_poolmanager(*args, **kwargs)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        parts = urlsplit(request.url or "")
        address = f"[{self.target.address}]" if ":" in self.target.address else self.target.address
        request.url = urlunsplit(parts._replace(netloc=f"{address}:{self.target.port}"))
        request.headers["Host"] = parts.netloc.rsplit("@", 1)[-1]
        return super().send(request, *args, **kwargs)


def guarded_request(
    method: str,
    url: str,
    *,
    guard: SsrfGuard,
    timeout: float,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    max_redirects: int = 3,
    ca_file: str | None = None,
) -> requests.Response:
    """One request through the guard, following redirects hop by hop (each checked and pinned).

    A 307/308 repeats the method and body; 301/302/303 turn a POST into a body-less GET, as browsers
    do. More than `max_redirects` hops raise UnsafeDestination."""
    for _hop in range(max_redirects + 1):
        target = guard.check(url)
        with requests.Session() as session:
            session.trust_env = False  # a proxy from the environment would bypass the pinning
            session.mount(f"{target.scheme}://", PinnedAddressAdapter(target))
            response = session.request(
                method,
                url,
                data=body,
                headers=dict(headers or {}),
                timeout=timeout,
                allow_redirects=False,
                verify=ca_file or True,  # certificates are always verified; `ca_file` trusts a private CA
            )
        if response.status_code not in REDIRECTS or "location" not in response.headers:
            return response
        url = urljoin(url, response.headers["location"])
        if response.status_code in (301, 302, 303) and method.upper() != "GET":
            method, body = "GET", None
            headers = {k: v for k, v in (headers or {}).items() if k.lower() != "content-type"}
        response.close()
    raise UnsafeDestination(f"more than {max_redirects} redirects, last to {_host_of(url)}")
