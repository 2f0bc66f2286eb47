"""`TICKWORK_SSRF_ALLOW`: the inner receivers webhooks may reach on purpose, each with its port.

    TICKWORK_SSRF_ALLOW=127.0.0.1/32:8080,10.20.0.0/16:443,hooks.internal:8443,[fd00:1::/64]:443

An entry is `<host name or CIDR>:<port>` (an IPv6 CIDR or address in brackets). The port is part of
the entry because an address alone opens every service on it: `127.0.0.1/32` would let a webhook
reach RabbitMQ's management API on 15672 as readily as the receiver on 8080. Parsed at start-up
(services/settings.py): a bad entry stops the process with a one-line error naming it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

EXAMPLE = "127.0.0.1/32:8080, 10.20.0.0/16:443, hooks.internal:8443 or [fd00::/64]:443"
HOST_NAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?)*$"
)


@dataclass(frozen=True)
class AllowEntry:
    """One allow-listed destination: a host name (matched as written) or a network, on one port."""

    port: int
    host: str | None = None
    network: IPNetwork | None = None

    def admits(self, host: str, address: IPAddress, port: int) -> bool:
        if port != self.port:
            return False
        if self.host is not None:
            return host == self.host
        return self.network is not None and address.version == self.network.version and address in self.network

    def __str__(self) -> str:
        where = self.host or (f"[{self.network}]" if self.network and self.network.version == 6 else str(self.network))
        return f"{where}:{self.port}"


def parse_allow_list(text: str) -> tuple[AllowEntry, ...]:
    """The entries of `text` (comma-separated); raises ValueError naming the first bad one."""
    return tuple(parse_entry(item) for item in (part.strip() for part in text.split(",")) if item)


def parse_entry(item: str) -> AllowEntry:
    where, port = _split_port(item)
    try:
        return AllowEntry(port=port, network=ipaddress.ip_network(where, strict=False))
    except ValueError:
        pass
    host = where.lower().rstrip(".")
    if not HOST_NAME.match(host) or host.replace(".", "").replace("/", "").isdigit() or "/" in where:
        raise ValueError(f"{item!r} is neither a host name nor a CIDR (entries look like {EXAMPLE})")
    return AllowEntry(port=port, host=host)


def _split_port(item: str) -> tuple[str, int]:
    if item.startswith("["):
        where, closing, rest = item[1:].partition("]")
        if not closing or not rest.startswith(":"):
            raise ValueError(f"{item!r} needs a port after the brackets, e.g. [fd00::/64]:443")
        port_text = rest[1:]
    else:
        where, colon, port_text = item.rpartition(":")
        if not colon or ":" in where:
            hint = " (put an IPv6 address in brackets)" if ":" in item else ""
            raise ValueError(f"{item!r} needs a port{hint}: entries look like {EXAMPLE}")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"{item!r}: the port must be a number from 1 to 65535")
    return where, int(port_text)
