"""TICKWORK_SSRF_ALLOW: host or CIDR and a port, validated at start-up; wrapped IPv4 forms and the
metadata endpoints are judged for what they reach."""

from __future__ import annotations

import ipaddress

import pytest

from services.errors import SettingsError, UnsafeDestination
from services.notifications.allow_list import parse_allow_list
from services.notifications.ssrf import SsrfGuard, refusal, wrapped_ipv4
from services.settings import load_settings


@pytest.mark.parametrize(
    ("setting", "shown"),
    [
        ("127.0.0.1/32:8080", ["127.0.0.1/32:8080"]),
        (" 10.20.0.0/16:443 , hooks.internal:8443 ", ["10.20.0.0/16:443", "hooks.internal:8443"]),
        ("[fd00::/64]:443,[::1]:9000", ["[fd00::/64]:443", "[::1/128]:9000"]),
        ("10.1.2.3:80", ["10.1.2.3/32:80"]),
        ("", []),
    ],
)
def test_allow_list_entries_have_a_host_or_cidr_and_a_port(setting, shown):
    assert [str(entry) for entry in parse_allow_list(setting)] == shown


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ("127.0.0.1/32", "needs a port"),
        ("hooks.lan", "needs a port"),
        ("fd00::/8", "brackets"),
        ("[fd00::/8]", "needs a port after the brackets"),
        ("127.0.0.1/32:0", "from 1 to 65535"),
        ("127.0.0.1/32:99999", "from 1 to 65535"),
        ("127.0.0.1/32:http", "from 1 to 65535"),
        ("10.0.0.0/33:80", "neither a host name nor a CIDR"),
        ("bad host:80", "neither a host name nor a CIDR"),
    ],
)
def test_a_bad_allow_list_entry_stops_start_up_with_one_line_naming_it(monkeypatch, setting, says):
    monkeypatch.setenv("TICKWORK_SSRF_ALLOW", f"hooks.internal:443,{setting}")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert "TICKWORK_SSRF_ALLOW" in str(refused.value) and says in str(refused.value)
    assert "\n" not in str(refused.value)


def test_an_allow_listed_address_opens_its_port_only():
    guard = SsrfGuard.from_setting("127.0.0.1/32:8080,hooks.lan:443")
    assert guard.check("http://127.0.0.1:8080/x").address == "127.0.0.1"
    for url in ("http://127.0.0.1:15672/api/queues", "http://127.0.0.1/x", "https://127.0.0.1/x"):
        with pytest.raises(UnsafeDestination, match="not allowed on port"):
            guard.check(url)


@pytest.mark.parametrize(
    ("address", "form", "inner"),
    [
        ("2002:7f00:1::", "6to4", "127.0.0.1"),
        ("2002:a9fe:a9fe::", "6to4", "169.254.169.254"),
        ("64:ff9b::a00:1", "NAT64", "10.0.0.1"),
        ("::127.0.0.1", "IPv4-compatible", "127.0.0.1"),
        ("::ffff:0:a00:1", "IPv4-translated", "10.0.0.1"),
        ("::ffff:10.0.0.1", "IPv4-mapped", "10.0.0.1"),
    ],
)
def test_an_ipv6_address_carrying_an_ipv4_one_is_judged_by_it(address, form, inner):
    assert (form, ipaddress.ip_address(inner)) in wrapped_ipv4(ipaddress.ip_address(address))
    assert refusal(ipaddress.ip_address(address)) is not None


def test_a_6to4_address_of_a_public_ipv4_is_not_refused_for_its_wrapper():
    assert refusal(ipaddress.ip_address("2002:808:808::1")) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.170.2/v2/credentials",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.170.2]/",
        "http://[2002:a9fe:aa02::]/",
        "http://metadata.google.internal/",
    ],
)
def test_metadata_and_credential_endpoints_are_refused_even_when_their_network_is_allow_listed(url):
    guard = SsrfGuard.from_setting("169.254.0.0/16:80,[::/0]:80,metadata.google.internal:80")
    with pytest.raises(UnsafeDestination, match="never allowed"):
        guard.check(url)
    assert guard.check("http://169.254.1.1/").address == "169.254.1.1"  # allow-listed on purpose
