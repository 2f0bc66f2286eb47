"""Every form of an inner address the SSRF guard must refuse, as URL hosts (issue 14, item 8).

`{port}` is the port of a local receiver, which is allow-listed on that port only for the loopback
forms where a plain 127.0.0.1 would pass: none of these may reach it."""

from __future__ import annotations

import ipaddress


def _teredo(server: str, client: str) -> str:
    """A Teredo address (2001::/32) of `client` behind `server` (the client's bits are inverted)."""
    value = (0x20010000 << 96) | (int(ipaddress.IPv4Address(server)) << 64) | (0xFFFF << 32)
    value |= ~int(ipaddress.IPv4Address(client)) & 0xFFFFFFFF
    return str(ipaddress.IPv6Address(value))


# (url, what the refusal says)
REFUSED_ALWAYS = [
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
    ("http://169.254.170.2/v2/credentials/x", "metadata"),  # ECS task credentials
    ("http://169.254.170.23/v1/credentials", "metadata"),  # EKS Pod Identity
    ("http://[fd00:ec2::254]/latest/meta-data/", "metadata"),
    ("http://[fd00:ec2::23]/v1/credentials", "metadata"),
    ("http://100.100.100.200/latest/meta-data/", "metadata"),  # Alibaba
    ("http://168.63.129.16/machine", "metadata"),  # Azure WireServer
    ("http://metadata.google.internal/computeMetadata/v1/", "metadata"),
    ("http://[::ffff:169.254.169.254]/latest/", "metadata"),
    ("http://[::ffff:a9fe:aa02]/v2/credentials", "metadata"),
    ("http://[2002:a9fe:a9fe::]/latest/", "metadata"),  # 6to4 of 169.254.169.254
    ("http://[64:ff9b::a9fe:a9fe]/latest/", "metadata"),  # NAT64 of 169.254.169.254
]
# Refused although 127.0.0.1/32 is allow-listed on the receiver's port: they do not (only) reach it.
REFUSED_WRAPPED = [
    ("http://[::ffff:0:7f00:1]:{port}/hook", "loopback"),  # IPv4-translated
    ("http://[::127.0.0.1]:{port}/hook", "loopback"),  # IPv4-compatible
    ("http://[2002:7f00:1::]:{port}/hook", "loopback"),  # 6to4 of 127.0.0.1
    ("http://[2002:c0a8:101::1]:{port}/hook", "private"),  # 6to4 of 192.168.1.1
    ("http://[64:ff9b::7f00:1]:{port}/hook", "loopback"),  # NAT64 of 127.0.0.1
    ("http://[64:ff9b::a00:1]:{port}/hook", "private"),  # NAT64 of 10.0.0.1
    ("http://[64:ff9b:1::a00:1]:{port}/hook", "NAT64"),  # local-use NAT64
    (f"http://[{_teredo('65.54.227.120', '127.0.0.1')}]:{{port}}/hook", "Teredo"),
    (f"http://[{_teredo('65.54.227.120', '10.1.2.3')}]:{{port}}/hook", "Teredo"),
    ("http://[::1]:{port}/hook", "loopback"),  # IPv6 loopback is not 127.0.0.1/32
    ("http://127.0.0.2:{port}/hook", "loopback"),
    ("http://10.0.0.1:{port}/hook", "private"),
    ("http://192.168.1.1:{port}/hook", "private"),
    ("http://172.16.0.1:{port}/hook", "private"),
    ("http://100.64.0.1:{port}/hook", "carrier-grade NAT"),
    ("http://169.254.1.1:{port}/hook", "link-local"),
    ("http://[fe80::1]:{port}/hook", "link-local"),
    ("http://[fd12:3456::1]:{port}/hook", "private"),
    ("http://224.0.0.1:{port}/hook", "multicast"),
    ("http://240.0.0.1:{port}/hook", "reserved"),
    ("http://0.0.0.0:{port}/hook", "unspecified"),
    ("http://[::]:{port}/hook", "unspecified"),
    # Loopback on ports nobody allow-listed (RabbitMQ management, PostgreSQL, plain HTTP).
    ("http://127.0.0.1:15672/api/queues", "port 15672"),
    ("http://127.0.0.1:5432/", "port 5432"),
    ("http://127.0.0.1/", "port 80"),
]
# Every spelling of the receiver's own address: refused when its port is not allow-listed.
REFUSED_UNLISTED = [
    ("http://127.0.0.1:{port}/hook", "loopback"),
    ("http://127.1:{port}/hook", "loopback"),
    ("http://2130706433:{port}/hook", "loopback"),  # 127.0.0.1 as one decimal number
    ("http://0x7f000001:{port}/hook", "loopback"),
    ("http://localhost:{port}/hook", "loopback"),
    ("http://[::ffff:127.0.0.1]:{port}/hook", "loopback"),  # IPv4-mapped
    ("http://[::ffff:7f00:1]:{port}/hook", "loopback"),
]
# The receiver's port allow-listed, and link-local, the metadata ranges and CGNAT opened on port 80 on purpose.
ALLOW_RECEIVER = "127.0.0.1/32:{port},169.254.0.0/16:80,[fd00:ec2::/32]:80,100.64.0.0/10:80,168.63.0.0/16:80"
# Loopback allow-listed on another port only (9, where nobody listens).
ALLOW_ANOTHER_PORT = "127.0.0.1/32:9"
